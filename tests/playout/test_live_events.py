"""Live events: a channel's slot fed by a live source, transcoded to the channel's profile, with the
"We'll be right back" slate while the source is gone, and the schedule again at the slot's end.

The end-to-end test publishes a generated stream over SRT on loopback (ffmpeg as the caller, the
channel's live input listening), runs the real supervisor, and watches the channel's HLS with
tests/tools/hls_live_check.py through all of it. Time is compressed to a one-minute slot (the
behaviour is the same at any length: the live entry runs until the piece's end);
RETROVUE_TEST_LIVE_SLOT_SECONDS=600 runs the issue's ten-minute slot, the source killed half-way."""

import os
import signal
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from playout import live_events
from playout.feed import LEAD_SEGMENTS, ChannelFeed
from playout.models import AsRunEntry
from playout.mpegts import Gop, TsLayout
from playout.planner import Entry
from playout.supervisor import Supervisor
from scheduling.live_sources import LiveSourceRefused, _checked
from scheduling.models import DeskEntry, Piece, ProgramEntry, StreamProfile
from tests.live_check import LiveCheck
from tests.playout.test_channel_process import (  # noqa: F401 (fixtures)
    SEGMENT,
    TOOLS,
    _playlist,
    _wait,
    air,
    clips,
    dirs,
    encoded,
    item_for,
    make_channel,
    ready,
)

SLOT = timedelta(seconds=int(os.environ.get("RETROVUE_TEST_LIVE_SLOT_SECONDS", "60")))


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_only_live_protocols_and_allowed_hosts_are_accepted(settings):
    settings.RETROVUE_LIVE_SOURCE_HOSTS = ["encoder.example", "10.0.0.0/24"]
    assert _checked("srt://encoder.example:9000?mode=caller") == "srt://encoder.example:9000?mode=caller"
    assert _checked("udp://10.0.0.7:1234")
    assert _checked("https://encoder.example/live/index.m3u8")
    for refused in (
        "file:///etc/passwd",
        "concat:srt://encoder.example:1|file:///etc/passwd",
        "subfile,,start,0,end,0,,:/etc/passwd",
        "hls+file:///tmp/x.m3u8",
        "data:text/plain,hi",
        "srt://elsewhere.example:9000",
        "rtmp://192.168.1.5/live",
        "http://encoder.example/a b",
        "",
    ):
        with pytest.raises(LiveSourceRefused):
            _checked(refused)
    settings.RETROVUE_LIVE_SOURCE_HOSTS = []
    with pytest.raises(LiveSourceRefused, match="RETROVUE_LIVE_SOURCE_HOSTS"):
        _checked("srt://encoder.example:9000")


def test_the_live_input_reads_only_its_own_protocols_and_encodes_to_the_profile():
    profile = StreamProfile(width=640, height=480, frame_rate=30, segment_seconds=2, video_bitrate_kbps=1500,
                            audio_bitrate_kbps=128)  # fmt: skip
    argv = live_events.live_input_argv("srt://127.0.0.1:9000?mode=listener", profile, ffmpeg="ffmpeg")
    assert argv[argv.index("-protocol_whitelist") + 1] == "srt,udp"
    assert argv[argv.index("-timeout") + 1] == "2000000"  # µs: a dead caller ends the read
    assert "-progress" in argv and argv[-1] == "-"
    assert argv[argv.index("-g") + 1] == "60" and "+cgop" in argv  # one closed GOP per segment
    assert "reconnect" not in " ".join(argv)  # reconnecting is the supervisor's job
    hls = live_events.live_input_argv("https://encoder.example/live.m3u8", profile, ffmpeg="ffmpeg")
    assert hls[hls.index("-protocol_whitelist") + 1] == "http,https,tcp,tls,crypto"
    assert hls[hls.index("-m3u8_hold_counters") + 1] == "3"


# --- timing across a loss, without real time ----------------------------------------------------------


def source_with_one_gop(now: list[float], arrived: float) -> live_events.LiveSource:
    """A LiveSource (its ffmpeg never started) holding one GOP that arrived at `arrived`."""
    source = live_events.LiveSource("srt://127.0.0.1:9000", [], gop_seconds=SEGMENT, clock=lambda: now[0])
    source.layout = TsLayout(video_pid=256, audio_pids=frozenset(), psi=b"psi")
    source._gops.append((1, Gop(pts=0, data=b"gop-1"), arrived))
    source._last_gop = source._last_progress = arrived
    return source


