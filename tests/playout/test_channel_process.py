"""The channel process: the feed (what airs next, cut and paced), the live playlist, the supervisor
with its leases and restarts, and one end-to-end run of a real channel (ffmpeg, the feed, the HLS
and MPEG-TS endpoints) checked with the shared HLS and TS checkers."""

from __future__ import annotations

import io
import itertools
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from catalog.models import MediaFile
from playout import ffmpeg_commands as commands
from playout.channel_process import (
    ChannelProcess,
    channel_ffmpeg_argv,
    concat_list_text,
    parse_segment_list,
)
from playout.feed import (
    ChannelFeed,
    Planner,
    find_cut,
    iter_gops,
    keyframes,
    parse_layout,
    slate_file,
    ts_delta,
)
from playout.feed_pipes import FeedServer
from playout.hls import LivePlaylist
from playout.models import AsRunEntry, ChannelRuntime, PregenPiece, PregenStatus, RuntimeState
from playout.supervisor import CRASH_LOOP_FAILURES, Supervisor, backoff_seconds, crash_loop_key
from retrovue.core.models import StaffNotice, StreamToken
from retrovue.subprocesses import run_command
from scheduling.models import Channel, Piece, ProgramEntry, StreamProfile
from tests.deploy import nginx_runner
from tests.factories import EpisodeFactory

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TOOLS = PROJECT_ROOT / "tests" / "tools"
SEGMENT = 2


def ffmpeg(*arguments: str, timeout: float = 60) -> None:
    run_command(
        [settings.RETROVUE_FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *arguments], timeout=timeout
    )


