"""The emulated plex.tv: plexapi's PIN login, account and resources work against it unmodified."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from plexapi.exceptions import BadRequest, Unauthorized
from plexapi.myplex import MyPlexAccount, MyPlexPinLogin, MyPlexResource

from plex_emulator import EmulatorConfig, PlexEmulator
from plex_emulator.plextv import PlexTvEmulator

CLIENT_HEADERS = {"X-Plex-Client-Identifier": "test-client", "X-Plex-Product": "RetroVue"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server() -> Iterator[PlexEmulator]:
    with PlexEmulator(EmulatorConfig(seed=3, shows=1, movies=2, token="admin-token")) as running:
        yield running


@pytest.fixture
def tv_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def plextv(server: PlexEmulator, tv_clock: FakeClock) -> Iterator[PlexTvEmulator]:
    with PlexTvEmulator([server], clock=tv_clock) as running:
        yield running


@pytest.fixture
def plexapi_at(plextv: PlexTvEmulator, monkeypatch: pytest.MonkeyPatch):
    """plexapi's plex.tv classes pointed at the emulator through their overridable class attributes."""
    monkeypatch.setattr(MyPlexPinLogin, "PINS", f"{plextv.url}/api/v2/pins")
    monkeypatch.setattr(MyPlexAccount, "key", f"{plextv.url}/api/v2/user")
    monkeypatch.setattr(
        MyPlexResource, "key", f"{plextv.url}/api/v2/resources?includeHttps=1&includeRelay=1&includeIPv6=1"
    )
    return plextv


def test_plexapi_pin_login_gets_a_token_only_after_the_user_approves(plexapi_at: PlexTvEmulator):
    login = MyPlexPinLogin(headers=CLIENT_HEADERS, requestTimeout=5)
    code = login.pin
    assert len(code) == 4
    assert login.checkLogin() is False

    plexapi_at.claim(code)

    assert login.checkLogin() is True
    account = MyPlexAccount(token=login.token, timeout=5)
    assert account.username == "retrofan"
    assert account.authToken == login.token


def test_oauth_pin_login_uses_a_strong_code(plexapi_at: PlexTvEmulator):
    login = MyPlexPinLogin(headers=CLIENT_HEADERS, oauth=True, requestTimeout=5)
    code = login._getCode()
    assert len(code) == 25
    plexapi_at.claim(code)
    assert login.checkLogin() is True


def test_resources_list_the_server_with_its_own_token_and_every_kind_of_connection(
    plexapi_at: PlexTvEmulator, server: PlexEmulator
):
    login = MyPlexPinLogin(headers=CLIENT_HEADERS, requestTimeout=5)
    plexapi_at.claim(login.pin)
    login.checkLogin()
    resources = MyPlexAccount(token=login.token, timeout=5).resources()

    servers = [resource for resource in resources if "server" in resource.provides]
    assert [resource.clientIdentifier for resource in servers] == [server.machine_identifier]
    resource = servers[0]
    assert resource.owned and resource.presence
    assert resource.accessToken and resource.accessToken != login.token
    kinds = {("relay" if c.relay else "local" if c.local else "remote") for c in resource.connections}
    assert kinds == {"local", "remote", "relay"}
    assert f"http://127.0.0.1:{server.port}" in [c.uri for c in resource.connections]
    # plexapi probes every connection with the resource's token; only the plain local one answers.
    plex = resource.connect(timeout=5)
    assert plex._baseurl == f"http://127.0.0.1:{server.port}"
    assert plex.machineIdentifier == server.machine_identifier


def test_expired_pin_answers_404_with_error_1020(plextv: PlexTvEmulator, tv_clock: FakeClock):
    created = requests.post(
        f"{plextv.url}/api/v2/pins",
        params={"strong": "true"},
        headers={**CLIENT_HEADERS, "Accept": "application/json"},
        timeout=5,
    )
    assert created.status_code == 201
    pin = created.json()
    assert pin["authToken"] is None and pin["expiresIn"] == 900 and pin["clientIdentifier"] == "test-client"

    tv_clock.now += 901
    gone = requests.get(
        f"{plextv.url}/api/v2/pins/{pin['id']}", headers={"Accept": "application/json"}, timeout=5
    )

    assert gone.status_code == 404
    assert gone.json()["errors"][0]["code"] == 1020
    with pytest.raises(KeyError):
        plextv.claim(pin["id"])