def test_a_live_source_counts_as_lost_once_its_next_gop_is_overdue_since_the_last_one_arrived():
    # The feed asks for the next GOP only when the last one was due, up to a segment after it
    # arrived: the next one's lateness counts from that arrival, or the slate would be late.
    now = [100.0]
    source = source_with_one_gop(now, arrived=100.0)
    gops = source.gops(still_on_air=lambda: True)
    assert next(gops).data == b"psigop-1"
    now[0] = 100.0 + SEGMENT + live_events.LATE_SECONDS + 0.01
    source._last_progress = now[0]  # the encode still reports output time: the GOP alone is late
    with pytest.raises(live_events.LiveSourceLost, match="no picture"):
        next(gops)
    assert source.just_lost and not source.delivering()


def test_a_live_gop_that_arrives_in_time_goes_out_and_a_stalled_encode_is_a_loss():
    now = [100.0]
    source = source_with_one_gop(now, arrived=100.0)
    gops = source.gops(still_on_air=lambda: True)
    next(gops)
    now[0] = 102.1
    source._gops.append((2, Gop(pts=SEGMENT * 90_000, data=b"gop-2"), 102.1))
    source._last_gop = source._last_progress = 102.1
    assert next(gops).data == b"gop-2"  # no program tables in front of the ones that follow
    now[0] = 102.1 + live_events.PROGRESS_STALL_SECONDS + 0.01  # the next GOP is not overdue yet
    with pytest.raises(live_events.LiveSourceLost, match="output time stands still"):
        next(gops)


def test_a_live_entry_takes_its_first_gop_when_it_is_due_not_when_it_is_asked_for(db):
    channel = make_channel("8")
    segment = timedelta(seconds=SEGMENT)
    asked = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)
    now = [asked]
    taken = []

    def clock():  # every reading moves on a second, so the feed's waits end at once
        now[0] += timedelta(seconds=1)
        return now[0]

    def newest_gops():
        taken.append(now[0])
        yield Gop(pts=0, data=b"x" * 188)

    class OneEntry:
        def plan(self, cursor):
            return Entry(origin=AsRunEntry.Origin.EVENT, airs_at=cursor, duration=timedelta(minutes=1),
                         trim=True, gops=newest_gops)  # fmt: skip

    # ffmpeg asks for the entry as soon as it has the last GOP of the one before: a segment early.
    lead = segment * LEAD_SEGMENTS
    airs_at = asked + lead + segment
    feed = ChannelFeed(channel, OneEntry(), segment=segment, resume_at=airs_at, clock=clock)
    feed.serve(0, lambda data: None)
    assert taken and taken[0] >= airs_at - lead
    assert feed.cursor == airs_at + timedelta(minutes=1)


