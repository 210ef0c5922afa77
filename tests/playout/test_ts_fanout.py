"""The TS fan-out server (`playout.ts_fanout`): one reader per channel whatever the number of
viewers, the same bytes for everyone (checked against the segments on disk), the tune-in burst,
a slow viewer dropped without holding back the others, a revoked right ending an open stream,
the tuner's 503, and a channel airing on another machine (a stand-in origin over HTTP) followed
there and back without a segment repeated. The server runs on a real socket in a thread of its own; viewers are sockets."""

from __future__ import annotations

import asyncio
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.utils import timezone

from playout import hls, viewer_counts
from playout.hls import LivePlaylist
from playout.models import ChannelRuntime, PlayoutWorker, ViewerKind
from playout.ts_fanout.access import AccessCache, Decision, decide, shut_down
from playout.ts_fanout.fanout import ChannelReader, Hub
from playout.ts_fanout.server import FanoutServer, HlsRequestLog
from playout.ts_fanout.service import publish_counts
from playout.ts_fanout.sources import OriginLookup, OriginSource, http_get
from playout.ts_stream import acquire_tuner
from playout.viewer_counts import RecentClients, viewers_by_channel
from retrovue.core.models import StreamToken
from scheduling.models import Channel

START = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
SEGMENT_SECONDS = 2.0


def segment_bytes(index: int, packets: int = 20, place: int = 0) -> bytes:
    """`packets` TS packets that say which segment and packet they are, and which machine cut them."""
    return b"".join(
        b"\x47" + index.to_bytes(4, "big") + number.to_bytes(4, "big") + bytes([place]) + bytes(178)
        for number in range(packets)
    )


class Channel7:
    """A channel's live HLS on disk, as the playout worker writes it, one segment at a time."""

    def __init__(
        self, hls_root: Path, packets: int = 20, number: str = "7", first_msn: int = 0, place: int = 0
    ):
        self.folder = hls_root / number
        self.folder.mkdir(parents=True, exist_ok=True)
        self.playlist = LivePlaylist(target_duration=2, next_msn=first_msn)
        self.packets = packets
        self.place = place
        # written[i] is media sequence i; a machine that took the channel over starts past 0
        self.written: list[bytes | None] = [None] * first_msn

    def add(self, count: int = 1) -> None:
        for _ in range(count):
            index = len(self.written)
            data = segment_bytes(index, self.packets, self.place)
            (self.folder / f"run-{index:06d}.ts").write_bytes(data)
            self.playlist.append(f"run-{index:06d}.ts", SEGMENT_SECONDS, START + timedelta(seconds=2 * index))
            self.written.append(data)
        self.playlist.write(self.folder / hls.PLAYLIST_NAME)

    def on_air_at(self, index: int) -> datetime:
        return START + timedelta(seconds=2 * index + 1)


