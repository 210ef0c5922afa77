"""Signing in to Plex with a PIN, finding the server (plex.tv resources and GDM), testing the connection,
and what happens when the token is revoked. Everything runs against the emulated plex.tv and Plex server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from catalog.choices import AuthState, SignInState
from catalog.models import MediaSource, PlexDevice, PlexSignIn, SyncRun
from catalog.plex import gdm
from catalog.plex.auth import adopt_server, check_connection, poll_sign_in, server_choices, start_sign_in
from catalog.plex.plextv import PlexTvClient
from catalog.sync import triggers
from plex_emulator import PlexEmulator
from plex_emulator.gdm import GDM_GROUP, GdmResponder
from plex_emulator.plextv import PlexTvEmulator
from tests.catalog.plex_helpers import SMALL_LIBRARY, sync


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def gdm_target() -> str:
    """The GDM multicast group when this host can send multicast, else unicast to loopback."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.sendto(b"", (GDM_GROUP, 9))
        return GDM_GROUP
    except OSError:
        return "127.0.0.1"


@pytest.fixture
def server() -> Iterator[PlexEmulator]:
    with PlexEmulator(
        SMALL_LIBRARY.with_changes(token="admin-only-token", friendly_name="Den: Plex")
    ) as running:
        yield running


@pytest.fixture
def plextv(server, settings) -> Iterator[PlexTvEmulator]:
    with PlexTvEmulator([server]) as running:
        settings.RETROVUE_PLEX_TV_URL = running.url
        yield running


@pytest.fixture
def lan(server, settings) -> Iterator[GdmResponder]:
    with GdmResponder(server, port=free_udp_port()) as responder:
        settings.RETROVUE_PLEX_GDM_ADDRESS = gdm_target()
        settings.RETROVUE_PLEX_GDM_PORT = responder.port
        yield responder


@pytest.fixture
def queued_tasks(monkeypatch):
    sent = []
    monkeypatch.setattr("catalog.tasks.run_sync.delay", lambda run_id: sent.append(run_id))
    return sent


def signed_in_source(plextv: PlexTvEmulator, server: PlexEmulator) -> tuple[MediaSource, str]:
    """Sign in through the services (no pages) and adopt the server's plain local connection."""
    sign_in = start_sign_in()
    account_token = plextv.claim(sign_in.code)
    poll_sign_in(sign_in)
    choices = server_choices(sign_in, discover=list)
    local = next(choice for choice in choices.choices if choice.url == server.url)
    return adopt_server(sign_in, local, "Den"), account_token


@pytest.mark.django_db
def test_pin_sign_in_in_the_admin_ends_with_a_source_holding_the_servers_own_token(
    staff_client, plextv, server, lan
):
    pages = []
    add_url = reverse("admin:catalog_plex_add")
    pages.append(staff_client.get(add_url))
    assert b"Sign in with Plex" in pages[-1].content

    started = staff_client.post(add_url)
    sign_in = PlexSignIn.objects.get()
    assert started.url == reverse("admin:catalog_plex_sign_in", args=[sign_in.pk])
    pages.append(staff_client.get(started.url))
    page = pages[-1].content.decode()
    assert sign_in.code in page
    assert f"clientID={PlexDevice.identifier()}" in page and f"code={sign_in.code}" in page
    assert "https://app.plex.tv/auth#?" in page and "context%5Bdevice%5D%5Bproduct%5D=RetroVue" in page

    state_url = reverse("admin:catalog_plex_sign_in_state", args=[sign_in.pk])
    pages.append(staff_client.get(state_url))
    assert pages[-1].json()["state"] == "waiting" and pages[-1].json()["next"] is None

    account_token = plextv.claim(sign_in.code)  # the user approves on "app.plex.tv"
    pages.append(staff_client.get(state_url))
    state = pages[-1].json()
    assert state["state"] == "signed_in" and state["account"] == "retrofan"
    assert state["next"] == reverse("admin:catalog_plex_choose_server", args=[sign_in.pk])

    pages.append(staff_client.get(state["next"]))
    listing = pages[-1].content.decode()
    assert f"<code>{server.url}</code>" in listing  # plex.tv's local connection
    assert "relay" in listing and "remote" in listing
    assert "LAN discovery" in listing  # the same server, found by GDM
    gdm_key = f"gdm:{server.machine_identifier}"
    assert f'value="{gdm_key}"' in listing

    done = staff_client.post(state["next"], {"choice": gdm_key, "name": ""}, follow=True)
    pages.append(done)

    source = MediaSource.objects.get()
    assert source.name == "Den: Plex"
    assert source.base_url == server.url
    assert source.machine_identifier == server.machine_identifier
    assert source.token in server.granted_tokens and source.token != account_token
    assert source.client_identifier == PlexDevice.identifier()
    assert source.auth_state == AuthState.OK  # the connection test ran right after choosing
    assert "token valid" in done.content.decode()
    sign_in.refresh_from_db()
    assert (sign_in.state, sign_in.account_token) == (SignInState.USED, "")
    for response in pages:
        assert account_token.encode() not in response.content
        assert source.token.encode() not in response.content