def ffprobe_json(target: str, *arguments: str) -> dict:
    completed = run_command(
        [settings.RETROVUE_FFPROBE, "-v", "error", *arguments, "-of", "json", target], timeout=30
    )
    return json.loads(completed.stdout)


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Source clips, each with its own colour and tone, to cut pieces from."""
    folder = tmp_path_factory.mktemp("clips")
    made = {}
    for name, color, tone in (("red", "red", 440), ("blue", "blue", 550), ("green", "green", 660)):
        path = folder / f"{name}.mp4"
        ffmpeg(
            "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=30:duration=12,drawbox=c={color}:t=30",
            "-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=48000:duration=12",
            "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(path),
        )  # fmt: skip
        made[name] = path
    return made


@pytest.fixture(scope="session")
def encoded(clips, tmp_path_factory) -> dict[tuple[str, int, int], Path]:
    """Pieces encoded the way pre-generation encodes them, once per session: (clip, in, out) → file."""
    folder = tmp_path_factory.mktemp("encoded")
    profile = StreamProfile(
        width=320, height=240, frame_rate=Decimal("30"), video_bitrate_kbps=300, audio_bitrate_kbps=64,
        segment_seconds=SEGMENT,
    )  # fmt: skip
    made = {}
    for clip, in_ms, out_ms in (
        ("red", 0, 7000),
        ("blue", 1000, 6000),
        ("green", 0, 9000),
        ("red", 2000, 8000),
    ):
        output = folder / f"{clip}-{in_ms}-{out_ms}.ts"
        run_command(
            commands.pregen_argv(clips[clip], in_ms, out_ms, profile, None, output, preset="ultrafast"),
            timeout=60,
        )
        made[(clip, in_ms, out_ms)] = output
    return made


@pytest.fixture
def dirs(settings, tmp_path) -> Path:
    settings.HLS_ROOT = tmp_path / "hls"
    settings.DATA_DIR = tmp_path / "data"
    settings.RETROVUE_PREGEN_ROOT = str(tmp_path / "pregen")
    return tmp_path


def make_profile() -> StreamProfile:
    profile, _ = StreamProfile.objects.get_or_create(
        name="Test 320×240",
        defaults={
            "width": 320, "height": 240, "frame_rate": Decimal("30"), "video_bitrate_kbps": 300,
            "audio_bitrate_kbps": 64, "segment_seconds": SEGMENT,
        },
    )  # fmt: skip
    return profile


def make_channel(number: str = "7") -> Channel:
    return Channel.objects.create(
        number=number, name=f"Channel {number}", time_zone="UTC", stream_profile=make_profile()
    )


def item_for(path: Path | str, duration_ms: int = 12_000):
    item = EpisodeFactory(duration_ms=duration_ms)
    MediaFile.objects.create(
        playable=item, position=0, local_path=str(path), state="normal", duration_ms=duration_ms
    )
    return item


def ready(
    channel: Channel, item, in_ms: int, out_ms: int, source: Path | None = None, data: bytes | None = None
):
    """Register a READY pre-generated piece for this cut (its file copied into the store)."""
    row = PregenPiece.objects.create(
        playable=item, profile=channel.stream_profile, bug_key="", in_ms=in_ms, out_ms=out_ms,
        status=PregenStatus.READY, duration_ms=out_ms - in_ms,
    )  # fmt: skip
    relative = f"{row.profile_id}/{row.pk}.ts"
    target = Path(settings.RETROVUE_PREGEN_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data if data is not None else source.read_bytes())
    PregenPiece.objects.filter(pk=row.pk).update(path=relative)
    return row


def air(channel: Channel, start: datetime, item, in_ms: int, out_ms: int, kind: str = "content") -> Piece:
    stop = start + timedelta(milliseconds=out_ms - in_ms)
    program = ProgramEntry.objects.create(channel=channel, start=start, stop=stop, title="Program")
    return Piece.objects.create(
        channel=channel, program=program, sequence=0, start=start, stop=stop, kind=kind,
        playable=item, in_ms=in_ms, out_ms=out_ms,
    )  # fmt: skip


def keyframe_seconds(data: bytes) -> list[float]:
    layout = parse_layout(data[: 188 * 2048])
    found = list(keyframes(data, layout.video_pid))
    return [ts_delta(pts, found[0][1]) / 90_000 for _offset, pts in found]


# --- MPEG-TS handling -----------------------------------------------------------------------------


def test_layout_finds_the_video_and_audio_of_a_pregen_file(encoded):
    data = encoded[("red", 0, 7000)].read_bytes()
    layout = parse_layout(data[: 188 * 2048])
    assert layout.video_pid and len(layout.audio_pids) == 1
    assert len(layout.psi) >= 2 * 188  # PAT and PMT at least


def test_pregen_keyframes_sit_on_the_segment_grid(encoded):
    times = keyframe_seconds(encoded[("green", 0, 9000)].read_bytes())
    assert times == pytest.approx([0, 2, 4, 6, 8], abs=0.04)


def test_gops_split_a_file_at_its_keyframes_and_keep_every_packet(encoded):
    data = encoded[("red", 0, 7000)].read_bytes()
    layout = parse_layout(data[: 188 * 2048])
    gops = list(iter_gops(io.BytesIO(data), layout))
    assert [round(ts_delta(gop.pts, gops[0].pts) / 90_000, 1) for gop in gops] == [0, 2, 4, 6]
    assert sum(len(gop.data) for gop in gops) >= len(data) - 188 * 8  # only null packets may go


@pytest.mark.parametrize(
    ("offset_ms", "expected_ms"), [(0, 0), (900, 0), (1100, 2000), (3100, 4000), (8800, 8000)]
)
def test_a_tune_in_cut_lands_on_the_nearest_keyframe(encoded, offset_ms, expected_ms):
    path = encoded[("green", 0, 9000)]
    cut = find_cut(path, offset_ms)
    assert abs(cut.offset_ms - expected_ms) <= 40
    assert cut.byte_offset % 188 == 0


def test_bytes_from_a_cut_decode_from_their_first_frame(encoded, tmp_path):
    path = encoded[("green", 0, 9000)]
    cut = find_cut(path, 4000)
    data = path.read_bytes()
    layout = parse_layout(data[: 188 * 2048])
    handle = io.BytesIO(data)
    handle.seek(cut.byte_offset)
    cut_file = tmp_path / "cut.ts"
    cut_file.write_bytes(b"".join(gop.data for gop in iter_gops(handle, layout)))
    frames = ffprobe_json(
        str(cut_file),
        "-select_streams",
        "v:0",
        "-show_entries",
        "frame=key_frame,pict_type",
        "-read_intervals",
        "%+#1",
    )["frames"]
    assert frames[0]["key_frame"] == 1 and frames[0]["pict_type"] == "I"
    duration = float(ffprobe_json(str(cut_file), "-show_entries", "format=duration")["format"]["duration"])
    assert duration == pytest.approx(5.0, abs=0.1)
    run_command(
        [settings.RETROVUE_FFMPEG, "-v", "error", "-xerror", "-i", str(cut_file), "-f", "null", "-"],
        timeout=30,
    )


# --- Choosing what airs -----------------------------------------------------------------------------


@pytest.fixture
def channel(db, dirs) -> Channel:
    return make_channel()


def test_the_piece_airing_now_plays_from_its_pregen_file_at_the_nearest_keyframe(channel, clips, encoded):
    item = item_for(clips["green"])
    ready(channel, item, 0, 9000, encoded[("green", 0, 9000)])
    start = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    piece = air(channel, start, item, 0, 9000)
    planner = Planner(channel, slate=Path("/nonexistent/slate.ts"))

    at_start = planner.plan(start)
    assert (at_start.origin, at_start.piece, at_start.airs_at, at_start.byte_offset) == (
        "pregen",
        piece,
        start,
        0,
    )

    tuned_in = planner.plan(start + timedelta(seconds=3, milliseconds=100))
    assert tuned_in.origin == "pregen"
    assert tuned_in.airs_at == start + timedelta(seconds=4)  # tune in at 3.1 s: the 4 s keyframe
    assert tuned_in.duration == timedelta(seconds=5)
    assert tuned_in.byte_offset > 0


def test_a_cut_at_the_end_of_a_piece_moves_on_to_the_next(channel, clips, encoded):
    green, blue = item_for(clips["green"]), item_for(clips["blue"])
    ready(channel, green, 0, 9000, encoded[("green", 0, 9000)])
    ready(channel, blue, 1000, 6000, encoded[("blue", 1000, 6000)])
    start = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    air(channel, start, green, 0, 9000)
    second = air(channel, start + timedelta(seconds=9), blue, 1000, 6000)
    entry = Planner(channel, slate=Path("/x.ts")).plan(start + timedelta(seconds=8, milliseconds=900))
    assert (entry.piece, entry.airs_at, entry.byte_offset) == (second, second.start, 0)


def test_a_piece_not_ready_in_time_is_transcoded_live_from_its_file(channel, clips):
    item = item_for(clips["blue"])
    start = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    piece = air(channel, start, item, 1000, 6000)
    entry = Planner(channel, slate=Path("/x.ts")).plan(start + timedelta(seconds=2))
    assert (entry.origin, entry.piece, entry.airs_at) == ("live", piece, start + timedelta(seconds=2))
    argv = " ".join(entry.argv)
    assert "-ss 3.000" in argv and str(clips["blue"]) in argv and argv.endswith(" -")


def test_a_live_transcode_burns_in_the_channel_bug_like_pregen_does(channel, clips, tmp_path):
    bug = tmp_path / "bug.png"
    ffmpeg("-f", "lavfi", "-i", "color=c=white:s=40x20,format=rgba", "-frames:v", "1", str(bug))
    channel.bug_image.save("bug.png", ContentFile(bug.read_bytes()))
    channel.bug_corner, channel.bug_opacity = "top_left", Decimal("1.00")
    channel.save()
    start = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    air(channel, start, item_for(clips["blue"]), 1000, 6000)

    entry = Planner(channel, slate=Path("/x.ts")).plan(start + timedelta(seconds=2))
    assert entry.origin == "live"
    aired = tmp_path / "live.ts"
    aired.write_bytes(run_command(entry.argv, timeout=60).stdout)
    # The bug (a white box) sits 5% in from the top-left corner of the 320×240 frame; the clip is blue.
    corner = [settings.RETROVUE_FFMPEG, "-v", "error", "-i", str(aired), "-vf", "crop=2:2:20:14",
              "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"]  # fmt: skip
    assert run_command(corner, timeout=30).stdout[0] > 200


def test_a_missing_file_plays_the_slate_for_the_piece(channel):
    item = item_for("/nowhere/missing.mkv")
    start = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    piece = air(channel, start, item, 0, 4000)
    entry = Planner(channel, slate=Path("/srv/slate.ts")).plan(start)
    assert (entry.origin, entry.piece, entry.path, entry.duration) == (
        "slate",
        piece,
        Path("/srv/slate.ts"),
        timedelta(seconds=4),
    )
    assert entry.trim


def test_a_corrupt_pregen_file_is_not_aired(channel, clips):
    item = item_for("/nowhere/missing.mkv")
    ready(channel, item, 0, 4000, data=os.urandom(188 * 100))
    start = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    air(channel, start, item, 0, 4000)
    entry = Planner(channel, slate=Path("/srv/slate.ts")).plan(start + timedelta(seconds=1))
    assert entry.origin == "slate"
    assert "unplayable" in entry.note


def test_an_empty_schedule_plays_the_slate_until_the_next_piece(channel, clips):
    start = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    air(channel, start + timedelta(seconds=4), item_for(clips["red"]), 0, 7000)
    entry = Planner(channel, slate=Path("/srv/slate.ts")).plan(start)
    assert (entry.origin, entry.piece, entry.duration) == ("slate", None, timedelta(seconds=4))


def test_the_feed_continues_where_the_last_entry_ended_and_rejoins_after_a_stall(channel):
    segment = timedelta(seconds=SEGMENT)
    now = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    feed = ChannelFeed(
        channel, Planner(channel, slate=Path("/x.ts")), segment=segment, resume_at=now + 4 * segment
    )
    assert feed.next_cursor(now) == now + 4 * segment  # a normal lead: continue exactly there
    feed.cursor = now - segment * 2
    assert feed.next_cursor(now) == now  # fell behind (a stall): rejoin the schedule now
    feed.cursor = now + 10 * segment
    assert feed.next_cursor(now) == now  # far ahead (a clock change): rejoin too
    feed.cursor = None
    assert feed.next_cursor(now) == now


def serve_once(channel: Channel, at: datetime, tmp_path: Path) -> tuple[ChannelFeed, Path]:
    """Serve one entry the way ffmpeg asks for it, tuned in at `at`, without real-time waits."""
    calls = []

    def clock() -> datetime:  # the first reading picks the entry; after that everything is due
        calls.append(1)
        return at if len(calls) == 1 else at + timedelta(hours=1)

    planner = Planner(channel, slate=slate_file(channel.stream_profile))
    feed = ChannelFeed(channel, planner, segment=timedelta(seconds=SEGMENT), clock=clock)
    output = tmp_path / f"entry-{len(list(tmp_path.glob('entry-*')))}.ts"
    with output.open("wb") as sink:
        feed.serve(0, sink.write)
    return feed, output


def test_serving_a_tune_in_sends_the_piece_from_its_keyframe_and_moves_the_cursor_to_its_end(
    channel, clips, encoded, tmp_path
):
    item = item_for(clips["green"])
    ready(channel, item, 0, 9000, encoded[("green", 0, 9000)])
    start = timezone.now().replace(microsecond=0)
    piece = air(channel, start, item, 0, 9000)
    feed, output = serve_once(channel, start + timedelta(seconds=5, milliseconds=800), tmp_path)
    assert feed.anchor == start + timedelta(seconds=6) and feed.cursor == piece.stop
    assert keyframe_seconds(output.read_bytes()) == pytest.approx([0, 2], abs=0.04)
    entry = AsRunEntry.objects.get(channel=channel)
    assert (entry.origin, entry.piece, entry.actual_start, entry.actual_stop) == (
        "pregen",
        piece,
        start + timedelta(seconds=6),
        piece.stop,
    )


def test_a_file_that_turns_out_corrupt_is_replaced_by_the_slate_in_the_same_answer(channel, tmp_path):
    item = item_for("/nowhere/missing.mkv")
    ready(channel, item, 0, 4000, data=b"G" + os.urandom(188 * 50))
    start = timezone.now().replace(microsecond=0)
    piece = air(channel, start, item, 0, 4000)
    feed, output = serve_once(channel, start, tmp_path)
    assert feed.cursor == piece.stop
    duration = float(ffprobe_json(str(output), "-show_entries", "format=duration")["format"]["duration"])
    assert duration == pytest.approx(4.0, abs=0.1)  # the slate, cut to the piece's length
    origins = list(AsRunEntry.objects.filter(channel=channel).order_by("pk").values_list("origin", flat=True))
    assert origins == ["pregen", "slate"]


# --- The playlist and the ffmpeg command line ---------------------------------------------------------


def test_playlist_keeps_counters_and_marks_a_new_run():
    start = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    playlist = LivePlaylist(target_duration=2, next_msn=40)
    for index in range(3):
        playlist.append(f"a-{index}.ts", 2.0, start + timedelta(seconds=2 * index))
    playlist.append("b-0.ts", 2.0, start + timedelta(seconds=6), discontinuity=True)
    text = playlist.render()
    assert "#EXT-X-MEDIA-SEQUENCE:40" in text and "#EXT-X-TARGETDURATION:2" in text
    assert text.count("#EXT-X-PROGRAM-DATE-TIME:") == 4 and "#EXT-X-DISCONTINUITY\n" in text
    assert "2026-11-22T18:00:06.000+00:00" in text

    removed = playlist.trim(2)
    assert [segment.uri for segment in removed] == ["a-0.ts", "a-1.ts"]
    assert playlist.media_sequence == 42 and playlist.discontinuity_sequence == 0
    playlist.trim(1)  # the tagged segment is first now: its tag folds into the sequence number
    assert playlist.media_sequence == 43 and playlist.discontinuity_sequence == 1
    assert "#EXT-X-DISCONTINUITY\n" not in playlist.render()

    again = LivePlaylist.parse(playlist.render(), 2)
    assert (again.media_sequence, again.discontinuity_sequence, again.next_msn) == (43, 1, 44)
    assert again.segments[0].program_date_time == start + timedelta(seconds=6)


def test_channel_ffmpeg_copies_the_feed_and_cuts_a_segment_at_every_keyframe(tmp_path):
    argv = channel_ffmpeg_argv(
        ffmpeg="ffmpeg", concat_list=tmp_path / "feed.ffconcat", segment_pattern=tmp_path / "r-%06d.ts",
        segment_list=tmp_path / "r.csv",
    )  # fmt: skip
    text = " ".join(argv)
    assert "-f concat -safe 0" in text and "-c copy" in text and "-re" not in argv
    assert "-f segment" in text and "-segment_time 0.001" in text and "-individual_header_trailer 0" in text
    assert "-segment_list_type csv" in text
    listing = concat_list_text(["/tmp/retrovue-feed-x/a-0.ts", "/tmp/retrovue-feed-x/a-1.ts"])
    assert listing.splitlines() == [
        "ffconcat version 1.0",
        "file '/tmp/retrovue-feed-x/a-0.ts'",
        "option fpsprobesize 0",  # no frame-rate estimate per entry: a stream copy doesn't use it
        "file '/tmp/retrovue-feed-x/a-1.ts'",
        "option fpsprobesize 0",
    ]
    assert parse_segment_list("r-000000.ts,0.000000,2.000000\nr-000001.ts,2.000000,3.5\n")[1].end == 3.5


def write_window(channel: Channel, ends_at: datetime, *, first_msn: int = 50, tags: int = 0) -> LivePlaylist:
    folder = Path(settings.HLS_ROOT) / channel.number
    folder.mkdir(parents=True, exist_ok=True)
    playlist = LivePlaylist(target_duration=SEGMENT, next_msn=first_msn, discontinuity_sequence=4)
    for index in range(3):
        (folder / f"old-{index}.ts").write_bytes(b"G" * 188)
        moment = ends_at - timedelta(seconds=SEGMENT * (3 - index))
        playlist.append(f"old-{index}.ts", SEGMENT, moment, discontinuity=index == 1 and tags > 0)
    playlist.write(folder / "index.m3u8")
    return playlist


def test_a_restart_continues_a_recent_window(channel):
    write_window(channel, timezone.now() + timedelta(seconds=4))
    process = ChannelProcess(channel, server=None)
    process._restore_window(media_sequence=10, discontinuity_sequence=0)
    assert [segment.msn for segment in process.playlist.segments] == [50, 51, 52]
    assert process.playlist.next_msn == 53 and process.playlist.discontinuity_sequence == 4
    assert process.published


def test_a_stale_window_is_dropped_but_no_counter_goes_back(channel):
    write_window(channel, timezone.now() - timedelta(minutes=5), tags=1)
    process = ChannelProcess(channel, server=None)
    process._restore_window(media_sequence=10, discontinuity_sequence=0)
    assert process.playlist.segments == [] and process.playlist.next_msn == 53
    # The new run's first segment is a discontinuity after everything the old window held.
    assert process.playlist.discontinuity_sequence == 4 + 1 + 1


def test_the_runtime_row_wins_when_it_knows_of_later_segments(channel):
    write_window(channel, timezone.now() + timedelta(seconds=4))
    process = ChannelProcess(channel, server=None)
    process._restore_window(media_sequence=500, discontinuity_sequence=9)
    assert process.playlist.segments == [] and process.playlist.next_msn == 500
    assert process.playlist.discontinuity_sequence == 10


def test_sweep_deletes_old_unlisted_segments_only(channel):
    write_window(channel, timezone.now() + timedelta(seconds=4))
    process = ChannelProcess(channel, server=None)
    process._restore_window(media_sequence=0, discontinuity_sequence=0)
    folder = Path(settings.HLS_ROOT) / channel.number
    for name, age in (("gone-old.ts", 3600), ("fresh.ts", 5)):
        (folder / name).write_bytes(b"G")
        then = time.time() - age
        os.utime(folder / name, (then, then))
    old_listed = time.time() - 3600
    os.utime(folder / "old-0.ts", (old_listed, old_listed))
    process.sweep()
    assert sorted(path.name for path in folder.iterdir()) == [
        "fresh.ts",
        "index.m3u8",
        "old-0.ts",
        "old-1.ts",
        "old-2.ts",
    ]


def test_backoff_restarts_at_once_then_waits_longer_up_to_a_minute():
    assert [backoff_seconds(n) for n in (1, 2, 3, 4, 10)] == [0, 1, 2, 4, 60]


# --- Leases -----------------------------------------------------------------------------------------


def test_only_one_worker_takes_a_channel_and_another_takes_over_when_the_lease_expires(channel):
    first, second = Supervisor(worker_id="box-a"), Supervisor(worker_id="box-b")
    try:
        assert first.claim(channel)
        assert not second.claim(channel)
        ChannelRuntime.objects.filter(channel=channel).update(
            lease_expires_at=timezone.now() - timedelta(seconds=1)
        )
        assert second.claim(channel)
        assert ChannelRuntime.objects.get(channel=channel).lease_owner == "box-b"
    finally:
        first.server.stop()
        second.server.stop()


def test_a_worker_that_lost_its_lease_stops_the_channel_there(channel, monkeypatch):
    supervisor = Supervisor(worker_id="box-a", channel_numbers=[channel.number])
    stopped = []
    monkeypatch.setattr(ChannelProcess, "stop", lambda self, kill=False: stopped.append(self.number))
    try:
        supervisor.claim_channels()
        assert channel.pk in supervisor.slots
        ChannelRuntime.objects.filter(channel=channel).update(lease_owner="box-b")
        supervisor.renew_leases()
        assert channel.pk not in supervisor.slots and stopped == ["7"]
        assert ChannelRuntime.objects.get(channel=channel).lease_owner == "box-b"
    finally:
        supervisor.server.stop()


def test_max_channels_caps_what_one_worker_takes(db, dirs):
    for number in ("2", "3", "4"):
        make_channel(number)
    supervisor = Supervisor(worker_id="box-a", max_channels=2)
    try:
        supervisor.claim_channels()
        assert len(supervisor.slots) == 2
        assert ChannelRuntime.objects.filter(lease_owner="box-a").count() == 2
    finally:
        supervisor.server.stop()


def test_segment_counters_are_written_once_per_step_newest_first_and_only_where_the_lease_is_ours(db, dirs):
    """The supervisor writes every channel's counters at the end of its step in one statement: the
    values as they are then (not when the segments came in), the run marked on air, and a row
    whose lease another worker took meanwhile left alone."""
    ours, taken = make_channel("2"), make_channel("3")
    supervisor = Supervisor(worker_id="box-a")
    start = timezone.now()
    try:
        supervisor.claim_channels()
        ChannelRuntime.objects.filter(channel=taken).update(lease_owner="box-b", media_sequence=7)
        for slot in supervisor.slots.values():
            slot.process.process = subprocess.Popen(["true"])  # a run (already over: not polled here)
            slot.process.process.wait()
            slot.process.playlist.next_msn = 40
            slot.process.playlist.append("a.ts", 2.0, start)
            slot.on_air = True
            supervisor._record_segments(slot, first=True)
        for slot in supervisor.slots.values():  # more came in before the write
            slot.process.playlist.append("b.ts", 2.0, start + timedelta(seconds=2))
            slot.process._unpublished = True  # as poll(publish=False) leaves it
        assert ChannelRuntime.objects.get(channel=ours).media_sequence == 0  # nothing written yet
        playlist = Path(settings.HLS_ROOT) / "2" / "index.m3u8"
        assert not playlist.exists()  # published after the row, not before

        supervisor._write_segment_state()

        assert "b.ts" in playlist.read_text()

        row = ChannelRuntime.objects.get(channel=ours)
        assert (row.media_sequence, row.state) == (42, RuntimeState.ON_AIR)
        assert row.resume_at == start + timedelta(seconds=4) and row.last_segment_at is not None
        other = ChannelRuntime.objects.get(channel=taken)
        assert (other.lease_owner, other.media_sequence) == ("box-b", 7)
    finally:
        supervisor.server.stop()


def test_a_crash_looping_channel_backs_off_and_tells_staff_once(channel, settings, tmp_path, mailoutbox):
    broken = tmp_path / "broken-ffmpeg"
    broken.write_text("#!/bin/sh\necho 'no such codec' >&2\nexit 1\n")
    broken.chmod(0o755)
    settings.RETROVUE_FFMPEG = str(broken)
    settings.ADMINS = [("Ops", "ops@example.com")]
    supervisor = Supervisor(worker_id="box-a", channel_numbers=[channel.number])
    try:
        supervisor.claim_channels()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and supervisor.slots[channel.pk].failures < CRASH_LOOP_FAILURES + 1:
            supervisor.check_channel(supervisor.slots[channel.pk])  # step() minus its connection reset
            time.sleep(0.05)
    finally:
        supervisor.shutdown()

    runtime = ChannelRuntime.objects.get(channel=channel)
    assert runtime.consecutive_failures >= CRASH_LOOP_FAILURES + 1
    notice = StaffNotice.objects.get(key=crash_loop_key(channel), cleared_at__isnull=True)
    assert "Channel 7" in notice.title and "crash-looping" in notice.title
    assert notice.occurrences >= 2  # raised again by the next failure, counted, not duplicated
    assert len(mailoutbox) == 1 and "crash-looping" in mailoutbox[0].subject
    assert mailoutbox[0].to == ["ops@example.com"]


# --- The feed server ----------------------------------------------------------------------------------


def test_the_feeds_pipes_are_private_and_its_entries_take_them_in_turn(channel):
    server = FeedServer()
    server.start()
    try:
        feed = ChannelFeed(channel, Planner(channel, slate=Path("/x.ts")), segment=timedelta(seconds=2))
        server.register(feed)
        first, second = Path(server.url(feed, 0)), Path(server.url(feed, 1))
        assert first != second and server.url(feed, 2) == str(first) and server.url(feed, 3) == str(second)
        assert stat.S_IMODE(server.directory.stat().st_mode) == 0o700
        for pipe in (first, second):
            assert stat.S_ISFIFO(pipe.stat().st_mode) and stat.S_IMODE(pipe.stat().st_mode) == 0o600
    finally:
        server.stop()
    assert not server.directory.exists()


def test_a_killed_supervisors_pipe_folder_is_removed_by_the_next_one(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = tmp_path / f"retrovue-feed-{gone.pid}-abc"
    alive = tmp_path / f"retrovue-feed-{os.getpid()}-abc"
    for folder in (dead, alive):
        folder.mkdir()
        os.mkfifo(folder / "0123456789abcdef-0.ts")
    server = FeedServer()
    try:
        assert not dead.exists() and alive.exists()
        assert server.directory.parent == tmp_path and server.directory.name.startswith(
            f"retrovue-feed-{os.getpid()}-"
        )
    finally:
        server.stop()


def read_entry(path: str, timeout: float = 10) -> bytes:
    """Read one entry as ffmpeg does: open the pipe (which waits for the feed's thread), read to the end."""
    got = []

    def read() -> None:
        with open(path, "rb") as pipe:
            got.append(pipe.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    assert got, f"no entry from {path} within {timeout} s"
    return got[0]


def test_each_entry_is_one_pipe_from_open_to_end_of_file(channel, monkeypatch):
    served = []

    def serve(self, index, send):
        served.append(index)
        send(b"entry %d " % index)
        send(b"x" * 200_000)  # more than a default pipe holds

    monkeypatch.setattr(ChannelFeed, "serve", serve)
    server = FeedServer()
    server.start()
    try:
        feed = ChannelFeed(channel, Planner(channel, slate=Path("/x.ts")), segment=timedelta(seconds=2))
        server.register(feed)
        entries = [read_entry(server.url(feed, index)) for index in range(3)]
    finally:
        server.stop()
    assert served == [0, 1, 2]
    assert entries == [b"entry %d " % index + b"x" * 200_000 for index in range(3)]


def test_a_stopped_feed_ends_its_thread_and_gives_a_waiting_reader_an_empty_entry(channel, monkeypatch):
    """ffmpeg told to stop (SIGTERM) would otherwise wait for ever in its read of the next entry:
    reads from a pipe restart after a signal."""
    monkeypatch.setattr(ChannelFeed, "serve", lambda self, index, send: send(b"first"))
    server = FeedServer()
    server.start()
    try:
        feed = ChannelFeed(channel, Planner(channel, slate=Path("/x.ts")), segment=timedelta(seconds=2))
        server.register(feed)
        assert read_entry(server.url(feed, 0)) == b"first"
        thread = feed.pipes._thread
        server.unregister(feed)  # its thread waits to open the next pipe: it is let go
        assert read_entry(server.url(feed, 1)) == b""  # a reader that opens it now gets an empty entry
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert not Path(server.url(feed, 0)).exists() and not Path(server.url(feed, 1)).exists()
    finally:
        server.stop()


# --- End to end ---------------------------------------------------------------------------------------


def _get(url: str, timeout: float = 5) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


def _playlist(url: str) -> LivePlaylist | None:
    try:
        return LivePlaylist.parse(_get(url), SEGMENT)
    except (urllib.error.URLError, OSError):
        return None


def _wait(predicate, timeout: float, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def _production_front_serves_the_channel(live_server, settings, channel) -> None:
    """The shipped nginx config in front of the live channel, stream tokens on: nginx serves the real
    segments from the HLS root (after asking Django), Django serves the playlist with the token on
    every segment URI, and ffmpeg plays the channel through it."""
    binary = nginx_runner.nginx_binary()
    assert binary, "nginx is installed by bin/test"
    prefix = Path(settings.DATA_DIR) / "nginx"
    prefix.mkdir(parents=True)
    port = nginx_runner.free_port()
    conf = nginx_runner.render(
        prefix,
        port=port,
        upstream_port=int(live_server.url.rsplit(":", 1)[1]),
        hls_root=Path(settings.HLS_ROOT),
        stream_auth_rules="~^/hls/ on;",
    )
    front = nginx_runner.start(binary, prefix, conf, port)
    settings.RETROVUE_REQUIRE_STREAM_TOKEN = True
    _, token = StreamToken.issue("nginx e2e")
    try:
        playlist = f"http://127.0.0.1:{port}/hls/{channel.number}/index.m3u8"
        with pytest.raises(urllib.error.HTTPError) as refused:
            _get(playlist)
        assert refused.value.code in (401, 403)
        body = _get(f"{playlist}?token={token}")
        segment_uris = [line for line in body.splitlines() if line and not line.startswith("#")]
        assert segment_uris and all(uri.endswith(f"?token={token}") for uri in segment_uris)

        segment = f"http://127.0.0.1:{port}/hls/{channel.number}/{segment_uris[-1]}"
        with urllib.request.urlopen(segment, timeout=5) as response:
            assert response.headers["Content-Type"] == "video/mp2t"
            assert "max-age" in response.headers["Cache-Control"]
            assert response.read(1) == b"\x47"
        with pytest.raises(urllib.error.HTTPError) as refused:
            _get(segment.split("?")[0])
        assert refused.value.code in (401, 403)

        run_command(
            [settings.RETROVUE_FFMPEG, "-v", "error", "-xerror", "-t", "6", "-i", f"{playlist}?token={token}",
             "-f", "null", "-"],
            timeout=40,
        )  # fmt: skip
        # Segments came off the disk through nginx (no upstream), playlists through Django.
        log = (prefix / "access.log").read_text().splitlines()
        assert any('.ts HTTP/1.1" 200 ' in line and "upstream=-" in line for line in log), log
        assert any('.m3u8 HTTP/1.1" 200 ' in line and "upstream=0" in line for line in log), log
        assert not any(token in line for line in log)  # the access log keeps paths, never tokens
    finally:
        settings.RETROVUE_REQUIRE_STREAM_TOKEN = False
        front.stop()


@pytest.mark.e2e
def test_a_channel_airs_its_log_live_survives_a_killed_ffmpeg_and_serves_hls_and_ts(
    transactional_db, live_server, settings, dirs, clips, encoded
):
    channel = make_channel("7")
    red, blue, green = item_for(clips["red"]), item_for(clips["blue"]), item_for(clips["green"])
    missing, corrupt = item_for("/nowhere/missing.mkv"), item_for("/nowhere/corrupt.mkv")
    ready(channel, red, 0, 7000, encoded[("red", 0, 7000)])
    ready(channel, blue, 1000, 6000, encoded[("blue", 1000, 6000)])
    ready(channel, green, 0, 9000, encoded[("green", 0, 9000)])
    ready(channel, corrupt, 0, 3000, data=os.urandom(188 * 200))
    cycle = [
        (red, 0, 7000),  # pre-generated
        (blue, 1000, 6000),
        (missing, 0, 4000),  # no file anywhere: the slate
        (green, 0, 9000),
        (red, 2000, 6000),  # not pre-generated: transcoded live from the clip
        (corrupt, 0, 3000),  # a broken pre-generated file: the slate
    ]
    begin = timezone.now().replace(microsecond=0) - timedelta(seconds=3)
    start = begin
    pieces = []
    while start < begin + timedelta(minutes=3):
        for item, in_ms, out_ms in cycle:
            pieces.append(air(channel, start, item, in_ms, out_ms))
            start = pieces[-1].stop

    supervisor = Supervisor(worker_id="test-worker", channel_numbers=["7"], lease_seconds=30)
    runner = threading.Thread(target=supervisor.run, kwargs={"install_signal_handlers": False}, daemon=True)
    base = live_server.url
    playlist_url = f"{base}/hls/7/index.m3u8"
    started = time.monotonic()
    runner.start()
    checker = None
    try:
        first = _wait(lambda: _playlist(playlist_url), timeout=20)
        run_started_at = ChannelRuntime.objects.get(channel=channel).started_at
        assert first, "no playlist within 20 s"
        time_to_playlist = time.monotonic() - started
        print(f"\ntime to first playlist: {time_to_playlist:.2f} s ({len(first.segments)} segments)")
        assert time_to_playlist < 10

        # The shared HLS checker watches the whole run, a forced restart included.
        checker_env = dict(os.environ)
        checker = subprocess.Popen(
            [sys.executable, str(TOOLS / "hls_live_check.py"), playlist_url, "18"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=checker_env, start_new_session=True,
        )  # fmt: skip

        # MPEG-TS: 200, video/mp2t, first bytes well under 2 s, 188-byte packets.
        ts = run_command(
            [sys.executable, str(TOOLS / "tscheck.py"), f"{base}/iptv/channel/7.ts", "4"], timeout=30
        )
        report = ts.stdout.decode()
        print(report.strip())
        ttfb = float(report.split("ttfb=")[1].split("s")[0])
        assert ttfb < 2

        # ffmpeg reads 10 s of the playlist without a single error.
        run_command(
            [settings.RETROVUE_FFMPEG, "-v", "error", "-xerror", "-live_start_index", "0", "-t", "10",
             "-i", playlist_url, "-f", "null", "-"],
            timeout=40,
        )  # fmt: skip

        # kill -9 the channel's ffmpeg: a new segment within 5 s, the sequence continuing.
        before = _playlist(playlist_url)
        last_msn = before.segments[-1].msn
        pid = supervisor.slots[channel.pk].process.pid
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        after = _wait(
            lambda: (p := _playlist(playlist_url)) and p.segments[-1].msn > last_msn and p, timeout=8
        )
        recovery = time.monotonic() - killed
        print(f"new segment {recovery:.2f} s after kill -9")
        assert after and recovery < 5
        assert supervisor.slots[channel.pk].process.pid != pid
        assert after.media_sequence >= before.media_sequence
        new = [segment for segment in after.segments if segment.msn > last_msn]
        assert new[0].msn == last_msn + 1 and new[0].discontinuity
        # The new run resumes where the last published segment ended: nothing repeated or skipped.
        previous = next(segment for segment in after.segments if segment.msn == last_msn)
        assert abs((new[0].program_date_time - previous.ends_at).total_seconds()) < 0.1

        output, _ = checker.communicate(timeout=40)
        print(output.decode().strip())
        assert checker.returncode == 0, output.decode()

        _production_front_serves_the_channel(live_server, settings, channel)

        final = _playlist(playlist_url)
        assert all(segment.program_date_time for segment in final.segments)
        assert "#EXT-X-PROGRAM-DATE-TIME" in _get(playlist_url)

        runtime = ChannelRuntime.objects.get(channel=channel)
        assert runtime.state == RuntimeState.ON_AIR and runtime.restarts == 1
        # The row is written just before each playlist goes out, so a segment can come between
        # reading one and the other: between segments they agree.
        assert _wait(
            lambda: (
                ChannelRuntime.objects.get(channel=channel).media_sequence == _playlist(playlist_url).next_msn
            ),
            timeout=3 * SEGMENT,
        ), (ChannelRuntime.objects.get(channel=channel).media_sequence, _playlist(playlist_url).next_msn)

        # What aired is what the log says, when it says: whole pre-generated pieces start on time,
        # each origin was used, and segment times land on the pieces' starts.
        as_run = list(AsRunEntry.objects.filter(channel=channel).order_by("actual_start"))
        assert {entry.origin for entry in as_run} >= {"pregen", "slate", "live"}
        resumed_at = new[0].program_date_time  # the restarted run joins its piece there
        whole = [
            entry
            for entry in as_run
            if entry.origin == "pregen"
            and entry.actual_start > as_run[0].actual_start
            and abs((entry.actual_start - resumed_at).total_seconds()) >= 0.1
        ]
        assert whole and all(entry.actual_start == entry.scheduled_start for entry in whole)
        # The dead run's rows end where its last published segment did: the log never overlaps (by
        # more than the frame the stream clock and the piece's start may differ by).
        ordered = sorted(
            as_run, key=lambda entry: (entry.actual_start, entry.actual_stop or entry.actual_start)
        )
        for earlier, later in itertools.pairwise(ordered):
            assert earlier.actual_stop is not None, earlier
            assert earlier.actual_stop <= later.actual_start + timedelta(seconds=0.1), (earlier.pk, later.pk)
        starts = {segment.program_date_time for segment in final.segments}
        boundaries = [
            piece.start
            for piece in pieces
            if final.segments[1].program_date_time <= piece.start < final.segments[-1].program_date_time
        ]
        assert boundaries
        for boundary in boundaries:
            assert min(abs((moment - boundary).total_seconds()) for moment in starts) < 0.1, boundary
        # Tuned in at start: the schedule's position then, within a segment.
        assert abs((as_run[0].actual_start - run_started_at).total_seconds()) <= SEGMENT
    finally:
        if checker is not None and checker.poll() is None:
            os.killpg(checker.pid, signal.SIGKILL)
            checker.wait()
        supervisor.stopping.set()
        runner.join(timeout=20)
    assert not runner.is_alive()
    assert ChannelRuntime.objects.get(channel=channel).lease_owner == ""
