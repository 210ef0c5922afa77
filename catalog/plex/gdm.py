"""Finding Plex servers on the LAN with GDM (PLEX_LIVE_AND_AUTH_NOTES.md §4).

One `M-SEARCH * HTTP/1.0` goes to the multicast group (239.0.0.250:32414 unless the settings say
otherwise); every server answers the sender directly with `HTTP/1.0 200 OK` and headers. Replies
are collected for about a second.

Written instead of `plexapi.gdm.GDM` because that one is brittle with real-world replies: it
splits headers on every colon (a "Name: Den: Plex" reply raises out of the scan), assumes every
header is there, and stops at the first quiet second. Here a header is split at its first colon,
missing headers fall back to defaults, non-server replies (players) are skipped, and replies are
deduplicated by Resource-Identifier.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

SEARCH = b"M-SEARCH * HTTP/1.0\r\n\r\n"
DEFAULT_PMS_PORT = 32400


@dataclass(frozen=True)
class DiscoveredServer:
    name: str
    machine_identifier: str
    host: str
    port: int
    version: str = ""

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def parse_reply(data: bytes) -> dict[str, str] | None:
    """Headers of a `200 OK` reply, lower-cased names; None for anything else."""
    lines = data.decode("utf-8", "replace").splitlines()
    if not lines:
        return None
    status = lines[0].split()
    if len(status) < 2 or not status[0].upper().startswith("HTTP/") or status[1] != "200":
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon and name.strip():
            headers[name.strip().lower()] = value.strip()
    return headers


def server_from_reply(headers: dict[str, str], sender: tuple[str, int]) -> DiscoveredServer | None:
    identifier = headers.get("resource-identifier", "")
    content_type = headers.get("content-type", "plex/media-server")
    if not identifier or content_type != "plex/media-server":
        return None
    port_text = headers.get("port", "")
    port = int(port_text) if port_text.isdigit() and 0 < int(port_text) < 65536 else DEFAULT_PMS_PORT
    return DiscoveredServer(
        name=headers.get("name") or identifier,
        machine_identifier=identifier,
        host=sender[0],
        port=port,
        version=headers.get("version", ""),
    )


def discover(
    *,
    address: str | None = None,
    port: int | None = None,
    listen_seconds: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
) -> list[DiscoveredServer]:
    """Servers that answered a GDM search within `listen_seconds`, in order of reply, one per server."""
    address = address or getattr(settings, "RETROVUE_PLEX_GDM_ADDRESS", "239.0.0.250")
    port = port or getattr(settings, "RETROVUE_PLEX_GDM_PORT", 32414)
    found: dict[str, DiscoveredServer] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP) as probe:
        # TTL 1: the search stays on this network segment, as Plex's own clients do.
        probe.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        probe.sendto(SEARCH, (address, port))
        deadline = clock() + listen_seconds
        while (remaining := deadline - clock()) > 0:
            readable, _, _ = select.select([probe], [], [], remaining)
            if not readable:
                break
            try:
                data, sender = probe.recvfrom(4096)
            except OSError:
                break
            headers = parse_reply(data)
            server = server_from_reply(headers, sender) if headers is not None else None
            if server is not None and server.machine_identifier not in found:
                found[server.machine_identifier] = server
    return list(found.values())
