"""An emulated plex.tv: the PIN sign-in, the account and its resources, for one emulated user.

It answers the endpoints a client signing in with a PIN uses (shapes per PLEX_LIVE_AND_AUTH_NOTES.md §3):

* ``POST /api/v2/pins[?strong=true]`` → 201, a new pin (XML by default, JSON with
  ``Accept: application/json``); ``authToken`` stays empty until the pin is claimed.
* ``GET /api/v2/pins/<id>`` → the pin; 404 with error 1020 once it expired.
* ``GET /api/v2/user`` → the account (``<user … authToken scrobbleTypes="">`` with ``<subscription/>``
  and ``<profile/>``, as plexapi's ``MyPlexAccount`` needs); 401 with error 1001 for a bad token.
* ``GET /api/v2/resources`` → the account's devices: every emulated server (owned, present, with a
  per-account ``accessToken`` and local/remote/relay connections) plus a web player.

The emulated user "approves" a pin in the browser with ``claim()`` (or ``POST /_plextv/claim``):
the pin gets a fresh account token, and each server is granted its own access token for that
account (``PlexEmulator.granted_tokens``). ``revoke()`` takes a token back: plex.tv then answers
401 for it, and the servers refuse the access tokens derived from it, like a real "sign out of
all devices". Control requests need ``X-Plex-Token: <control token>`` (the first server's token).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import random
import re
import socket
import string
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from .routes import Response
from .xmlwriter import XML_DECLARATION, element

if TYPE_CHECKING:
    from .server import PlexEmulator

log = logging.getLogger("plex_emulator.plextv")

CONTROL_PREFIX = "/_plextv"
JSON = "application/json"
XML = "application/xml;charset=utf-8"
PIN_EXPIRED = {"errors": [{"code": 1020, "message": "Code not found or expired", "status": 404}]}
NOT_AUTHENTICATED = {"errors": [{"code": 1001, "message": "User could not be authenticated", "status": 401}]}
PUBLIC_ADDRESS = "203.0.113.7"  # TEST-NET-3: a "public" address that routes nowhere


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Pin:
    id: int
    code: str
    client_identifier: str
    product: str
    strong: bool
    created_at: float
    expires_at: float
    auth_token: str | None = None

    def expired(self, now: float) -> bool:
        return now >= self.expires_at


@dataclass
class Account:
    id: int = 1234567
    uuid: str = "a1b2c3d4e5f60718"
    username: str = "retrofan"
    email: str = "retrofan@example.com"
    title: str = "retrofan"


@dataclass
class Grant:
    """An account token issued to one client identifier, and the server tokens derived from it."""

    client_identifier: str
    server_tokens: dict[str, str] = field(default_factory=dict)  # machine identifier → access token


class PlexTv:
    """The state of the emulated plex.tv and its request handling; no sockets here."""

    def __init__(
        self,
        servers: Sequence[PlexEmulator] = (),
        *,
        account: Account | None = None,
        pin_lifetime_seconds: int = 900,
        clock: Callable[[], float] = time.time,
        seed: int = 1,
    ) -> None:
        self.servers = list(servers)
        self.account = account or Account()
        self.pin_lifetime_seconds = pin_lifetime_seconds
        self.clock = clock
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.pins: dict[int, Pin] = {}
        self.grants: dict[str, Grant] = {}  # account token → grant
        self.revoked: set[str] = set()
        self._next_pin_id = 1_000_000_000 + self._random.randrange(1_000_000)

    # -- the emulated user's side ---------------------------------------------------------------

    def claim(self, pin: int | str) -> str:
        """Approve a pin (by id or code) as the signed-in user would; returns the account token."""
        with self._lock:
            found = self._find_pin(pin)
            if found is None or found.expired(self.clock()):
                raise KeyError(f"no live pin {pin!r}")
            if found.auth_token is None:
                found.auth_token = self._token()
                grant = Grant(found.client_identifier)
                for server in self.servers:
                    server_token = self._token()
                    grant.server_tokens[server.machine_identifier] = server_token
                    server.granted_tokens.add(server_token)
                self.grants[found.auth_token] = grant
            return found.auth_token

    def revoke(self, token: str) -> bool:
        """Take back an account token (and its server tokens) or a single server access token."""
        with self._lock:
            grant = self.grants.pop(token, None)
            if grant is not None:
                self.revoked.add(token)
                for server in self.servers:
                    server.granted_tokens.discard(grant.server_tokens.get(server.machine_identifier, ""))
                return True
            for grant in self.grants.values():
                for machine_identifier, server_token in list(grant.server_tokens.items()):
                    if server_token == token:
                        for server in self.servers:
                            server.granted_tokens.discard(server_token)
                        del grant.server_tokens[machine_identifier]
                        self.revoked.add(token)
                        return True
            return False

    def revoke_all(self) -> int:
        tokens = list(self.grants)
        for token in tokens:
            self.revoke(token)
        return len(tokens)

    def _find_pin(self, pin: int | str) -> Pin | None:
        if isinstance(pin, int) or str(pin).isdigit():
            found = self.pins.get(int(pin))
            if found is not None:
                return found
        return next((each for each in self.pins.values() if each.code == str(pin)), None)

    def _token(self) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        return "".join(self._random.choice(alphabet) for _ in range(20))

    def _account_for(self, token: str) -> Grant | None:
        for known, grant in self.grants.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return grant
        return None

    # -- HTTP ---------------------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict[str, str], headers) -> Response:
        wants_json = JSON in (headers.get("Accept") or "")
        path = path.rstrip("/")
        if method == "POST" and path == "/api/v2/pins":
            return self._create_pin(params, headers, wants_json)
        match = re.fullmatch(r"/api/v2/pins/(\d+)", path)
        if method == "GET" and match:
            return self._get_pin(int(match.group(1)), wants_json)
        if method == "GET" and path in ("/api/v2/user", "/api/v2/resources"):
            token = headers.get("X-Plex-Token") or params.get("X-Plex-Token") or ""
            grant = self._account_for(token) if token else None
            if grant is None:
                return _json(NOT_AUTHENTICATED, 401)
            if path == "/api/v2/user":
                return self._user(token, wants_json)
            return self._resources(grant, wants_json)
        return _json({"errors": [{"code": 1002, "message": "Not found", "status": 404}]}, 404)

    def _create_pin(self, params: dict[str, str], headers, wants_json: bool) -> Response:
        client_identifier = headers.get("X-Plex-Client-Identifier") or params.get("X-Plex-Client-Identifier")
        if not client_identifier:
            return _json({"errors": [{"code": 1000, "message": "X-Plex-Client-Identifier is missing"}]}, 400)
        strong = params.get("strong", "").lower() in ("true", "1")
        now = self.clock()
        with self._lock:
            pin_id = self._next_pin_id
            self._next_pin_id += 1
            length, alphabet = (
                (25, string.ascii_lowercase + string.digits)
                if strong
                else (4, "ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
            )
            pin = Pin(
                id=pin_id,
                code="".join(self._random.choice(alphabet) for _ in range(length)),
                client_identifier=client_identifier,
                product=headers.get("X-Plex-Product") or params.get("X-Plex-Product") or "",
                strong=strong,
                created_at=now,
                expires_at=now + self.pin_lifetime_seconds,
            )
            self.pins[pin_id] = pin
        return self._pin_response(pin, wants_json, status=201)

    def _get_pin(self, pin_id: int, wants_json: bool) -> Response:
        pin = self.pins.get(pin_id)
        if pin is None or pin.expired(self.clock()):
            if wants_json:
                return _json(PIN_EXPIRED, 404)
            error = element(
                "error", (("code", 1020), ("message", "Code not found or expired"), ("status", 404))
            )
            return Response(status=404, body=_xml(element("errors", (), error)), content_type=XML)
        return self._pin_response(pin, wants_json)

    def _pin_response(self, pin: Pin, wants_json: bool, status: int = 200) -> Response:
        now = self.clock()
        fields = {
            "id": pin.id,
            "code": pin.code,
            "product": pin.product,
            "trusted": False,
            "qr": f"https://plex.tv/api/v2/pins/qr/{pin.code}",
            "clientIdentifier": pin.client_identifier,
            "expiresIn": max(0, int(pin.expires_at - now)),
            "createdAt": _iso(pin.created_at),
            "expiresAt": _iso(pin.expires_at),
            "authToken": pin.auth_token,
            "newRegistration": None,
        }
        location = {
            "code": "US",
            "country": "United States",
            "city": "Springfield",
            "time_zone": "America/Chicago",
        }
        if wants_json:
            return _json({**fields, "location": location}, status)
        body = element("pin", _pairs(fields), element("location", _pairs(location)))
        return Response(status=status, body=_xml(body), content_type=XML)

    def _user(self, token: str, wants_json: bool) -> Response:
        account = self.account
        fields = {
            "id": account.id,
            "uuid": account.uuid,
            "username": account.username,
            "title": account.title,
            "email": account.email,
            "friendlyName": account.title,
            "locale": "",
            "confirmed": True,
            "joinedAt": 1_500_000_000,
            "emailOnlyAuth": False,
            "hasPassword": True,
            "protected": False,
            "thumb": f"https://plex.tv/users/{account.uuid}/avatar",
            "authToken": token,
            "mailingListStatus": "unsubscribed",
            "mailingListActive": False,
            "scrobbleTypes": "",
            "country": "US",
            "home": False,
            "homeSize": 1,
            "homeAdmin": False,
            "maxHomeSize": 15,
            "restricted": False,
            "anonymous": None,
            "twoFactorEnabled": False,
            "backupCodesCreated": False,
        }
        subscription = {
            "active": False,
            "subscribedAt": None,
            "status": "Inactive",
            "paymentService": None,
            "plan": None,
        }
        profile = {
            "autoSelectAudio": True,
            "defaultAudioLanguage": "en",
            "defaultSubtitleLanguage": "en",
            "autoSelectSubtitle": 0,
            "defaultSubtitleAccessibility": 0,
            "defaultSubtitleForces": 0,
        }
        if wants_json:
            return _json({**fields, "subscription": {**subscription, "features": []}, "profile": profile})
        children = (
            element("subscription", _pairs(subscription), element("features", ()))
            + element("profile", _pairs(profile))
            + "".join(element(tag, ()) for tag in ("entitlements", "roles", "services"))
        )
        return Response(body=_xml(element("user", _pairs(fields), children)), content_type=XML)

    def _resources(self, grant: Grant, wants_json: bool) -> Response:
        devices = [self._server_resource(server, grant) for server in self.servers]
        devices.append(self._player_resource(grant))
        if wants_json:
            return _json(devices)
        parts = []
        for device in devices:
            connections = "".join(element("connection", _pairs(each)) for each in device["connections"])
            attributes = {name: value for name, value in device.items() if name != "connections"}
            parts.append(element("resource", _pairs(attributes), element("connections", (), connections)))
        body = element("resources", (("size", len(parts)),), "".join(parts))
        return Response(body=_xml(body), content_type=XML)

    def _server_resource(self, server: PlexEmulator, grant: Grant) -> dict:
        host, port = server.address
        dashed = host.replace(".", "-")
        plex_direct = f"{server.machine_identifier[:32]}.plex.direct"
        public = PUBLIC_ADDRESS.replace(".", "-")
        return {
            "name": server.config.friendly_name,
            "product": "Plex Media Server",
            "productVersion": server.config.server_version,
            "platform": "Windows" if server.config.windows else "Linux",
            "platformVersion": "10.0" if server.config.windows else "6.1.0",
            "device": "PC",
            "clientIdentifier": server.machine_identifier,
            "createdAt": "2024-01-01T00:00:00Z",
            "lastSeenAt": _iso(self.clock()),
            "provides": "server",
            "ownerId": None,
            "sourceTitle": None,
            "publicAddress": PUBLIC_ADDRESS,
            "accessToken": grant.server_tokens.get(server.machine_identifier, ""),
            "owned": True,
            "home": False,
            "synced": False,
            "relay": True,
            "presence": True,
            "httpsRequired": False,
            "publicAddressMatches": True,
            "dnsRebindingProtection": False,
            "natLoopbackSupported": True,
            "connections": [
                # The order plex.tv uses: local ones first. The https plex.direct name needs DNS and a
                # certificate the emulator lacks, so only the plain local URI answers, as on many LANs.
                _connection("https", host, port, f"https://{dashed}.{plex_direct}:{port}", local=True),
                _connection("http", host, port, f"http://{host}:{port}", local=True),
                _connection(
                    "https", PUBLIC_ADDRESS, 32400, f"https://{public}.{plex_direct}:32400", local=False
                ),
                _connection(
                    "https",
                    "198.51.100.20",
                    8443,
                    f"https://198-51-100-20.{plex_direct}:8443",
                    local=False,
                    relay=True,
                ),
            ],
        }

    def _player_resource(self, grant: Grant) -> dict:
        return {
            "name": "Chrome",
            "product": "Plex Web",
            "productVersion": "4.145.1",
            "platform": "Chrome",
            "platformVersion": "140.0",
            "device": "Linux",
            "clientIdentifier": "emulated-web-player",
            "createdAt": "2024-01-01T00:00:00Z",
            "lastSeenAt": _iso(self.clock()),
            "provides": "client,player,pubsub-player",
            "ownerId": None,
            "sourceTitle": None,
            "publicAddress": PUBLIC_ADDRESS,
            "accessToken": "",
            "owned": True,
            "home": False,
            "synced": False,
            "relay": False,
            "presence": False,
            "httpsRequired": False,
            "publicAddressMatches": True,
            "dnsRebindingProtection": False,
            "natLoopbackSupported": False,
            "connections": [],
        }

    # -- control ------------------------------------------------------------------------------

    def control(self, method: str, action: str, arguments: dict) -> Response:
        try:
            if method == "POST" and action == "claim":
                pin = arguments.get("pin", arguments.get("code"))
                if pin is None:
                    raise KeyError("give a pin id or code")
                self.claim(pin)
                return _json({"ok": True})
            if method == "POST" and action == "revoke":
                if arguments.get("all"):
                    return _json({"ok": True, "revoked": self.revoke_all()})
                return _json({"ok": True, "revoked": int(self.revoke(str(arguments["token"])))})
            if method == "GET" and action == "pins":
                now = self.clock()
                pins = [
                    {
                        "id": pin.id,
                        "code": pin.code,
                        "claimed": pin.auth_token is not None,
                        "expired": pin.expired(now),
                    }
                    for pin in self.pins.values()
                ]
                return _json({"ok": True, "pins": pins})
        except KeyError as error:
            return _json({"ok": False, "error": str(error)}, 404)
        return _json({"ok": False, "error": f"no control endpoint {method} {CONTROL_PREFIX}/{action}"}, 404)


def _connection(
    protocol: str, address: str, port: int, uri: str, *, local: bool, relay: bool = False
) -> dict:
    return {
        "protocol": protocol,
        "address": address,
        "port": port,
        "uri": uri,
        "local": local,
        "relay": relay,
        "IPv6": False,
    }


def _xml_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _pairs(fields: dict) -> list[tuple[str, str]]:
    return [(name, _xml_value(value)) for name, value in fields.items()]


def _xml(body: str) -> bytes:
    return (XML_DECLARATION + body).encode("utf-8")


def _json(payload: object, status: int = 200) -> Response:
    return Response(status=status, body=json.dumps(payload).encode(), content_type=JSON)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "plex-tv-emulator"
    server: _PlexTvHTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body are separate writes: without NODELAY, Nagle plus delayed ACKs add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        plextv = self.server.plextv
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if url.path.startswith(CONTROL_PREFIX):
            offered = self.headers.get("X-Plex-Token") or ""
            if not hmac.compare_digest(offered.encode(), self.server.control_token.encode()):
                response = _json(NOT_AUTHENTICATED, 401)
            else:
                try:
                    arguments = json.loads(body) if body.strip() else {}
                except ValueError:
                    arguments = None
                if not isinstance(arguments, dict):
                    response = _json({"ok": False, "error": "the body must be a JSON object"}, 400)
                else:
                    response = plextv.control(
                        self.command, url.path[len(CONTROL_PREFIX) :].strip("/"), arguments
                    )
        else:
            try:
                response = plextv.handle(self.command, url.path, params, self.headers)
            except Exception:  # a bug here must look like a server error, not kill the thread
                log.exception("plex.tv emulator failed on %s %s", self.command, url.path)
                response = _json({"errors": [{"code": 500, "message": "emulator error"}]}, 500)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: object) -> None:
        # Pin polls carry no secret in the URL, but a client may put a token in the query string.
        log.info(
            "%s %s", self.address_string(), re.sub(r"(X-Plex-Token=)[^&\s]*", r"\1[redacted]", format % args)
        )


class _PlexTvHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], plextv: PlexTv, control_token: str) -> None:
        self.plextv = plextv
        self.control_token = control_token
        super().__init__(address, _Handler)


class PlexTvEmulator:
    """Serves a ``PlexTv`` over HTTP on its own port (plex.tv is another host than the server)."""

    def __init__(
        self,
        servers: Sequence[PlexEmulator] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        control_token: str | None = None,
        **options,
    ) -> None:
        self.plextv = PlexTv(servers, **options)
        self.host, self.requested_port = host, port
        self.control_token = control_token or (servers[0].token if servers else uuid.uuid4().hex)
        self._http: _PlexTvHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._http is None:
            raise RuntimeError("the plex.tv emulator is not running; call start() first")
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    def claim(self, pin: int | str) -> str:
        return self.plextv.claim(pin)

    def revoke(self, token: str) -> bool:
        return self.plextv.revoke(token)

    def start(self) -> PlexTvEmulator:
        if self._http is None:
            self._http = _PlexTvHTTPServer((self.host, self.requested_port), self.plextv, self.control_token)
            self._thread = threading.Thread(
                target=self._http.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="plex-tv-emulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._http is None:
            return
        self._http.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with contextlib.suppress(OSError):
            self._http.server_close()
        self._http, self._thread = None, None

    def __enter__(self) -> PlexTvEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
