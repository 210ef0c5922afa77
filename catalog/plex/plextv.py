"""plex.tv for RetroVue: the PIN sign-in, the account and the servers it can reach.

The flow (PLEX_LIVE_AND_AUTH_NOTES.md §3): create a strong PIN, send staff to app.plex.tv with its
code, poll the PIN until plex.tv fills in `authToken`, then list the account's resources and keep
the servers (`'server' in provides`). Each server resource carries its own `accessToken`, the
token RetroVue stores on the source (on a shared server it differs from the account token).

JSON throughout (`Accept: application/json`). Tokens travel in the `X-Plex-Token` header only and
never appear in an error message. The base URL is `RETROVUE_PLEX_TV_URL`, so tests and the demo
talk to the emulator in `plex_emulator.plextv`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

import requests
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog.plex.errors import (
    PlexAuthError,
    PlexError,
    PlexHttpError,
    PlexMalformedResponse,
    PlexUnreachable,
)

PRODUCT = "RetroVue"
APP_AUTH_URL = "https://app.plex.tv/auth#?"


class PinExpired(PlexError):
    """plex.tv no longer knows the PIN (error 1020): it expired or was never created."""


@dataclass(frozen=True)
class Pin:
    id: int
    code: str
    expires_at: datetime


@dataclass(frozen=True)
class Account:
    username: str
    email: str
    title: str


@dataclass(frozen=True)
class Connection:
    uri: str
    address: str
    port: int
    protocol: str
    local: bool
    relay: bool

    @property
    def kind(self) -> str:
        return "relay" if self.relay else ("local" if self.local else "remote")


@dataclass(frozen=True)
class ServerResource:
    name: str
    machine_identifier: str
    access_token: str = field(repr=False)
    owned: bool
    presence: bool
    product_version: str
    connections: tuple[Connection, ...]


def auth_app_url(client_identifier: str, code: str, forward_url: str | None = None) -> str:
    """The page where the signed-in Plex user approves the PIN (opened in the staff's browser)."""
    params = {"clientID": client_identifier, "code": code, "context[device][product]": PRODUCT}
    if forward_url:
        params["forwardUrl"] = forward_url
    return APP_AUTH_URL + urlencode(params, quote_via=quote)


def plex_tv_url() -> str:
    return getattr(settings, "RETROVUE_PLEX_TV_URL", "https://plex.tv").rstrip("/")


class PlexTvClient:
    def __init__(
        self,
        client_identifier: str,
        *,
        base_url: str | None = None,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 15.0),
    ) -> None:
        self.base_url = (base_url or plex_tv_url()).rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout
        self.headers = {
            "Accept": "application/json",
            "X-Plex-Product": PRODUCT,
            "X-Plex-Version": "1",
            "X-Plex-Client-Identifier": client_identifier,
            "X-Plex-Device-Name": PRODUCT,
        }

    def _call(self, method: str, path: str, *, token: str | None = None, params: dict | None = None):
        headers = dict(self.headers)
        if token:
            headers["X-Plex-Token"] = token
        try:
            response = self.session.request(
                method, f"{self.base_url}{path}", params=params, headers=headers, timeout=self.timeout
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            raise PlexUnreachable(
                f"could not reach plex.tv at {self.base_url} ({type(error).__name__})"
            ) from None
        if response.status_code == 401:
            raise PlexAuthError("plex.tv refused the token (401): sign in again.")
        if response.status_code == 404 and path.startswith("/api/v2/pins/"):
            raise PinExpired("The sign-in code expired; start again.")
        if response.status_code >= 400:
            raise PlexHttpError(f"plex.tv answered {response.status_code} for {path}", response.status_code)
        try:
            return response.json()
        except ValueError:
            raise PlexMalformedResponse(f"plex.tv sent something other than JSON for {path}") from None

    def create_pin(self, *, strong: bool = True) -> Pin:
        data = self._call("POST", "/api/v2/pins", params={"strong": "true"} if strong else None)
        return _pin(data)

    def check_pin(self, pin_id: int) -> str | None:
        """The account token once the PIN was approved, else None; raises PinExpired when gone."""
        data = self._call("GET", f"/api/v2/pins/{int(pin_id)}")
        return data.get("authToken") or None if isinstance(data, dict) else None

    def account(self, token: str) -> Account:
        data = self._call("GET", "/api/v2/user", token=token)
        if not isinstance(data, dict):
            raise PlexMalformedResponse("plex.tv sent no account")
        return Account(
            username=str(data.get("username") or ""),
            email=str(data.get("email") or ""),
            title=str(data.get("title") or data.get("username") or ""),
        )

    def servers(self, token: str) -> list[ServerResource]:
        data = self._call(
            "GET",
            "/api/v2/resources",
            token=token,
            params={"includeHttps": 1, "includeRelay": 1, "includeIPv6": 1},
        )
        if not isinstance(data, list):
            raise PlexMalformedResponse("plex.tv sent no resource list")
        return [_server(entry) for entry in data if isinstance(entry, dict) and _provides_server(entry)]


def _provides_server(entry: dict) -> bool:
    return "server" in str(entry.get("provides") or "").split(",")


def _pin(data) -> Pin:
    if not isinstance(data, dict) or "id" not in data or not data.get("code"):
        raise PlexMalformedResponse("plex.tv sent no PIN")
    expires_at = parse_datetime(str(data.get("expiresAt") or ""))
    if expires_at is None:
        expires_at = timezone.now() + timedelta(seconds=int(data.get("expiresIn") or 900))
    return Pin(id=int(data["id"]), code=str(data["code"]), expires_at=expires_at)


def _server(entry: dict) -> ServerResource:
    connections = []
    for each in entry.get("connections") or []:
        if not isinstance(each, dict) or not each.get("uri"):
            continue
        try:
            port = int(each.get("port") or 0)
        except (TypeError, ValueError):
            port = 0
        connections.append(
            Connection(
                uri=str(each["uri"]),
                address=str(each.get("address") or ""),
                port=port,
                protocol=str(each.get("protocol") or ""),
                local=bool(each.get("local")),
                relay=bool(each.get("relay")),
            )
        )
    return ServerResource(
        name=str(entry.get("name") or entry.get("clientIdentifier") or "Plex server"),
        machine_identifier=str(entry.get("clientIdentifier") or ""),
        access_token=str(entry.get("accessToken") or ""),
        owned=bool(entry.get("owned")),
        presence=bool(entry.get("presence")),
        product_version=str(entry.get("productVersion") or ""),
        connections=tuple(connections),
    )
