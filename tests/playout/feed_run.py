"""The channel's real ffmpeg reading the real feed for a whole (short) schedule at once.

The feed's clock stands at the schedule's start and its lead covers the whole schedule, so every
entry goes out as fast as ffmpeg reads it: a test sees in seconds how pieces join on the air."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings

from playout.channel_process import CutSegment, channel_ffmpeg_argv, concat_list_text, parse_segment_list
from playout.feed import ChannelFeed, Planner, slate_file
from playout.feed_pipes import FeedServer


@dataclass
class FeedRun:
    channel_run: subprocess.CompletedProcess
    feed: ChannelFeed
    out: Path  # the segments, as the channel's ffmpeg cut them
    segments: list[CutSegment]
    joined: Path  # the segments end to end: the channel's transport stream

    @property
    def errors(self) -> str:
        return self.channel_run.stderr.decode("utf-8", "replace")


def air_at_once(channel, profile, *, start: datetime, stop: datetime, entries: int, segment_seconds: int,
                tmp_path: Path) -> FeedRun:  # fmt: skip
    """Air `entries` entries of the channel's log from `start` (the schedule ends at `stop`)."""
    planner = Planner(channel, slate=slate_file(profile, tmp_path / "slates"))
    total = stop - start
    feed = ChannelFeed(
        channel, planner, segment=timedelta(seconds=segment_seconds),
        lead_segments=int(total.total_seconds()) + 10, clock=lambda: start,
    )  # fmt: skip
    server = FeedServer()
    server.start()
    server.register(feed)
    out = tmp_path / "out"
    out.mkdir()
    try:
        concat = tmp_path / "feed.ffconcat"
        concat.write_text(concat_list_text([server.url(feed, index) for index in range(entries)]))
        argv = channel_ffmpeg_argv(
            ffmpeg=settings.RETROVUE_FFMPEG, concat_list=concat, segment_pattern=out / "r-%06d.ts",
            segment_list=out / "r.csv",
        )  # fmt: skip
        channel_run = subprocess.run(argv, capture_output=True, timeout=120, check=False)
    finally:
        server.stop()
    list_file = out / "r.csv"
    segments = parse_segment_list(list_file.read_text()) if list_file.exists() else []
    joined = tmp_path / "channel.ts"
    joined.write_bytes(b"".join((out / cut.name).read_bytes() for cut in segments))
    return FeedRun(channel_run, feed, out, segments, joined)
