"""One channel on air: its feed, its long-lived ffmpeg, and the live playlist built from its output.

The ffmpeg reads the channel's feed (`playout.feed`) through the concat demuxer and only
stream-copies: every piece was encoded ahead of air with the channel's profile and a closed GOP of
one segment. Its output goes to the segment muxer, not the HLS muxer:

- `-segment_time` far below a GOP makes it cut at *every* keyframe. Keyframes sit on the segment
  grid of each piece, so segments are the pieces' GOPs: none is longer than the target duration,
  even where a piece ends on a short GOP (the HLS muxer cuts on a cumulative clock and would glue
  that short GOP to the next whole one, past the target duration), and every piece starts a
  segment, which is also where an alert can take over;
- `-individual_header_trailer 0` keeps one MPEG-TS muxer across segments, so continuity counters
  run on and segments concatenate into one clean transport stream (the `/iptv/channel/<n>.ts`
  endpoint serves exactly that), while each segment still starts with PAT/PMT;
- the CSV segment list tells, per finished segment, its file name and its start and end on the
  stream's timeline, which is all the playlist needs.

The playlist itself (`playout.hls.LivePlaylist`) is written here, atomically, once it holds three
target durations: a segment's program date-time is the schedule time of its first frame (the run's first entry
time plus its offset on the stream's clock), the media sequence continues from the channel's
runtime row (or from the playlist on disk, whichever is higher), and after an ffmpeg restart the
window keeps the previous run's segments, with `EXT-X-DISCONTINUITY` in front of the new run's
first one. A segment whose codec parameter sets differ from the one before (a smart-copied or
passed-through source between encoded pieces, see `playout.parameter_sets`) also gets one. The feed resumes exactly where the last published segment ended, so a restart neither
repeats nor skips what viewers have already been given.

Segment names are `<run token>-<n>.ts`: a new token per ffmpeg start, so no name repeats. A
segment leaves the disk only after it left the playlist and then stayed available for its own
duration plus the playlist's (RFC 8216 6.2.2), with some margin.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from playout import hls, interruptions
from playout.feed import LEAD_SEGMENTS, ChannelFeed, Planner, slate_file
from playout.feed_pipes import FeedServer
from playout.parameter_sets import HEAD_BYTES as PARAMETER_SETS_HEAD
from playout.parameter_sets import segment_parameter_sets
from retrovue.core.private_data import published_modes, published_umask
from retrovue.env import env_int
from retrovue.subprocesses import kill_process_group, start_process, stop_process
from scheduling.models import Channel

logger = logging.getLogger(__name__)

# Entries in the static concat list. Each is one piece (or up to 10 s of slate), so this lasts
# days; when ffmpeg reaches the end it exits cleanly and the supervisor starts the next run.
CONCAT_ENTRIES = 20_000
DEFAULT_LIST_SIZE = 10
# A first playlist holds at least this many target durations (clients need three to start).
MIN_DURATION_TO_PUBLISH = 3
# A new ffmpeg has this long to produce its first segment (the slate may be encoded first).
FIRST_SEGMENT_GRACE_SECONDS = 20
# No new segment for this many target durations: the run is stuck.
STALL_SEGMENTS = 3
STDERR_TAIL_CHARS = 2000
SWEEP_SECONDS = 60


def list_size() -> int:
    size = getattr(settings, "RETROVUE_HLS_LIST_SIZE", None)
    return int(size) if size is not None else env_int("RETROVUE_HLS_LIST_SIZE", DEFAULT_LIST_SIZE, minimum=6)


def lead_segments() -> int:
    """RETROVUE_PLAYOUT_LEAD_SEGMENTS: how far ahead of air the feed runs (see `playout.feed`)."""
    lead = getattr(settings, "RETROVUE_PLAYOUT_LEAD_SEGMENTS", None)
    return (
        int(lead) if lead is not None else env_int("RETROVUE_PLAYOUT_LEAD_SEGMENTS", LEAD_SEGMENTS, minimum=1)
    )


def work_root() -> Path:
    """Private files of the channel processes (their concat lists, ffmpeg's log): not served."""
    return Path(settings.DATA_DIR) / "playout" / "channels"


def channel_ffmpeg_argv(
    *, ffmpeg: str, concat_list: Path, segment_pattern: Path, segment_list: Path
) -> list[str]:
    """The channel's ffmpeg: the feed through the concat demuxer, copied, cut at every keyframe."""
    return [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "warning",
        "-protocol_whitelist",
        "file,http,tcp",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        str(concat_list),
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-c",
        "copy",
        "-f",
        "segment",
        "-segment_format",
        "mpegts",
        "-segment_time",
        "0.001",
        "-individual_header_trailer",
        "0",
        "-segment_list",
        str(segment_list),
        "-segment_list_type",
        "csv",
        str(segment_pattern),
    ]


# Options ffmpeg opens each entry with. The concat demuxer probes every entry it opens, and by
# default also reads frames to estimate the frame rate, which a stream copy does not use (output
# timestamps come from the packets): skipping that estimate cuts the channel ffmpeg's CPU by about a
# quarter (2,400 s of SD pieces over HTTP: 3.3 → 2.4 CPU-s) with byte-identical segments. Smaller
# probe sizes save a little more but warn on every entry ("could not find codec parameters").
ENTRY_OPTIONS = (("fpsprobesize", "0"),)


def concat_list_text(urls: list[str]) -> str:
    options = "".join(f"option {name} {value}\n" for name, value in ENTRY_OPTIONS)
    return "ffconcat version 1.0\n" + "".join(f"file '{url}'\n{options}" for url in urls)


@dataclass(frozen=True)
class CutSegment:
    """A finished segment as the segment muxer lists it: stream-clock seconds."""

    name: str
    start: float
    end: float


def parse_segment_list(text: str) -> list[CutSegment]:
    segments = []
    for line in text.splitlines():
        name, _, times = line.rpartition(",")
        name, _, start = name.rpartition(",")
        try:
            segments.append(CutSegment(name.strip('"'), float(start), float(times)))
        except ValueError:
            continue
    return segments


@dataclass(frozen=True)
class Handover:
    """What the worker that aired a channel last left in its runtime row for the next one."""

    tail_discontinuity: int = 0
    resume_at: datetime | None = None
    last_segment_at: datetime | None = None


class ChannelProcess:
    """One run-and-restart lifetime of a channel on this worker (the supervisor owns it)."""

    def __init__(
        self,
        channel: Channel,
        server: FeedServer,
        *,
        size: int | None = None,
        clock: Callable[[], datetime] = timezone.now,
    ):
        self.channel = channel
        self.number = channel.number
        self.server = server
        self.clock = clock
        self.segment_seconds = int(channel.stream_profile.segment_seconds)
        self.size = size or list_size()
        self.directory = hls.channel_dir(self.number)
        self.work = work_root() / str(channel.pk)
        self.playlist = hls.LivePlaylist(target_duration=self.segment_seconds)
        self.feed: ChannelFeed | None = None
        self.process: subprocess.Popen | None = None
        self.published = False
        self._log = None
        self._list_path: Path | None = None
        self._list_offset = 0
        self._run_origin: float | None = None
        self._discontinuity_next = False
        self._parameter_sets: bytes | None = None
        self._started = 0.0
        self._last_segment: float | None = None
        self._retired: list[tuple[float, Path]] = []
        self._warned_long = False
        self._next_sweep = 0.0
        self._file_mode: int | None = None  # the playlist's, worked out once per run
        self._unpublished = False  # segments taken in that the written playlist doesn't list yet

    # --- Starting --------------------------------------------------------------------------------

    def start(
        self,
        *,
        media_sequence: int = 0,
        discontinuity_sequence: int = 0,
        handover: Handover | None = None,
    ) -> None:
        """Start a run: restore the window, open a feed, start ffmpeg. Safe to call again after
        the previous run ended (that is a restart). `handover` is what the worker that aired the
        channel last (on another machine) left in the shared state."""
        self.directory.mkdir(parents=True, exist_ok=True)
        folder_mode, self._file_mode = published_modes(hls.hls_root())
        self.directory.chmod(folder_mode)  # nginx, another user, reads it
        self.work.mkdir(parents=True, exist_ok=True)
        self._restore_window(media_sequence, discontinuity_sequence)
        resume_at = self.playlist.segments[-1].ends_at if self.playlist.segments else None
        if handover is not None and not self.playlist.segments:
            resume_at = self._continue_elsewhere(handover)
            logger.info(
                "Channel %s: continuing from another worker at msn %s, schedule %s",
                self.number,
                self.playlist.next_msn,
                resume_at,
            )
        self.sweep()
        for stale_list in self.work.glob("*.csv"):
            stale_list.unlink(missing_ok=True)
        profile = self.channel.stream_profile
        # What would break in (an alert's stand-by card) is made now, in the background, rather than
        # by the first alert: an encode there would hold up every channel's break-in.
        interruptions.prepare(self.channel)
        planner = Planner(self.channel, slate_file(profile))
        segment = timedelta(seconds=self.segment_seconds)
        self.feed = ChannelFeed(
            self.channel,
            planner,
            segment=segment,
            resume_at=resume_at,
            lead_segments=lead_segments(),
            clock=self.clock,
        )
        self.server.register(self.feed)
        token = self.feed.token
        concat = self.work / "feed.ffconcat"
        urls = [self.server.url(self.feed, index) for index in range(CONCAT_ENTRIES)]
        descriptor = os.open(concat, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(concat_list_text(urls))
        self._list_path = self.work / f"{token}.csv"
        self._list_offset = 0
        self._run_origin = None
        self._discontinuity_next = bool(self.playlist.segments)
        argv = channel_ffmpeg_argv(
            ffmpeg=settings.RETROVUE_FFMPEG,
            concat_list=concat,
            segment_pattern=self.directory / f"{token}-%06d.ts",
            segment_list=self._list_path,
        )
        self._log = (self.work / "ffmpeg.log").open("wb")
        self._started = time.monotonic()
        self._last_segment = None
        self.process = start_process(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            umask=published_umask(hls.hls_root()),  # segments nginx serves (private in the data folder)
        )
        logger.info("Channel %s: ffmpeg started (pid %s, run %s)", self.number, self.process.pid, token)

    def _restore_window(self, media_sequence: int, discontinuity_sequence: int) -> None:
        """Continue the window (this worker's, else the playlist on disk) if it is recent; never
        let a counter go back. A stale window is dropped, and the first new segment then counts
        as a discontinuity after everything that was in it."""
        previous = self.playlist if self.playlist.segments else None
        previous = previous or hls.read_playlist(self.number, self.segment_seconds)
        playlist = hls.LivePlaylist(target_duration=self.segment_seconds)
        playlist.next_msn = max(media_sequence, previous.next_msn if previous else 0)
        playlist.discontinuity_sequence = max(
            discontinuity_sequence, previous.discontinuity_sequence if previous else 0
        )
        if previous is not None and previous.segments:
            recent = previous.segments[-1].ends_at > self.clock() - timedelta(
                seconds=2 * self.segment_seconds
            )
            intact = previous.next_msn == playlist.next_msn and all(
                (self.directory / segment.uri).is_file() for segment in previous.segments
            )
            if recent and intact:
                playlist.segments = previous.segments
                self.published = True
            else:
                tags = sum(segment.discontinuity for segment in previous.segments)
                playlist.discontinuity_sequence += tags + 1
                if previous.next_msn < media_sequence:
                    # Another worker aired the channel since: this disk's playlist is stale, and
                    # must not be served (the front door routes here now) until the new one is.
                    hls.playlist_path(self.number).unlink(missing_ok=True)
        self.playlist = playlist

    def _continue_elsewhere(self, handover: Handover) -> datetime | None:
        """Continue a channel another worker aired, with no window of it on this disk: the first
        segment here starts a new discontinuity after the other worker's newest one (its
        timestamps start over), its media sequence follows on (restored above from the shared
        row), and while clients may still be following the channel the playlist goes out with
        its first segment instead of waiting for three. The feed resumes the schedule where the
        other worker's last segment ended (if that is still near now; else at now)."""
        self.playlist.discontinuity_sequence = max(
            self.playlist.discontinuity_sequence, handover.tail_discontinuity + 1
        )
        followed_until = self.clock() - timedelta(seconds=self.size * self.segment_seconds)
        if handover.last_segment_at is not None and handover.last_segment_at >= followed_until:
            self.published = True
        return handover.resume_at

    # --- Running ---------------------------------------------------------------------------------

    def poll(self, *, publish: bool = True) -> list[hls.PlaylistSegment]:
        """Take in the segments ffmpeg finished since the last call; publish the playlist, or with
        `publish=False` leave that to `publish_pending` (the supervisor first writes the counters a
        takeover continues from, so they are never behind what clients were given)."""
        added = []
        for cut in self._new_cuts():
            if self._run_origin is None:
                self._run_origin = cut.start
            anchor = self.feed.anchor or self.clock()
            moment = anchor + timedelta(seconds=cut.start - self._run_origin)
            duration = max(cut.end - cut.start, 0.001)
            if round(duration) > self.segment_seconds and not self._warned_long:
                self._warned_long = True
                logger.warning(
                    "Channel %s: segment %s lasts %.3f s, over the %d s target (a piece's GOP is too long)",
                    self.number,
                    cut.name,
                    duration,
                    self.segment_seconds,
                )
            changed = self._parameters_changed(cut.name)
            added.append(
                self.playlist.append(
                    cut.name, duration, moment, discontinuity=self._discontinuity_next or changed
                )
            )
            self._discontinuity_next = False
        now = time.monotonic()
        if added:
            self._last_segment = now
            removed = self.playlist.trim(self.size)
            keep_for = self.playlist.duration + 2 * self.segment_seconds
            self._retired += [
                (now + segment.duration + keep_for, self.directory / segment.uri) for segment in removed
            ]
            if self.published or self.playlist.duration >= MIN_DURATION_TO_PUBLISH * self.segment_seconds:
                self._unpublished = True
                if publish:
                    self.publish_pending()
        while self._retired and self._retired[0][0] <= now:
            _, path = self._retired.pop(0)
            path.unlink(missing_ok=True)
        if now >= self._next_sweep:
            self.sweep()
        return added

    def publish_pending(self) -> None:
        """Write the playlist if segments were taken in since it was last written."""
        if self._unpublished:
            self._unpublished = False
            self.playlist.write(self.directory / hls.PLAYLIST_NAME, file_mode=self._file_mode)
            self.published = True

    def _parameters_changed(self, name: str) -> bool:
        """Whether this segment opens with other codec parameters than the segment before it (a
        piece encoded elsewhere, smart-copied or passed through): players need a discontinuity."""
        try:
            with (self.directory / name).open("rb") as handle:
                found = segment_parameter_sets(handle.read(PARAMETER_SETS_HEAD))
        except OSError:
            return False
        if found is None:
            return False
        changed = self._parameter_sets is not None and found != self._parameter_sets
        self._parameter_sets = found
        return changed

    def _new_cuts(self) -> list[CutSegment]:
        if self._list_path is None:
            return []
        try:
            # Asked every supervisor step, about eight times per segment: a stat says "nothing new"
            # for less than opening and reading the list.
            if os.stat(self._list_path).st_size <= self._list_offset:
                return []
            with self._list_path.open("rb") as handle:
                handle.seek(self._list_offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        complete = data[: data.rfind(b"\n") + 1]
        self._list_offset += len(complete)
        return parse_segment_list(complete.decode("utf-8", "replace"))

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def seconds_since_segment(self) -> float:
        return time.monotonic() - (self._last_segment or self._started)

    def stall_reason(self) -> str | None:
        """Why this run counts as stuck, or None."""
        if self._last_segment is None:
            waited = time.monotonic() - self._started
            if waited > FIRST_SEGMENT_GRACE_SECONDS:
                return f"no segment {waited:.0f} s after start"
            return None
        quiet = time.monotonic() - self._last_segment
        if quiet > STALL_SEGMENTS * self.segment_seconds:
            return f"no new segment for {quiet:.1f} s"
        return None

    def stderr_tail(self) -> str:
        try:
            with (self.work / "ffmpeg.log").open("rb") as handle:
                handle.seek(0, os.SEEK_END)
                handle.seek(max(0, handle.tell() - STDERR_TAIL_CHARS))
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return text.strip()

    # --- Stopping --------------------------------------------------------------------------------

    def stop(self, *, kill: bool = False) -> None:
        """End the run: the whole process group, at once (`kill`) or after SIGTERM and a grace."""
        if self.feed is not None:
            self.server.unregister(self.feed)
        if self.process is not None:
            if kill:
                kill_process_group(self.process)
                self.process.wait()
            else:
                stop_process(self.process, grace_seconds=3)
        self.poll()  # what was finished before the end still goes into the window
        if self._log is not None:
            self._log.close()
            self._log = None

    def withdraw_playlist(self) -> None:
        """The channel leaves this machine: its playlist here must not be served any more (the front
        door may route the channel here again later, before a new run has written a new one)."""
        hls.playlist_path(self.number).unlink(missing_ok=True)

    def sweep(self) -> None:
        """Delete what no playlist lists and no client can still want: segments of earlier runs or
        workers (written long enough ago) and left-over temp files. Runs at start and every
        `SWEEP_SECONDS`."""
        self._next_sweep = time.monotonic() + SWEEP_SECONDS
        listed = {segment.uri for segment in self.playlist.segments}
        cutoff = time.time() - 2 * self.size * self.segment_seconds - 60
        try:
            entries = list(self.directory.iterdir())
        except FileNotFoundError:
            return
        for path in entries:
            if path.name in listed or path.name == hls.PLAYLIST_NAME:
                continue
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except FileNotFoundError:
                continue


__all__ = ["ChannelProcess", "Handover", "channel_ffmpeg_argv", "parse_segment_list"]