@pytest.mark.django_db
def test_sign_in_for_an_existing_source_replaces_its_token_and_clears_needs_sign_in(plextv, server):
    source, account_token = signed_in_source(plextv, server)
    plextv.revoke(account_token)
    check_connection(source)
    assert source.needs_sign_in

    sign_in = start_sign_in(source=source)
    plextv.claim(sign_in.code)
    poll_sign_in(sign_in)
    choice = next(c for c in server_choices(sign_in, discover=list).choices if c.url == server.url)
    adopted = adopt_server(sign_in, choice)

    assert adopted.pk == source.pk and MediaSource.objects.count() == 1
    assert adopted.name == "Den"
    assert not adopted.needs_sign_in
    assert check_connection(adopted).ok


@pytest.mark.django_db
def test_expired_code_ends_the_sign_in(plextv):
    sign_in = start_sign_in()
    plextv.plextv.pins[sign_in.pin_id].expires_at = 0  # plex.tv forgot it

    poll_sign_in(sign_in)

    assert sign_in.state == SignInState.EXPIRED


@pytest.mark.django_db
def test_a_poll_before_approval_stores_nothing(plextv):
    sign_in = start_sign_in()
    poll_sign_in(sign_in)
    sign_in.refresh_from_db()
    assert (sign_in.state, sign_in.account_token) == (SignInState.WAITING, "")


@pytest.mark.django_db
def test_the_client_identifier_is_created_once_and_kept(plextv):
    first = start_sign_in()
    second = start_sign_in()
    assert first.client_identifier == second.client_identifier == PlexDevice.identifier()
    assert PlexDevice.objects.count() == 1
    assert plextv.plextv.pins[first.pin_id].client_identifier == first.client_identifier


@pytest.mark.django_db
def test_lan_server_unknown_to_the_account_is_listed_but_cannot_be_chosen(plextv, server, settings):
    other = PlexEmulator(SMALL_LIBRARY.with_changes(seed=99, friendly_name="Neighbour")).start()
    try:
        with GdmResponder(other, port=free_udp_port()) as responder:
            settings.RETROVUE_PLEX_GDM_ADDRESS = gdm_target()
            settings.RETROVUE_PLEX_GDM_PORT = responder.port
            sign_in = start_sign_in()
            plextv.claim(sign_in.code)
            poll_sign_in(sign_in)
            found = server_choices(sign_in)
    finally:
        other.stop()
    lan = [choice for choice in found.choices if choice.kind == "lan"]
    assert [(choice.server_name, choice.available) for choice in lan] == [("Neighbour", False)]
    with pytest.raises(ValueError):
        adopt_server(sign_in, lan[0])


# --- GDM discovery ------------------------------------------------------------------------------


def test_gdm_discovery_finds_the_emulated_server_over_real_sockets(server):
    with GdmResponder(server, port=free_udp_port()) as responder:
        found = gdm.discover(address=gdm_target(), port=responder.port, listen_seconds=1.0)

    assert [(s.name, s.machine_identifier, s.url) for s in found] == [
        ("Den: Plex", server.machine_identifier, server.url)
    ]


