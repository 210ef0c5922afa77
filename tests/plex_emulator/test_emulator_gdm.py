"""The emulator's GDM responder answers LAN discovery searches like a Plex server."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from plexapi.gdm import GDM

from plex_emulator import EmulatorConfig, PlexEmulator
from plex_emulator.gdm import GDM_GROUP, GDM_SERVER_PORT, GdmResponder


@pytest.fixture
def server() -> Iterator[PlexEmulator]:
    with PlexEmulator(EmulatorConfig(seed=5, shows=1, movies=1, friendly_name="Den: Plex")) as running:
        yield running


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def search(port: int, target: str) -> tuple[bytes, tuple[str, int]]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP) as client:
        client.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        client.settimeout(3)
        client.sendto(b"M-SEARCH * HTTP/1.0\r\n\r\n", (target, port))
        return client.recvfrom(4096)


def multicast_target() -> str:
    """The GDM group when this host can send multicast, else plain unicast to loopback."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.sendto(b"", (GDM_GROUP, 9))
        return GDM_GROUP
    except OSError:
        return "127.0.0.1"


def test_search_gets_a_reply_naming_the_server_from_its_listen_address(server: PlexEmulator):
    with GdmResponder(server, port=free_udp_port()) as responder:
        data, sender = search(responder.port, multicast_target())

    lines = data.decode().split("\r\n")
    assert lines[0] == "HTTP/1.0 200 OK"
    headers = dict(line.split(": ", 1) for line in lines[1:] if line)
    assert headers["Content-Type"] == "plex/media-server"
    assert headers["Resource-Identifier"] == server.machine_identifier
    assert headers["Name"] == "Den: Plex"
    assert headers["Port"] == str(server.port)
    assert headers["Version"] == server.config.server_version
    assert headers["Updated-At"].isdigit()
    assert sender[0] == "127.0.0.1"
    assert responder.searches == 1


def test_other_datagrams_get_no_reply(server: PlexEmulator):
    with (
        GdmResponder(server, port=free_udp_port()) as responder,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client,
    ):
        client.settimeout(0.5)
        client.sendto(b"HELLO", ("127.0.0.1", responder.port))
        with pytest.raises(TimeoutError):
            client.recvfrom(4096)


def test_plexapi_gdm_finds_the_server_on_the_standard_port(server: PlexEmulator):
    if multicast_target() != GDM_GROUP:
        pytest.skip("no multicast route on this host")
    try:
        responder = GdmResponder(server, port=GDM_SERVER_PORT).start()
    except OSError:
        pytest.skip(f"UDP {GDM_SERVER_PORT} is taken (a real Plex server?)")
    # plexapi splits each header on every colon, so a name with one would crash its scan.
    safe = PlexEmulator(EmulatorConfig(seed=6, shows=1, movies=1, friendly_name="Den Plex")).start()
    responder.stop()
    try:
        with GdmResponder(safe, port=GDM_SERVER_PORT):
            gdm = GDM()
            gdm.scan()
        identifiers = [entry["data"]["Resource-Identifier"] for entry in gdm.entries]
        assert safe.machine_identifier in identifiers
    finally:
        safe.stop()
