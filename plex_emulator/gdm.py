"""GDM ("G'Day Mate"), Plex's LAN discovery: answer a client's M-SEARCH like a Plex server does.

A client sends ``M-SEARCH * HTTP/1.0`` to the multicast group 239.0.0.250, port 32414; each
server answers the sender directly (unicast) with ``HTTP/1.0 200 OK`` and headers naming itself
(PLEX_LIVE_AND_AUTH_NOTES.md §4). The port is configurable so tests can use a free one.

The reply leaves from the address the emulated server listens on (127.0.0.1 by default), so a
client that builds ``http://<reply address>:<Port>`` reaches the emulator, the way a real
server's reply comes from its LAN address.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import struct
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server import PlexEmulator

log = logging.getLogger("plex_emulator.gdm")

GDM_GROUP = "239.0.0.250"
GDM_SERVER_PORT = 32414
ANY_INTERFACE = "0.0.0.0"  # noqa: S104 - discovery listens on every interface, as Plex does


def reply_for(emulator: PlexEmulator) -> bytes:
    config = emulator.config
    headers = [
        ("Content-Type", "plex/media-server"),
        ("Resource-Identifier", emulator.machine_identifier),
        ("Name", config.friendly_name),
        ("Port", str(emulator.port)),
        ("Updated-At", str(config.base_time)),
        ("Version", config.server_version),
    ]
    lines = ["HTTP/1.0 200 OK", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n").encode()


class GdmResponder:
    """Listens on UDP ``port`` (joined to the GDM group) and answers every M-SEARCH for one server."""

    def __init__(
        self,
        emulator: PlexEmulator,
        *,
        port: int = GDM_SERVER_PORT,
        group: str = GDM_GROUP,
        join: bool = True,
    ) -> None:
        self.emulator = emulator
        self.requested_port, self.group, self.join = port, group, join
        self.searches = 0  # M-SEARCH probes answered
        self._socket: socket.socket | None = None
        self._reply_socket: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the GDM responder is not running")
        return self._socket.getsockname()[1]

    def start(self) -> GdmResponder:
        if self._socket is not None:
            return self
        listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("", self.requested_port))
        if self.join:
            membership = struct.pack("4s4s", socket.inet_aton(self.group), socket.inet_aton(ANY_INTERFACE))
            try:
                listener.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
            except OSError as error:  # no multicast route: unicast probes still get answers
                log.warning("GDM responder could not join %s (%s); answering unicast only", self.group, error)
        self._socket = listener
        host = self.emulator.config.host
        if host not in ("", ANY_INTERFACE):
            self._reply_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._reply_socket.bind((host, 0))
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="plex-emulator-gdm", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        listener = self._socket
        assert listener is not None
        while not self._stop.is_set():
            readable, _, _ = select.select([listener], [], [], 0.1)
            if not readable:
                continue
            try:
                data, sender = listener.recvfrom(4096)
            except OSError:
                return
            if not data.upper().startswith(b"M-SEARCH"):
                continue
            self.searches += 1
            with contextlib.suppress(OSError):  # the client may be gone already
                (self._reply_socket or listener).sendto(reply_for(self.emulator), sender)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for each in (self._socket, self._reply_socket):
            if each is not None:
                each.close()
        self._socket = self._reply_socket = self._thread = None

    def __enter__(self) -> GdmResponder:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