def test_gdm_reply_parsing_tolerates_colons_missing_headers_and_players():
    reply = b"HTTP/1.0 200 OK\r\nName: Den: Plex: 4K\r\nResource-Identifier: abc\r\nbroken line\r\n"
    headers = gdm.parse_reply(reply)
    assert headers == {"name": "Den: Plex: 4K", "resource-identifier": "abc"}
    server = gdm.server_from_reply(headers, ("10.0.0.5", 32414))
    assert (server.name, server.url, server.version) == ("Den: Plex: 4K", "http://10.0.0.5:32400", "")

    player = gdm.parse_reply(
        b"HTTP/1.0 200 OK\r\nContent-Type: plex/media-player\r\nResource-Identifier: p\r\n"
    )
    assert gdm.server_from_reply(player, ("10.0.0.6", 32412)) is None
    assert gdm.server_from_reply({"name": "no id"}, ("10.0.0.7", 1)) is None
    assert gdm.parse_reply(b"M-SEARCH * HTTP/1.0\r\n\r\n") is None
    assert gdm.parse_reply(b"HTTP/1.0 404 Not Found\r\n") is None
    assert gdm.parse_reply(b"") is None
    odd_port = gdm.parse_reply(b"HTTP/1.0 200 OK\r\nResource-Identifier: x\r\nPort: 99999\r\n")
    assert gdm.server_from_reply(odd_port, ("10.0.0.8", 1)).port == 32400


def test_gdm_discovery_lists_each_server_once_however_often_it_answers(server):
    with (
        GdmResponder(server, port=free_udp_port()) as first,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as echo,
    ):
        # A second responder for the same server on another port, reached by unicast: two replies.
        second = GdmResponder(server, port=free_udp_port(), join=False).start()
        try:
            address = gdm_target()
            found = gdm.discover(address=address, port=first.port, listen_seconds=0.5)
            both = gdm.discover(address="127.0.0.1", port=second.port, listen_seconds=0.5)
        finally:
            second.stop()
    assert len(found) == len(both) == 1
    del echo


# --- test connection, needs sign-in -------------------------------------------------------------


@pytest.mark.django_db
def test_test_connection_reports_name_version_libraries_and_round_trip(plextv, server):
    source, _ = signed_in_source(plextv, server)

    check = check_connection(source)

    assert check.ok and check.reachable and check.token_valid
    assert (check.server_name, check.version) == ("Den: Plex", server.config.server_version)
    assert check.machine_identifier == server.machine_identifier
    assert sorted(check.libraries) == ["Movies", "TV Shows"]
    assert check.round_trip_ms is not None and check.round_trip_ms >= 0
    source.refresh_from_db()
    assert source.auth_state == AuthState.OK and source.auth_checked_at is not None


@pytest.mark.django_db
def test_test_connection_tells_an_unreachable_server_from_a_refused_token():
    source = MediaSource.objects.create(name="Gone", kind="plex", base_url="http://127.0.0.1:9", token="t")
    check = check_connection(source)
    assert (check.reachable, check.token_valid, check.ok) == (False, None, False)
    assert "could not reach" in check.error
    source.refresh_from_db()
    assert source.auth_state == AuthState.UNKNOWN


@pytest.mark.django_db
def test_test_connection_button_and_api_endpoint(staff_client, plextv, server):
    source, _ = signed_in_source(plextv, server)

    page = staff_client.post(
        reverse("admin:catalog_mediasource_test_connection", args=[source.pk]), follow=True
    )
    api = staff_client.post(f"/api/catalog/sources/{source.pk}/test-connection")

    assert "Connected to Den: Plex" in page.content.decode() and "2 libraries" in page.content.decode()
    body = api.json()
    assert api.status_code == 200 and body["ok"] is True
    assert body["server_name"] == "Den: Plex" and body["version"] == server.config.server_version
    assert sorted(body["libraries"]) == ["Movies", "TV Shows"] and body["round_trip_ms"] >= 0
    assert source.token not in api.content.decode()