def test_plexapi_marks_an_expired_pin_login_expired(plexapi_at: PlexTvEmulator, tv_clock: FakeClock):
    login = MyPlexPinLogin(headers=CLIENT_HEADERS, requestTimeout=5)
    login.pin  # noqa: B018 - creates the pin
    tv_clock.now += 901
    with pytest.raises(BadRequest, match="404"):
        login._checkLogin()


def test_bad_token_gets_401_with_error_1001(plextv: PlexTvEmulator, plexapi_at: PlexTvEmulator):
    response = requests.get(f"{plextv.url}/api/v2/user", headers={"X-Plex-Token": "nope"}, timeout=5)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == 1001
    with pytest.raises(Unauthorized):
        MyPlexAccount(token="nope", timeout=5)


def test_revoking_the_account_token_locks_out_plex_tv_and_the_server(
    plexapi_at: PlexTvEmulator, server: PlexEmulator
):
    login = MyPlexPinLogin(headers=CLIENT_HEADERS, requestTimeout=5)
    plexapi_at.claim(login.pin)
    login.checkLogin()
    access_token = MyPlexAccount(token=login.token, timeout=5).resources()[0].accessToken
    url = f"http://127.0.0.1:{server.port}/library/sections"
    assert requests.get(url, headers={"X-Plex-Token": access_token}, timeout=5).status_code == 200

    assert plexapi_at.revoke(login.token)

    assert requests.get(url, headers={"X-Plex-Token": access_token}, timeout=5).status_code == 401
    with pytest.raises(Unauthorized):
        MyPlexAccount(token=login.token, timeout=5)
    # The server's own token is not plex.tv's to revoke.
    assert requests.get(url, headers={"X-Plex-Token": server.token}, timeout=5).status_code == 200


def test_control_path_claims_pins_and_revokes_tokens_over_http(plextv: PlexTvEmulator, server: PlexEmulator):
    json_headers = {**CLIENT_HEADERS, "Accept": "application/json"}
    pin = requests.post(f"{plextv.url}/api/v2/pins", headers=json_headers, timeout=5).json()
    control = {"X-Plex-Token": server.token}

    refused = requests.post(f"{plextv.url}/_plextv/claim", data=json.dumps({"code": pin["code"]}), timeout=5)
    claimed = requests.post(
        f"{plextv.url}/_plextv/claim", data=json.dumps({"code": pin["code"]}), headers=control, timeout=5
    )

    assert refused.status_code == 401
    assert claimed.json() == {"ok": True}
    token = requests.get(f"{plextv.url}/api/v2/pins/{pin['id']}", headers=json_headers, timeout=5).json()[
        "authToken"
    ]
    listed = requests.get(f"{plextv.url}/_plextv/pins", headers=control, timeout=5).json()["pins"]
    assert token not in json.dumps(listed) and listed[0]["claimed"] is True
    revoked = requests.post(
        f"{plextv.url}/_plextv/revoke", data=json.dumps({"token": token}), headers=control, timeout=5
    )
    assert revoked.json() == {"ok": True, "revoked": 1}
    assert (
        requests.get(f"{plextv.url}/api/v2/user", headers={"X-Plex-Token": token}, timeout=5).status_code
        == 401
    )


def test_pin_xml_has_an_empty_auth_token_until_claimed(plextv: PlexTvEmulator):
    response = requests.post(f"{plextv.url}/api/v2/pins", headers=CLIENT_HEADERS, timeout=5)
    assert response.status_code == 201
    assert response.headers["Content-Type"].startswith("application/xml")
    assert b'authToken=""' in response.content and b"<location " in response.content
