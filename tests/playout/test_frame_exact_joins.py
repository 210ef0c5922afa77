"""Pieces join on the frame grid: a channel airing many short pre-generated pieces of lengths that
are no whole number of frames (29.97 fps) has no overlap and no gap at any join, so ffmpeg reports
no "non monotonically increasing dts" (issue 15, item 6).

The real feed serves the real channel ffmpeg (concat of feed URLs, stream copy, segment muxer);
a clock fixed at the first piece's start and a lead longer than the schedule let the feed release
everything at once, so the test takes seconds, not the pieces' air time.
"""

from __future__ import annotations

import itertools
import json
import subprocess
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.conf import settings

from playout import ffmpeg_commands as commands
from retrovue.subprocesses import run_command
from scheduling.models import Channel, StreamProfile
from tests.playout.feed_run import air_at_once
from tests.playout.test_channel_process import air, item_for, ready

T0 = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
SEGMENT = 1
# Cut lengths (ms) that fall between frames at 30000/1001 fps, aired in turn.
CUTS = [(0, 1001), (1001, 2235), (2235, 3752), (3752, 5718), (5718, 6900)]
PIECES = 24
DTS_COMPLAINT = "non monotonically increasing dts"


@pytest.fixture
def profile(transactional_db) -> StreamProfile:
    return StreamProfile.objects.create(
        name="NTSC tiny", width=160, height=120, frame_rate=Decimal("29.97"), video_bitrate_kbps=200,
        audio_bitrate_kbps=64, segment_seconds=SEGMENT,
    )  # fmt: skip


@pytest.fixture
def channel(settings, tmp_path, profile) -> Channel:
    settings.HLS_ROOT = tmp_path / "hls"
    settings.DATA_DIR = tmp_path / "data"
    settings.RETROVUE_PREGEN_ROOT = str(tmp_path / "pregen")
    return Channel.objects.create(number="9", name="Joins", time_zone="UTC", stream_profile=profile)


def _ffmpeg(*arguments: str) -> None:
    run_command(
        [settings.RETROVUE_FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *arguments], timeout=60
    )


@pytest.fixture
def schedule(channel, profile, tmp_path) -> list:
    """PIECES pieces back to back from T0, each a ready pre-generated cut of one NTSC source."""
    source = tmp_path / "source.mp4"
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30000/1001:duration=8",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=8",
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(source),
    )  # fmt: skip
    item = item_for(source, duration_ms=8000)
    for in_ms, out_ms in CUTS:
        output = tmp_path / f"cut-{in_ms}.ts"
        run_command(
            commands.pregen_argv(str(source), in_ms, out_ms, profile, None, output, preset="ultrafast"),
            timeout=60,
        )
        ready(channel, item, in_ms, out_ms, source=output)
    pieces, start = [], T0
    for number in range(PIECES):
        in_ms, out_ms = CUTS[number % len(CUTS)]
        pieces.append(air(channel, start, item, in_ms, out_ms))
        start = pieces[-1].stop
    return pieces


def test_pieces_join_on_the_frame_grid_without_overlap_or_gap(channel, profile, schedule, tmp_path):
    run = air_at_once(channel, profile, start=T0, stop=schedule[-1].stop, entries=PIECES,
                      segment_seconds=SEGMENT, tmp_path=tmp_path)  # fmt: skip
    channel_errors, joined = run.errors, run.joined
    assert run.channel_run.returncode == 0, channel_errors
    assert run.feed.status.entries == PIECES

    check = subprocess.run(
        [settings.RETROVUE_FFMPEG, "-v", "error", "-xerror", "-i", str(joined), "-f", "null", "-"],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    check_errors = check.stderr.decode("utf-8", "replace")

    assert DTS_COMPLAINT not in channel_errors, channel_errors
    assert DTS_COMPLAINT not in check_errors, check_errors
    assert check.returncode == 0, check_errors

    # Every video frame follows the one before by exactly one frame: no overlap, no gap, at any join.
    probe = run_command(
        [settings.RETROVUE_FFPROBE, "-v", "error", "-select_streams", "v:0", "-show_entries",
         "packet=pts", "-of", "json", str(joined)],
        timeout=60,
    )  # fmt: skip
    pts = [packet["pts"] for packet in json.loads(probe.stdout)["packets"]]
    steps = {later - earlier for earlier, later in itertools.pairwise(pts)}
    frame = 90_000 * 1001 // 30_000  # 3003 ticks of the 90 kHz clock
    assert steps == {frame}, sorted(steps)
    expected_frames = sum(
        commands.piece_timing(piece.out_ms - piece.in_ms, profile).frames for piece in schedule
    )
    assert len(pts) == expected_frames