@pytest.mark.django_db(transaction=True)
def test_revoked_token_turns_the_source_to_needs_sign_in_and_syncs_wait_for_a_new_one(
    plextv, server, queued_tasks, staff_client
):
    source, account_token = signed_in_source(plextv, server)
    assert sync(source).status == "succeeded"
    source.refresh_from_db()
    assert source.auth_state == AuthState.OK

    plextv.revoke(account_token)  # "sign out of all devices" on plex.tv
    failed = sync(source)

    source.refresh_from_db()
    assert failed.status == "failed" and failed.error.startswith("Needs sign-in")
    assert source.needs_sign_in and "401" in source.auth_error

    # The next sync does not run: no task, no request to the server, one run that says why.
    requests_before = server.requests.snapshot()["total"]
    refused, queued = triggers.request_sync(source, trigger="schedule")
    again, _ = triggers.request_sync(source, trigger="webhook")
    assert not queued and queued_tasks == []
    assert refused.status == "failed" and "Needs sign-in" in refused.error and "paused" in refused.error
    assert again.pk == refused.pk
    assert server.requests.snapshot()["total"] == requests_before

    listing = staff_client.get(reverse("admin:catalog_mediasource_changelist") + "?auth_state=needs_sign_in")
    assert b"Needs sign-in</a>" in listing.content and b"Den" in listing.content

    # Signing in again stores a new token and lets syncs run.
    sign_in = start_sign_in(source=source)
    plextv.claim(sign_in.code)
    poll_sign_in(sign_in)
    adopt_server(
        sign_in, next(c for c in server_choices(sign_in, discover=list).choices if c.url == server.url)
    )
    run, queued = triggers.request_sync(source, trigger="schedule")
    assert queued and queued_tasks == [run.pk]
    assert triggers.run_queued_sync(run.pk)["status"] == "succeeded"
    assert SyncRun.objects.filter(source=source, status="failed").count() == 2


@pytest.mark.django_db
def test_a_sync_queued_before_the_token_was_refused_does_not_knock_again(plextv, server, queued_tasks):
    source, account_token = signed_in_source(plextv, server)
    run, _ = triggers.request_sync(source, trigger="button")
    plextv.revoke(account_token)
    check_connection(source)
    before = server.requests.snapshot()["total"]

    result = triggers.run_queued_sync(run.pk)

    run.refresh_from_db()
    assert result["status"] == "failed" and run.error.startswith("Needs sign-in")
    assert server.requests.snapshot()["total"] == before


@pytest.mark.django_db
def test_entering_a_new_token_by_hand_clears_needs_sign_in(staff_client, plextv, server):
    source, account_token = signed_in_source(plextv, server)
    plextv.revoke(account_token)
    check_connection(source)
    change_url = reverse("admin:catalog_mediasource_change", args=[source.pk])
    page = staff_client.get(change_url)
    assert b"Needs sign-in: sign in again" in page.content

    form = {
        "name": source.name, "kind": "plex", "enabled": "on", "base_url": source.base_url, "token": server.token,
        "client_identifier": source.client_identifier, "path": "", "include_subdirectories": "on",
        "sync_interval_minutes": "60",
        "libraries-TOTAL_FORMS": "0", "libraries-INITIAL_FORMS": "0",
        "path_mappings-TOTAL_FORMS": "0", "path_mappings-INITIAL_FORMS": "0",
    }  # fmt: skip
    saved = staff_client.post(change_url, form)

    assert saved.status_code == 302, saved.content[:2000]
    source.refresh_from_db()
    assert source.auth_state == AuthState.UNKNOWN and not source.needs_sign_in


@pytest.mark.django_db
def test_webhook_for_a_needs_sign_in_source_is_ignored(plextv, server):
    from catalog.plex.webhooks import Call, decide

    source, account_token = signed_in_source(plextv, server)
    sync(source)
    plextv.revoke(account_token)
    check_connection(source)
    library = source.libraries.first()
    outcome = decide(
        Call(source=source, remote_address=None, event="library.new", section_key=library.section_key),
        timezone.now(),
    )

    assert outcome.outcome == "ignored" and "sign-in" in outcome.detail


def test_plex_tv_client_talks_json_to_the_emulator(server):
    with PlexTvEmulator([server]) as plextv:
        client = PlexTvClient("rv-test", base_url=plextv.url)
        pin = client.create_pin()
        assert len(pin.code) == 25 and client.check_pin(pin.id) is None
        token = plextv.claim(pin.id)
        assert client.check_pin(pin.id) == token
        assert client.account(token).username == "retrofan"
        servers = client.servers(token)
    assert [s.machine_identifier for s in servers] == [server.machine_identifier]
    assert {c.kind for c in servers[0].connections} == {"local", "remote", "relay"}
    assert "token" not in repr(servers[0]).lower().replace("access_token", "")