class RunningServer:
    """A FanoutServer on 127.0.0.1 in a thread with its own event loop."""

    def __init__(self, server: FanoutServer):
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        listening = self.call(asyncio.start_server(server.handle, "127.0.0.1", 0))
        self.listening = listening
        self.port = listening.sockets[0].getsockname()[1]

    def call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    def run(self, function):
        async def in_loop():
            return function()

        return self.call(in_loop())

    def stop(self) -> None:
        async def close():
            self.listening.close()
            self.server.hub.end_all("test over")
            await asyncio.sleep(0.05)

        self.call(close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


def tune(
    port: int, path: str = "/iptv/channel/7.ts", *, receive_buffer: int | None = None, http: str = "1.1"
):
    """(status line, headers text, socket positioned at the body)."""
    viewer = socket.socket()
    if receive_buffer:
        viewer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    viewer.settimeout(10)
    viewer.connect(("127.0.0.1", port))
    viewer.sendall(f"GET {path} HTTP/{http}\r\nHost: tv\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = viewer.recv(1)
        if not chunk:
            break
        head += chunk
    status = head.split(b"\r\n", 1)[0].decode()
    return status, head.decode(), viewer


def read_exactly(viewer: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = viewer.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def read_to_end(viewer: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := viewer.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


@pytest.fixture
def station(settings, tmp_path):
    settings.HLS_ROOT = tmp_path / "hls"
    settings.DATA_DIR = tmp_path / "data"
    settings.RETROVUE_HDHR_TUNER_COUNT = 8
    return tmp_path


@pytest.fixture
def clock():
    return {"now": START}


def make_server(clock, ask=None, origin_of=None, give_up_seconds=30.0, **options) -> RunningServer:
    def reader(number: str) -> ChannelReader:
        return ChannelReader(
            number,
            lambda: clock["now"],
            origin_of=origin_of,
            poll_seconds=0.02,
            give_up_seconds=give_up_seconds,
        )

    executor = ThreadPoolExecutor(2)
    access = AccessCache(executor, ask=ask or (lambda number, token: Decision(200)))
    return RunningServer(FanoutServer(Hub(reader), access, origin_of=origin_of, **options))


@pytest.fixture
def running(station, clock):
    servers = []

    def start(**options):
        servers.append(make_server(clock, **options))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def wait_until(condition, seconds: float = 5.0) -> None:
    deadline = threading.Event()
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        deadline.wait(0.02)
    raise AssertionError("condition not met in time")


def test_every_viewer_gets_the_same_segments_from_one_reader(station, clock, running):
    channel = Channel7(station / "hls")
    channel.add(3)
    clock["now"] = channel.on_air_at(1)  # segment 1 is on air: the burst is segments 1 and 2
    server = running()
    viewers = [tune(server.port) for _ in range(6)]
    assert all(status == "HTTP/1.1 200 OK" and "video/mp2t" in head for status, head, _ in viewers)

    channel.add(2)  # segments 3 and 4, cut while they watch
    expected = b"".join(channel.written[1:5])
    received = [read_exactly(viewer, len(expected)) for _, _, viewer in viewers]

    assert all(data == expected for data in received)  # byte for byte the files on disk, in order
    assert server.server.hub.readers_started == 1
    reader = server.run(lambda: server.server.hub.readers["7"])
    assert reader.files_opened == 4  # segments 1–4 read once each, for six viewers
    for _, _, viewer in viewers:
        viewer.close()


def test_a_later_viewer_starts_at_the_segment_on_air_and_joins_at_a_boundary(station, clock, running):
    channel = Channel7(station / "hls")
    channel.add(3)
    clock["now"] = channel.on_air_at(1)
    server = running()
    _, _, first = tune(server.port)
    channel.add(2)
    read_exactly(first, sum(len(data) for data in channel.written[1:5]))

    clock["now"] = channel.on_air_at(3)  # segment 3 on air now: a new viewer's burst is 3 and 4
    _, _, late = tune(server.port)
    channel.add()
    expected = b"".join(channel.written[3:6])
    assert read_exactly(late, len(expected)) == expected
    assert read_exactly(first, len(channel.written[5])) == channel.written[5]
    assert server.server.hub.readers_started == 1
    first.close()
    late.close()


def test_a_slow_viewer_is_dropped_and_the_others_get_everything(station, clock, running):
    channel = Channel7(station / "hls", packets=2000)  # 376 KB segments: loopback's buffers hold MBs
    channel.add(3)
    clock["now"] = channel.on_air_at(1)
    server = running(max_backlog=256 * 1024)
    _, _, slow = tune(server.port, receive_buffer=4096)  # never reads
    _, _, fast = tune(server.port)
    reader = server.run(lambda: server.server.hub.readers["7"])
    received = read_exactly(fast, sum(len(data) for data in channel.written[1:3]))
    for _ in range(40):
        channel.add()
        received += read_exactly(fast, len(channel.written[-1]))

    assert received == b"".join(channel.written[1:])
    wait_until(lambda: server.run(lambda: len(reader.viewers)) == 1)
    slow.settimeout(5)
    assert len(read_to_end(slow)) < sum(len(data) for data in channel.written[1:])  # cut off, not served
    slow.close()
    fast.close()


def test_an_open_stream_ends_when_the_viewer_may_no_longer_watch(station, clock, running):
    channel = Channel7(station / "hls")
    channel.add(3)
    clock["now"] = channel.on_air_at(1)
    allowed = {"7": True}
    server = running(recheck_seconds=0.05)
    server.server.access.ask = lambda number, token: Decision(200 if allowed[number] else 403)
    server.server.access.cache_seconds = 0
    _, _, viewer = tune(server.port)
    read_exactly(viewer, 2 * len(channel.written[0]))

    allowed["7"] = False
    assert read_to_end(viewer) == b""  # the server closed it: not running on for hours
    wait_until(lambda: server.run(lambda: server.server.hub.viewer_counts()) == {})


def test_all_tuners_busy_answers_503_on_the_tuner_path_and_a_freed_tuner_is_reused(
    station, clock, running, settings
):
    settings.RETROVUE_HDHR_TUNER_COUNT = 1
    channel = Channel7(station / "hls")
    channel.add(3)
    server = running()
    status, _, first = tune(server.port, "/hdhr/st_tuner/iptv/channel/7.ts")
    assert status == "HTTP/1.1 200 OK"
    status, head, second = tune(server.port, "/hdhr/st_tuner/iptv/channel/7.ts")
    assert status == "HTTP/1.1 503 Service Unavailable" and "Retry-After: 10" in head
    status, _, plain = tune(server.port)  # an IPTV player's stream holds no tuner
    assert status == "HTTP/1.1 200 OK"
    second.close()
    first.close()
    wait_until(lambda: (slot := acquire_tuner()) is not None and (slot.release() or True))
    plain.close()


def test_a_full_server_answers_503(station, clock, running):
    Channel7(station / "hls").add(3)
    server = running(max_viewers=2)
    viewers = [tune(server.port) for _ in range(3)]
    assert [status for status, _, _ in viewers] == ["HTTP/1.1 200 OK"] * 2 + [
        "HTTP/1.1 503 Service Unavailable"
    ]
    for _, _, viewer in viewers:
        viewer.close()


def test_anything_but_a_channel_stream_is_404_and_a_bad_request_400(station, running):
    server = running()
    assert tune(server.port, "/iptv/channel/7.m3u8")[0] == "HTTP/1.1 404 Not Found"
    assert tune(server.port, "/iptv/channel/../../etc/passwd.ts")[0] == "HTTP/1.1 404 Not Found"
    viewer = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    viewer.sendall(b"NONSENSE\r\n\r\n")
    assert read_to_end(viewer).startswith(b"HTTP/1.1 400 Bad Request")


# --- Django's answer, from the fan-out server's threads -------------------------------------------


@pytest.mark.django_db(transaction=True)  # the checks run on the server's own threads and connections
def test_the_fan_out_asks_django_and_a_revoked_token_ends_the_stream(station, clock, settings):
    settings.RETROVUE_REQUIRE_STREAM_TOKEN = True
    Channel.objects.create(number="7", name="Seven", time_zone="UTC")
    channel = Channel7(station / "hls")
    channel.add(3)
    clock["now"] = channel.on_air_at(1)
    row, token = StreamToken.issue("tuner")
    server = make_server(clock, ask=decide, recheck_seconds=0.05)
    server.server.access.cache_seconds = 0
    try:
        assert tune(server.port, "/iptv/channel/7.ts")[0] == "HTTP/1.1 403 Forbidden"
        assert tune(server.port, f"/iptv/channel/8.ts?token={token}")[0] == "HTTP/1.1 404 Not Found"
        status, _, viewer = tune(server.port, f"/hdhr/{token}/iptv/channel/7.ts")
        assert status == "HTTP/1.1 200 OK"
        read_exactly(viewer, len(channel.written[0]))

        StreamToken.objects.filter(pk=row.pk).update(revoked=True)
        read_to_end(viewer)  # returns: the stream ended
        Channel.objects.filter(number="7").update(enabled=False)
        assert tune(server.port, f"/hdhr/{token}/iptv/channel/7.ts")[0] == "HTTP/1.1 403 Forbidden"
    finally:
        server.stop()
        shut_down(server.server.access.executor, 2)


@pytest.mark.django_db(transaction=True)
def test_a_disabled_channel_ends_its_open_streams(station, clock, settings):
    Channel.objects.create(number="7", name="Seven", time_zone="UTC")
    channel = Channel7(station / "hls")
    channel.add(3)
    server = make_server(clock, ask=decide, recheck_seconds=0.05)
    server.server.access.cache_seconds = 0
    try:
        _, _, viewer = tune(server.port)
        read_exactly(viewer, len(channel.written[0]))
        Channel.objects.filter(number="7").update(enabled=False)
        read_to_end(viewer)
    finally:
        server.stop()
        shut_down(server.server.access.executor, 2)


# --- Viewer counts ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_counts_from_several_machines_add_up_and_a_silent_machine_stops_counting(station, clock, running):
    seven = Channel.objects.create(number="7", name="Seven", time_zone="UTC")
    channel = Channel7(station / "hls")
    channel.add(3)
    server = running()
    viewers = [tune(server.port)[2] for _ in range(3)]
    wait_until(lambda: server.run(server.server.hub.viewer_counts) == {"7": 3})
    for address in ("10.0.0.5", "10.0.0.6"):
        server.server.hls_clients.saw("7", address)

    publish_counts("box-a:ts-fanout", server.server)  # this machine: 3 TS, 2 HLS
    viewer_counts.publish("box-b:ts-fanout", ViewerKind.HLS, {"7": 4})  # another machine
    assert viewers_by_channel()[seven.pk] == viewer_counts.ChannelViewers(hls=6, ts=3)

    later = viewer_counts.timezone.now() + timedelta(seconds=viewer_counts.STALE_SECONDS + 1)
    assert viewers_by_channel(later) == {}  # nobody refreshed: machines that died count nobody
    for viewer in viewers:
        viewer.close()


def test_hls_viewers_are_distinct_recent_clients_from_nginx_log_lines():
    now = [100.0]
    clients = RecentClients(recent_seconds=12, clock=lambda: now[0])
    log = HlsRequestLog(clients)
    for line in (
        b"<190>Dec  5 11:00:00 nginx: hls-viewer 7 10.0.0.5 VLC/3.0",
        b"<190>Dec  5 11:00:02 nginx: hls-viewer 7 10.0.0.5 VLC/3.0",  # the same player again
        b"<190>Dec  5 11:00:02 nginx: hls-viewer 7 10.0.0.5 Lavf/60",  # another player, same address
        b"<190>Dec  5 11:00:02 nginx: hls-viewer 12.1 10.0.0.9 Kodi",
        b"<190>Dec  5 11:00:02 nginx: something else entirely",
    ):
        log.datagram_received(line, ("127.0.0.1", 9))
    assert clients.counts() == {"7": 2, "12.1": 1}
    now[0] += 13
    assert clients.counts() == {}


@pytest.mark.django_db
def test_the_embedded_web_server_counts_hls_viewers_by_the_segments_they_fetch(station):
    from django.test import Client

    from playout.viewer_counts import web_tally

    web_tally().hls = RecentClients()  # nothing left from another test's requests in this process
    seven = Channel.objects.create(number="7", name="Seven", time_zone="UTC")
    Channel7(station / "hls").add(2)
    for player in ("VLC/3.0", "Kodi/21", "VLC/3.0"):
        assert Client(HTTP_USER_AGENT=player).get("/hls/7/run-000001.ts").status_code == 200
    web_tally().publish()
    assert viewers_by_channel()[seven.pk].hls == 2  # two players, one of them twice


# --- A channel airing on another machine (the TS half of the front door) ----------------------------


class Origin:
    """Another playout machine's origin (deploy/nginx-origin.conf) as a stand-in: its HLS root
    served on /hls/."""

    def __init__(self, root: Path):
        self.root = root
        handler = partial(QuietFiles, directory=str(root))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def origin(tmp_path):
    origins = []

    def start() -> Origin:
        origins.append(Origin(tmp_path / "machine-b"))
        return origins[-1]

    yield start
    for each in origins:
        each.stop()


def airing(where: dict):
    async def origin_of(number: str) -> str | None:
        return where.get(number)

    return origin_of


def test_a_channel_airing_on_another_machine_is_read_from_its_origin(station, clock, origin):
    machine_b = origin()
    channel = Channel7(machine_b.root / "hls", place=2)  # nothing of channel 7 on this machine
    channel.add(3)
    clock["now"] = channel.on_air_at(1)
    server = make_server(clock, origin_of=airing({"7": machine_b.url}))
    try:
        viewers = [tune(server.port) for _ in range(3)]
        assert all(status == "HTTP/1.1 200 OK" for status, _, _ in viewers)
        channel.add(2)
        expected = b"".join(channel.written[1:5])
        assert all(read_exactly(viewer, len(expected)) == expected for _, _, viewer in viewers)
        assert server.server.hub.readers_started == 1
        assert server.run(lambda: server.server.hub.readers["7"].files_opened) == 4  # once, for three
        for _, _, viewer in viewers:
            viewer.close()
    finally:
        server.stop()


def test_a_channel_moving_between_machines_continues_with_the_next_media_sequence(station, clock, origin):
    machine_b = origin()
    where: dict[str, str] = {}
    here = Channel7(station / "hls")
    here.add(3)
    clock["now"] = here.on_air_at(1)
    server = make_server(clock, origin_of=airing(where))
    try:
        _, _, viewer = tune(server.port)
        received = read_exactly(viewer, 2 * len(here.written[1]))  # segments 1 and 2, from here

        # A takeover: machine B continues the media sequence (its window starts before our next).
        there = Channel7(machine_b.root / "hls", first_msn=2, place=2)
        there.add(3)  # 2 (already sent from here), 3, 4
        where["7"] = machine_b.url
        received += read_exactly(viewer, 2 * len(there.written[3]))

        # And back: this machine airs it again from 5 (its stale playlist replaced, as the docs say).
        back = Channel7(station / "hls", first_msn=5, place=1)
        back.add(2)
        del where["7"]
        received += read_exactly(viewer, 2 * len(back.written[5]))

        expected = b"".join([here.written[1], here.written[2], there.written[3], there.written[4]])
        assert received == expected + back.written[5] + back.written[6]  # nothing repeated or skipped
        viewer.close()
    finally:
        server.stop()


def test_a_dead_origin_ends_the_streams_after_give_up_like_a_stalled_channel(station, clock, origin):
    machine_b = origin()
    channel = Channel7(machine_b.root / "hls", place=2)
    channel.add(3)
    clock["now"] = channel.on_air_at(1)
    server = make_server(clock, origin_of=airing({"7": machine_b.url}), give_up_seconds=0.5)
    try:
        _, _, viewer = tune(server.port)
        read_exactly(viewer, 2 * len(channel.written[1]))
        pause = threading.Event()
        for _ in range(4):  # longer than give_up in all: an origin that answers keeps the stream
            pause.wait(0.2)
            channel.add()
            assert read_exactly(viewer, len(channel.written[-1])) == channel.written[-1]
        machine_b.stop()  # the machine is gone and the lease not yet moved: nothing answers
        viewer.settimeout(10)
        assert read_to_end(viewer) == b""  # the server ended the stream
        wait_until(lambda: server.run(lambda: dict(server.server.hub.readers)) == {})
    finally:
        server.stop()


def test_the_origin_client_follows_no_redirect_and_caps_what_it_reads(station, origin):
    machine_b = origin()
    Channel7(machine_b.root / "hls").add(3)
    playlist = (machine_b.root / "hls" / "7" / hls.PLAYLIST_NAME).read_bytes()

    async def get(path: str, limit: int) -> bytes:
        return await http_get(machine_b.url, path, limit)

    assert asyncio.run(get("/hls/7/index.m3u8", 4096)) == playlist
    with pytest.raises(ValueError, match="301"):
        asyncio.run(get("/hls/7", 4096))  # the stand-in redirects a folder to its slash: not followed
    with pytest.raises(ValueError, match="body"):
        asyncio.run(get("/hls/7/index.m3u8", len(playlist) - 1))
    assert asyncio.run(OriginSource(machine_b.url, "7").segment("../../etc/passwd")) is None


@pytest.mark.django_db(transaction=True)  # asked on the lookup's own thread and connection
def test_the_reader_asks_django_where_the_channel_airs_once_a_second_and_keeps_it_if_the_database_fails(
    settings,
):
    settings.RETROVUE_PLAYOUT_ORIGIN = "http://box-a:8081"  # this machine
    seven = Channel.objects.create(number="7", name="Seven", time_zone="UTC")
    PlayoutWorker.objects.create(worker_id="box-b", capacity=1, origin="http://box-b:8081")
    runtime = ChannelRuntime.objects.create(
        channel=seven, lease_owner="box-b", lease_expires_at=timezone.now() + timedelta(seconds=8)
    )
    executor = ThreadPoolExecutor(1)
    lookup = OriginLookup(executor, cache_seconds=60)

    async def ask_many() -> list[str | None]:
        return await asyncio.gather(*(lookup.origin("7") for _ in range(20)))

    try:
        assert asyncio.run(ask_many()) == ["http://box-b:8081"] * 20
        assert lookup.questions_asked == 1  # twenty askers, one question
        lookup.cache_seconds = 0
        runtime.lease_owner = ""
        runtime.save()
        assert asyncio.run(lookup.origin("7")) is None  # nobody else airs it: this machine's disk

        def database_down(number: str):
            raise ConnectionError("database away")

        runtime.lease_owner = "box-b"
        runtime.save()
        assert asyncio.run(lookup.origin("7")) == "http://box-b:8081"
        lookup.ask = database_down
        assert asyncio.run(lookup.origin("7")) == "http://box-b:8081"  # the last answer holds
    finally:
        shut_down(executor, 1)