class Publisher:
    """ffmpeg sending a generated picture and tone over SRT to the channel's listening input."""

    def __init__(self, port: int):
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 40) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.process = subprocess.Popen(
                [settings.RETROVUE_FFMPEG, "-hide_banner", "-loglevel", "error", "-re",
                 "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30,drawtext=text=LIVE:fontsize=40:x=10:y=10",
                 "-f", "lavfi", "-i", "sine=frequency=880:sample_rate=48000",
                 "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30",
                 "-c:a", "aac", "-f", "mpegts", f"srt://127.0.0.1:{self.port}?mode=caller&pkt_size=1316"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
            try:
                self.process.wait(timeout=3)  # refused: the listener isn't up yet
            except subprocess.TimeoutExpired:
                return  # connected and sending
        raise AssertionError("the publisher never connected")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.mark.e2e
def test_a_live_event_airs_its_source_shows_the_slate_when_it_drops_and_returns_to_the_schedule(
    transactional_db,
    live_server,
    settings,
    dirs,  # noqa: F811 (fixtures imported above)
    clips,  # noqa: F811
    encoded,  # noqa: F811
):
    settings.RETROVUE_LIVE_SOURCE_HOSTS = ["127.0.0.1"]
    channel = make_channel("7")
    red, blue, green = item_for(clips["red"]), item_for(clips["blue"]), item_for(clips["green"])
    ready(channel, red, 0, 7000, encoded[("red", 0, 7000)])
    ready(channel, blue, 1000, 6000, encoded[("blue", 1000, 6000)])
    ready(channel, green, 0, 9000, encoded[("green", 0, 9000)])
    cycle = [(red, 0, 7000), (blue, 1000, 6000), (green, 0, 9000)]
    port = free_udp_port()

    begin = timezone.now().replace(microsecond=0) - timedelta(seconds=3)
    live_start = begin + timedelta(seconds=24)
    live_stop = live_start + SLOT
    start = begin
    while start < live_start:
        for item, in_ms, out_ms in cycle:
            if start < live_start:
                start = air(channel, start, item, in_ms, out_ms).stop
    live_start = start  # the slot begins where the program before it ends
    live_stop = live_start + SLOT
    entry = DeskEntry.objects.create(channel=channel, kind=DeskEntry.Kind.LIVE, start=live_start, stop=live_stop,
                                     title="Election night", live_url=f"srt://127.0.0.1:{port}?mode=listener")  # fmt: skip
    program = ProgramEntry.objects.create(channel=channel, start=live_start, stop=live_stop, title="Election night",
                                          category="Live", desk_entry=entry)  # fmt: skip
    Piece.objects.create(channel=channel, program=program, sequence=0, start=live_start, stop=live_stop, kind="live",
                         in_ms=0, out_ms=60_000)  # fmt: skip
    start = live_stop
    while start < live_stop + timedelta(seconds=60):
        for item, in_ms, out_ms in cycle:
            start = air(channel, start, item, in_ms, out_ms).stop

    publisher = Publisher(port)
    supervisor = Supervisor(worker_id="live-test", channel_numbers=["7"], lease_seconds=30)
    runner = threading.Thread(target=supervisor.run, kwargs={"install_signal_handlers": False}, daemon=True)
    playlist_url = f"{live_server.url}/hls/7/index.m3u8"
    checker = None
    runner.start()
    try:
        assert _wait(lambda: _playlist(playlist_url), timeout=20), "no playlist within 20 s"
        checker = LiveCheck(playlist_url, (live_stop - timezone.now()).total_seconds() + 40)
        publisher.start()  # the channel's input listens from PREWARM before the slot

        # The slot opens on the live picture: within one segment of its start.
        first_live = _wait(
            lambda: (
                AsRunEntry.objects.filter(channel=channel, origin="event").order_by("actual_start").first()
            ),
            timeout=(live_start - timezone.now()).total_seconds() + 20,
        )
        assert first_live, list(AsRunEntry.objects.filter(channel=channel).values_list("origin", "error"))
        opened = (first_live.actual_start - live_start).total_seconds()
        print(f"\nlive picture from {opened:.2f} s into the slot")
        assert 0 <= opened <= SEGMENT

        # Kill the source mid-slot: the slate is on the air (listed in the playlist) within 6 s.
        kill_at = live_start + max(timedelta(seconds=14), SLOT / 2 - timedelta(seconds=16))
        _wait(lambda: timezone.now() > kill_at, timeout=(kill_at - timezone.now()).total_seconds() + 40)
        publisher.kill()
        killed = time.monotonic()

        def first_slate():
            # The as-run log lists newest first; the slate that follows the loss is the oldest one
            # (the next short slate starts as soon as ffmpeg has the first, before it is listed).
            return (
                AsRunEntry.objects.filter(channel=channel, origin="slate", scheduled_start=live_start)
                .order_by("actual_start")
                .first()
            )

        def slate_listed():
            slate = first_slate()
            listing = _playlist(playlist_url)
            # A segment starts at the slate (its PDT is the stream's clock, within a frame or two of the log's).
            edge = slate.actual_start - timedelta(seconds=0.5) if slate else None
            return bool(slate and listing and any(s.program_date_time >= edge for s in listing.segments))

        assert _wait(slate_listed, timeout=15, interval=0.1)
        slate_after = time.monotonic() - killed
        slate = first_slate()
        print(f"slate listed {slate_after:.2f} s after the source was killed ({slate.error})")
        assert slate_after <= 6
        assert "We'll be right back" not in slate.error  # the note says why, the card says the words

        # The source comes back: so does the live picture.
        publisher.start()
        returned = time.monotonic()
        back = _wait(
            lambda: (
                AsRunEntry.objects.filter(
                    channel=channel, origin="event", actual_start__gt=slate.actual_start
                )
                .order_by("actual_start")
                .first()
            ),
            timeout=30,
        )
        assert back, "the live picture did not come back"
        print(f"live again {time.monotonic() - returned:.2f} s after the source restarted")

        # At the slot's end the schedule resumes where it stands.
        after = _wait(
            lambda: (
                AsRunEntry.objects.filter(channel=channel, origin="pregen", scheduled_start__gte=live_stop)
                .order_by("actual_start")
                .first()
            ),
            timeout=(live_stop - timezone.now()).total_seconds() + 20,
        )
        assert after and abs((after.actual_start - live_stop).total_seconds()) < 0.1
        last_live = (
            AsRunEntry.objects.filter(channel=channel, origin="event").order_by("-actual_start").first()
        )
        assert abs((last_live.actual_stop - live_stop).total_seconds()) < SEGMENT

        # The checker saw the return: the playlist has moved two segments past the slot's end.
        assert _wait(
            lambda: (
                _playlist(playlist_url).segments[-1].program_date_time
                >= live_stop + timedelta(seconds=2 * SEGMENT)
            ),
            timeout=6 * SEGMENT,
        )
        assert checker.running, "the checker stopped before the return"
        print(checker.stop().strip())
    finally:
        publisher.kill()
        if checker is not None:
            checker.kill()
        supervisor.stopping.set()
        runner.join(timeout=20)
        live_events.stop_all()
    assert not runner.is_alive()
