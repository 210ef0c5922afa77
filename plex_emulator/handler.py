"""HTTP plumbing: one handler per connection, token check, faults, access log.

Order per request: count it, apply latency, draw a fault, check the token
(``/identity`` is open, as on Plex), route, send. Faults come before the
token check because they model the network and the server process, not the
API. The access log goes through ``logging`` with token values redacted.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import socket
import struct
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from .control import CONTROL_PREFIX, handle_control
from .notifications import NOTIFICATIONS_PATH
from .part_files import part_id_for
from .routes import NotFoundError, Request, Response
from .stats import redact

if TYPE_CHECKING:
    from .server import PlexEmulator

access_log = logging.getLogger("plex_emulator.access")
error_log = logging.getLogger("plex_emulator")

OPEN_PATHS = frozenset({"/identity"})
_ERROR_PAGE = "<html><head><title>{title}</title></head><body><h1>{status} {title}</h1></body></html>"
_ERROR_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def error_response(status: int) -> Response:
    title = _ERROR_TITLES[status]
    return Response(
        status=status, body=_ERROR_PAGE.format(status=status, title=title).encode(), content_type="text/html"
    )


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Threaded server that remembers open connections so ``stop()`` can close idle keep-alives."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], emulator: PlexEmulator) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        super().__init__(address, PlexRequestHandler)

    def process_request(self, request, client_address) -> None:
        self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        for connection in list(self._connections):
            with contextlib.suppress(OSError):  # already gone
                connection.shutdown(socket.SHUT_RDWR)


class PlexRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as requests.Session expects
    server_version = "PlexMediaServer"
    timeout = 60  # idle keep-alive connections give up after this long
    server: EmulatorHTTPServer

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_GET

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as separate writes; without NODELAY, Nagle plus the
        # client's delayed ACK stalls every keep-alive response by ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:
        access_log.info("%s %s", self.address_string(), redact(format % args))

    # -- request flow ---------------------------------------------------------------------------

    def _dispatch(self) -> None:
        emulator = self.server.emulator
        url = urlsplit(self.path)
        pairs = parse_qsl(url.query, keep_blank_values=True)
        body = self._read_body()
        if url.path == NOTIFICATIONS_PATH:
            emulator.requests.record(self.command, url.path, url.query, self.headers, dict(pairs))
            if self._token_ok(pairs):
                emulator.notifications.serve(self)
            else:
                self._send(error_response(401))
            return
        if url.path.startswith(CONTROL_PREFIX):
            if not self._token_ok(pairs):
                self._send(error_response(401))
                return
            self._send(handle_control(emulator, self.command, url.path, dict(pairs), body))
            return

        record = emulator.requests.record(self.command, url.path, url.query, self.headers, dict(pairs))
        if emulator.latency_ms and emulator.wait(emulator.latency_ms / 1000):
            self.close_connection = True
            return
        fault = emulator.faults.decide(f"{url.path}?{url.query}" if url.query else url.path)
        record.fault = fault
        if fault is not None:
            self.log_message('"%s" injected fault: %s', self.requestline, fault)
        if fault == "reset":
            self._reset_connection()
            return
        if fault == "timeout":
            emulator.wait(emulator.config.fault_timeout_seconds)
            self.close_connection = True
            return
        if fault in ("http500", "http503"):
            response = error_response(int(fault[4:]))
        elif (part_id := part_id_for(url.path)) is not None:
            record.status = emulator.parts.serve(self, part_id, emulator.accepts_token)
            return
        elif url.path not in OPEN_PATHS and not emulator.accepts_token(self._offered_token(pairs)):
            response = error_response(401)
        else:
            response = self._route(Request(self.command, url.path, pairs, self.headers))
        record.status = response.status
        if fault in ("malformed", "truncated") and not response.body:
            # An empty body (e.g. a refresh) cannot be cut; fail with a stand-in document instead.
            response.body = b'<?xml version="1.0" encoding="UTF-8"?>\n<MediaContainer size="0" />\n'
        if fault == "malformed":
            response.body = response.body[: len(response.body) // 2]
        self._send(response, truncate=fault == "truncated")

    def _route(self, request: Request) -> Response:
        try:
            return self.server.emulator.routes.handle(request)
        except NotFoundError:
            return error_response(404)
        except Exception:  # a bug in the emulator must look like a server error, not kill the thread
            error_log.exception("emulator failed on %s", redact(self.path))
            return error_response(500)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _offered_token(self, pairs: list[tuple[str, str]]) -> str:
        return self.headers.get("X-Plex-Token") or dict(pairs).get("X-Plex-Token") or ""

    def _token_ok(self, pairs: list[tuple[str, str]]) -> bool:
        expected = self.server.emulator.token
        return hmac.compare_digest(self._offered_token(pairs).encode(), expected.encode())

    # -- responses -----------------------------------------------------------------------------

    def _send(self, response: Response, *, truncate: bool = False) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("X-Plex-Protocol", "1.0")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Vary", "Origin, X-Plex-Token")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command == "HEAD":
            return
        if truncate:
            # The headers promised the whole body; stop halfway and hang up.
            self.wfile.write(response.body[: len(response.body) // 2])
            self.close_connection = True
            return
        self.wfile.write(response.body)

    def _reset_connection(self) -> None:
        """Abort with RST: SO_LINGER with a zero timeout makes close() discard and reset."""
        self.close_connection = True
        with contextlib.suppress(OSError):  # the peer may already be gone
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