@pytest.mark.django_db
def test_sign_in_records_in_the_admin_never_show_the_account_token(staff_client, plextv):
    sign_in = start_sign_in()
    token = plextv.claim(sign_in.code)
    poll_sign_in(sign_in)
    assert PlexSignIn.objects.get().account_token == token  # kept (encrypted) until a server is chosen

    for page in (
        reverse("admin:catalog_plexsignin_changelist"),
        reverse("admin:catalog_plexsignin_change", args=[sign_in.pk]),
        reverse("admin:catalog_plex_sign_in_state", args=[sign_in.pk]),
        reverse("admin:catalog_plex_choose_server", args=[sign_in.pk]),
    ):
        response = staff_client.get(page)
        assert response.status_code == 200 and token.encode() not in response.content


PLAYWRIGHT_PYTHON = Path(os.environ.get("RETROVUE_PLAYWRIGHT_PYTHON", sys.executable))
CHROMIUM = Path(os.environ.get("RETROVUE_CHROMIUM", "/usr/bin/chromium"))


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_add_plex_server_in_chromium_shows_the_code_and_follows_the_approval(
    live_server, plextv, server, lan, tmp_path
):
    get_user_model().objects.create_superuser("browser", "browser@example.com", "browser-password-1")
    shots = Path(os.environ.get("RETROVUE_SHOTS", tmp_path))
    completed = subprocess.run(
        [str(PLAYWRIGHT_PYTHON), str(Path(__file__).with_name("plex_sign_in_browser.py")), live_server.url,
         "browser", "browser-password-1", plextv.url, plextv.control_token, "--shots", str(shots),
         "--chromium", str(CHROMIUM)],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    seen = json.loads(completed.stdout)

    sign_in = PlexSignIn.objects.get()
    assert seen["code"] == sign_in.code and seen["status_before"].startswith("Waiting")
    assert f"code={sign_in.code}" in seen["auth_link"] and seen["auth_link"].startswith(
        "https://app.plex.tv/auth#?"
    )
    assert any("LAN discovery" in row for row in seen["choices"])
    assert any("relay" in row for row in seen["choices"])
    assert "signed in to Plex" in seen["message"] and "token valid" in seen["message"]
    assert seen["errors"] == []
    source = MediaSource.objects.get()
    assert source.name == "Den via browser" and source.base_url == server.url and not source.needs_sign_in
    assert (shots / "i9-auth-sign-in-code.png").stat().st_size > 10_000


@pytest.mark.django_db
def test_an_approved_sign_in_left_unfinished_forgets_its_account_token(plextv):
    abandoned = start_sign_in()
    plextv.claim(abandoned.code)
    poll_sign_in(abandoned)
    PlexSignIn.objects.filter(pk=abandoned.pk).update(created_at=timezone.now() - timedelta(hours=2))

    start_sign_in()  # the next sign-in tidies up

    abandoned.refresh_from_db()
    assert (abandoned.state, abandoned.account_token) == (SignInState.EXPIRED, "")


@pytest.mark.django_db
def test_unreachable_plex_tv_is_reported_on_the_add_page(staff_client, settings):
    settings.RETROVUE_PLEX_TV_URL = "http://127.0.0.1:9"

    response = staff_client.post(reverse("admin:catalog_plex_add"), follow=True)

    assert response.status_code == 200
    assert "Could not start the Plex sign-in: could not reach plex.tv" in response.content.decode()
    assert not PlexSignIn.objects.exists()


@pytest.mark.django_db
def test_sync_button_on_a_needs_sign_in_source_sends_staff_to_sign_in(staff_client, queued_tasks):
    source = MediaSource.objects.create(
        name="Den", kind="plex", base_url="http://127.0.0.1:9", token="t", auth_state=AuthState.NEEDS_SIGN_IN
    )

    response = staff_client.post(reverse("admin:catalog_mediasource_sync", args=[source.pk]), follow=True)

    assert "needs sign-in" in response.content.decode()
    assert not SyncRun.objects.exists() and queued_tasks == []


@pytest.mark.django_db
def test_test_connection_api_needs_the_change_permission(client, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    client.force_login(viewer)
    source = MediaSource.objects.create(name="Den", kind="plex", base_url="http://127.0.0.1:9", token="t")

    response = client.post(f"/api/catalog/sources/{source.pk}/test-connection")

    assert response.status_code == 403
