"""The notification websocket: handshake, token, the frames mutations send, ping/pong, close, kill."""

from __future__ import annotations

import json
import socket

import pytest
import requests
import websocket

from plex_emulator import EmulatorConfig, PlexEmulator
from plex_emulator.websocket import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, encode_frame, read_frame

CONFIG = EmulatorConfig(
    seed=3, shows=2, seasons_per_show=1, episodes_per_season=2, movies=3, token="ws-token"
)


@pytest.fixture
def emulator():
    with PlexEmulator(CONFIG) as running:
        running.notifications.noise = False
        yield running


def connect(emulator: PlexEmulator, **options) -> websocket.WebSocket:
    url = emulator.url.replace("http://", "ws://") + "/:/websockets/notifications"
    ws = websocket.create_connection(f"{url}?X-Plex-Token={emulator.token}", timeout=2, **options)
    assert emulator.notifications.wait_for_connections(1)
    return ws


def frames(ws: websocket.WebSocket, count: int) -> list[dict]:
    received = []
    while len(received) < count:
        opcode, data = ws.recv_data()
        if opcode == OP_TEXT:
            received.append(json.loads(data)["NotificationContainer"])
    return received


def test_the_socket_needs_the_token(emulator):
    url = emulator.url.replace("http://", "ws://") + "/:/websockets/notifications"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"{url}?X-Plex-Token=wrong", timeout=2)
    assert refused.value.status_code == 401
    by_header = websocket.create_connection(url, timeout=2, header={"X-Plex-Token": emulator.token})
    by_header.close()


def test_a_new_movie_is_announced_created_then_done(emulator):
    ws = connect(emulator)
    movie = emulator.library.add_movie("Live Film", 1984)
    created, done = frames(ws, 2)
    entry = created["TimelineEntry"][0]
    assert created["type"] == "timeline" and created["size"] == 1
    assert entry == {
        "identifier": "com.plexapp.plugins.library",
        "itemID": movie.rating_key,
        "sectionID": str(emulator.config.movie_section_id),
        "type": 1,
        "title": "Live Film",
        "state": 0,
        "metadataState": "created",
        "updatedAt": movie.updated_at,
    }
    assert done["TimelineEntry"][0]["state"] == 5 and "metadataState" not in done["TimelineEntry"][0]


def test_a_change_is_an_ended_refresh_activity_and_a_done_timeline(emulator):
    ws = connect(emulator)
    episode = emulator.library.episodes()[0]
    emulator.library.touch(episode.rating_key, title="Retitled")
    started, ended, timeline = frames(ws, 3)
    assert [started["type"], ended["type"], timeline["type"]] == ["activity", "activity", "timeline"]
    notification = ended["ActivityNotification"][0]
    assert notification["event"] == "ended"
    assert notification["Activity"]["type"] == "library.refresh.items"
    assert notification["Activity"]["Context"]["key"] == f"/library/metadata/{episode.rating_key}"
    entry = timeline["TimelineEntry"][0]
    assert (entry["type"], entry["state"], entry["title"]) == (4, 5, "Retitled")
    assert (
        entry["parentItemID"] == episode.parent.rating_key and entry["rootItemID"] == episode.show.rating_key
    )


def test_deleting_a_show_announces_every_item_that_went(emulator):
    ws = connect(emulator)
    show = emulator.library.shows()[0]
    gone = emulator.library.delete(show.rating_key)
    (deleted,) = frames(ws, 1)
    entries = deleted["TimelineEntry"]
    assert {entry["itemID"] for entry in entries} == set(gone)
    assert {(entry["state"], entry["metadataState"]) for entry in entries} == {(9, "deleted")}
    assert sorted({entry["type"] for entry in entries}) == [2, 3, 4]


def test_mutations_over_the_control_path_are_announced_too(emulator):
    ws = connect(emulator)
    old_key = emulator.library.movies()[0].rating_key
    response = requests.post(
        f"{emulator.url}/_emulator/library/rekey",
        json={"rating_key": old_key},
        headers={"X-Plex-Token": emulator.token},
        timeout=5,
    )
    new_key = response.json()["result"][old_key]
    deleted, created, done = frames(ws, 3)
    assert deleted["TimelineEntry"][0]["itemID"] == old_key
    assert created["TimelineEntry"][0]["itemID"] == new_key == done["TimelineEntry"][0]["itemID"]


def test_noise_comes_before_library_frames_when_switched_on(emulator):
    emulator.notifications.noise = True
    ws = connect(emulator)
    emulator.library.add_movie("Noisy", 1990)
    noise, created, _done = frames(ws, 3)
    assert noise["type"] == "playing"
    assert created["TimelineEntry"][0]["metadataState"] == "created"
    emulator.notifications.send_noise()
    kinds = {frame["type"] for frame in frames(ws, 13)}
    assert {"status", "timeline", "activity", "reachability", "update.statechange"} <= kinds


def test_the_server_answers_pings_and_close(emulator):
    raw = socket.create_connection(emulator.address, timeout=2)
    raw.sendall(
        b"GET /:/websockets/notifications?X-Plex-Token=ws-token HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    reader = raw.makefile("rb")
    status = reader.readline()
    headers = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.lower()] = value.strip()
    assert status.startswith(b"HTTP/1.1 101")
    assert headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455's own example
    raw.sendall(encode_frame(OP_PING, b"hello", mask=b"abcd"))
    assert read_frame(reader) == (OP_PONG, b"hello")
    raw.sendall(encode_frame(OP_CLOSE, b"\x03\xe8", mask=b"wxyz"))
    assert read_frame(reader) == (OP_CLOSE, b"\x03\xe8")
    assert read_frame(reader) is None  # and then it hangs up
    raw.close()


def test_the_kill_knob_drops_a_connection_in_the_middle_of_a_burst(emulator):
    ws = connect(emulator)
    killed = requests.post(
        f"{emulator.url}/_emulator/notifications/kill",
        json={"after_frames": 3},
        headers={"X-Plex-Token": emulator.token},
        timeout=5,
    ).json()
    assert killed["killed"] == 1
    for number in range(5):
        emulator.library.add_movie(f"Burst {number}", 2000)
    received = 0
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionResetError)):
        while True:
            opcode, _ = ws.recv_data()
            received += opcode == OP_TEXT
    assert received == 3
    assert emulator.notifications.connection_count == 0
    again = connect(emulator)  # a new connection works as before
    emulator.library.add_movie("After", 2001)
    assert frames(again, 1)[0]["TimelineEntry"][0]["title"] == "After"
