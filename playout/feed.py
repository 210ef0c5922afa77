"""The channel feed: what a channel's ffmpeg reads, one piece per entry, at the schedule's pace.

Each on-air channel runs one long-lived ffmpeg (`playout.channel_process`) whose input is the
concat demuxer over a list whose every entry is a URL of this feed. ffmpeg asks for entry n when it
has read entry n-1 to its end; the feed then decides what airs next *at that moment* from the fine
log (so an alert, a rebuilt schedule or a late pre-generation changes what airs at the very next
boundary) and streams those bytes back with chunked transfer encoding. With no length announced,
the concat demuxer times each entry by its last packet, so timestamps run on continuously from one
piece to the next.

Where the feed lives. It is served by the playout supervisor itself, through two named pipes per
channel run in a private folder (`playout.feed_pipes`), not by the web app: an entry lasts as long as the
piece airs (minutes), which would pin a web thread per channel, and a second playout box must feed
its own ffmpegs without depending on which web server answers. (It was a loopback HTTP server until
2026-12-05; `playout.feed_pipes` says why pipes cost less.)

Pacing. ffmpeg runs without `-re`; the feed releases each group of pictures (one GOP = one
segment, since every piece is encoded with a closed GOP of the segment length) when the wall clock
reaches the schedule time of that GOP minus a lead of `LEAD_SEGMENTS` segments. So:

- the channel airs what the log says at the time it says, piece by piece, with no drift between
  ffmpeg's clock and the schedule: each piece is paced against its own scheduled start;
- a new or restarted channel gets `LEAD_SEGMENTS` segments at once (the first segment is out in
  a fraction of a second), then one per segment length;
- a piece can be cut short at any GOP boundary (`ChannelFeed.interrupt`), which is how an alert
  takes over a channel without waiting for the end of a 22-minute act. While a GOP waits for its
  time the feed keeps asking `playout.interruptions` whether an alert starts or ends, and cuts
  before that GOP as soon as the answer changes: the first GOP it had not yet handed ffmpeg, so the
  alert's schedule time is at most the lead plus a segment after the request. The first two GOPs of
  what cuts in then go out at once, so ffmpeg lists the alert's first segment within a second or
  so instead of when its second GOP is due, and the lead comes back to normal over a few segments
  (`CATCH_UP_RECOVERY`). A player at the live edge shows the alert at its schedule time, so the
  lead bounds what a viewer waits; `RETROVUE_PLAYOUT_LEAD_SEGMENTS` shortens it.

What airs at each boundary is decided by `playout.planner` (pre-generated file, live transcode
or slate); the MPEG-TS parsing that cuts and paces those bytes is `playout.mpegts`.
"""

from __future__ import annotations

import logging
import secrets
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from playout import as_run, interruptions
from playout.mpegts import (
    HEAD_SIZE,
    LIVE_HEAD_SIZE,
    PTS_HZ,
    Cut,
    Gop,
    Prepended,
    TsError,
    TsLayout,
    align_audio_end,
    find_cut,
    iter_gops,
    keyframes,
    parse_layout,
    read_exactly,
    trim_gop,
    ts_delta,
)
from playout.planner import SLATE_CHUNK, START_TOLERANCE, Entry, Planner, slate_file
from retrovue.subprocesses import CommandError, start_process, stop_process
from scheduling.models import Channel

if TYPE_CHECKING:
    from playout.feed_pipes import _FeedPipes

logger = logging.getLogger(__name__)

# How far ahead of the wall clock the feed hands ffmpeg the stream, in segments. Three gives a new
# channel a playable playlist at once and lets a restarted ffmpeg publish its first segment in well
# under a second; and since players hold back three target durations from the live edge, a player
# then shows each frame at about the wall-clock time the log gives it. It is also how early "what
# plays next" is asked, and so roughly how long after it is issued an alert reaches the screen.
LEAD_SEGMENTS = 3
# While a GOP waits for its time, the feed asks this often whether an alert starts or ends (the
# answer comes from the interrupt source's cached snapshot, so asking is cheap), unless every
# interrupt source says when its answers change: then one thread per process asks that
# (`interruptions.WATCH`, as often) and wakes the waiting feeds when they may have, and a feed asks
# on its own only every `WATCHED_RECHECK_SECONDS` (a backstop; 100 channels polling at 10 Hz were
# 1,000 thread wake-ups a second).
INTERRUPT_POLL_SECONDS = 0.1
WATCHED_RECHECK_SECONDS = 1.0
# After such a cut, this many GOPs of what cuts in go out without waiting (see `_paced`): two, so
# ffmpeg closes the first segment of what cut in at once instead of when its second GOP is due.
CATCH_UP_GOPS = 2
# Sending GOPs early puts the live edge that much further ahead; the GOPs after them then go out
# early too, by this fraction of a segment less each time, so the playlist never waits more than
# 1.5 target durations for its next segment (a hole as long as the burst would) and the lead comes
# back to LEAD_SEGMENTS within a few segments.
CATCH_UP_RECOVERY = 0.25


# --- One channel's feed ----------------------------------------------------------------------------


@dataclass
class FeedStatus:
    entries: int = 0
    current: str = ""
    last_error: str = ""
    released_until: datetime | None = None  # schedule time up to which ffmpeg has the stream


class ChannelFeed:
    """The feed of one run of one channel's ffmpeg: its pipes' name, its place in the schedule."""

    def __init__(
        self,
        channel: Channel,
        planner: Planner,
        *,
        segment: timedelta,
        resume_at: datetime | None = None,
        lead_segments: int = LEAD_SEGMENTS,
        clock: Callable[[], datetime] = timezone.now,
    ):
        self.channel_id = channel.pk
        self.channel_number = channel.number
        self.planner = planner
        self.segment = segment
        self.lead = segment * lead_segments
        self.clock = clock
        self.token = secrets.token_hex(8)
        self.pipes: _FeedPipes | None = None  # set by FeedServer.register (playout.feed_pipes)
        self.cursor = resume_at
        self.anchor: datetime | None = None  # schedule time of the run's first frame
        self.status = FeedStatus()
        self._interrupt = threading.Event()
        self._catch_up = 0  # GOPs still to send at once after a cut for an interruption
        self._ahead = timedelta(0)  # how much earlier than the lead GOPs go out after a catch-up
        self._closed = threading.Event()
        self._wake = threading.Event()  # set by interrupt(), close() and the interrupt watch
        self._lock = threading.Lock()

    def interrupt(self) -> None:
        """End the entry on air at its next GOP boundary; the next entry asks the log again."""
        self._interrupt.set()
        self._wake.set()

    def close(self) -> None:
        self._closed.set()
        self._interrupt.set()
        self._wake.set()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def next_cursor(self, now: datetime) -> datetime:
        """Where in the schedule the next entry starts: right where the last one ended, unless the
        stream fell more than a segment behind (a stall), in which case it rejoins at now.

        Normally the cursor is about `lead` plus one GOP ahead of now: ffmpeg asks for the next
        entry as soon as it has the last GOP of this one.
        """
        if self.cursor is None:
            return now
        if self.cursor < now - self.segment or self.cursor > now + self.lead + 3 * self.segment:
            logger.info(
                "Channel %s: rejoining the schedule at now (cursor was %s)", self.channel_number, self.cursor
            )
            return now
        return self.cursor

    def decide(self, cursor: datetime, index: int = 0) -> Entry:
        """What airs from schedule time `cursor` on: the one place a piece is chosen, at every
        boundary (and after `interrupt`). Whatever goes wrong choosing plays a slate chunk."""
        try:
            return self.planner.plan(cursor)
        except Exception as error:
            logger.exception("Channel %s: choosing entry %s failed", self.channel_number, index)
            self.status.last_error = f"choosing what airs failed: {error}"
            return self.planner.slate_entry(cursor, cursor + SLATE_CHUNK, note=str(error)[:200])

    def serve(self, index: int, send: Callable[[bytes], None]) -> None:
        """Send entry `index`: choose it, then stream it paced (see the module docstring). Whatever
        goes wrong before the first byte is replaced by the slate, so ffmpeg never gets an empty
        entry (which would end its input)."""
        with self._lock:
            self._interrupt.clear()
            cursor = self.next_cursor(self.clock())
            entry = self.decide(cursor, index)
            if self.anchor is None:
                self.anchor = entry.airs_at
            self.status.entries += 1
            progress = _Progress(send)
            covered = None
            as_run = _record_start(self.channel_id, entry)
            try:
                try:
                    covered = self._stream(entry, progress)
                except (OSError, TsError, CommandError) as failure:
                    # What Plex refused (a remote part) says more than ffmpeg's complaint about it.
                    error = (entry.remote.error() if entry.remote else None) or failure
                    logger.warning("Channel %s: %s failed: %s", self.channel_number, entry.origin, error)
                    if entry.path is not None and entry.path != self.planner.slate:
                        self.planner.unplayable.add(entry.path)
                    if progress.sent:
                        covered = progress.offset + self.segment  # ends with the last GOP sent
                    else:
                        _record_stop(as_run, entry.airs_at, error=f"{entry.note} {error}".strip())
                        entry = self.planner.slate_entry(
                            entry.airs_at,
                            min(entry.ends_at, entry.airs_at + SLATE_CHUNK),
                            piece=entry.piece,
                            note=f"unplayable ({error})"[:500],
                        )
                        as_run = _record_start(self.channel_id, entry)
                        covered = self._stream(entry, progress)
            finally:
                self.status.current = f"{entry.origin} {entry.note}".strip()
                self.cursor = entry.airs_at + (covered if covered is not None else entry.duration)
                _record_stop(as_run, self.cursor)

    def _stream(self, entry: Entry, progress: _Progress) -> timedelta | None:
        """Stream the entry; returns the schedule time it covered if it was cut short."""
        try:
            return self._stream_bytes(entry, progress)
        finally:
            entry.release()

    def _stream_bytes(self, entry: Entry, progress: _Progress) -> timedelta | None:
        if entry.gops is not None:
            # A live source's first GOP is the newest one when it is taken: take it when it is due
            # (not when the entry is asked for, a segment earlier), so each live GOP then waits less
            # than a segment to go out and a lost source is noticed before the slate is due.
            if self._wait_until(entry.airs_at - self.lead, interruptible=False):
                return None
            return self._paced(entry, entry.gops(), progress)
        if entry.argv is None:
            with entry.path.open("rb") as source:
                layout = parse_layout(source.read(HEAD_SIZE))
                source.seek(entry.byte_offset)
                return self._paced(entry, iter_gops(source, layout), progress)
        with tempfile.TemporaryFile() as stderr:
            process = start_process(entry.argv, stdout=subprocess.PIPE, stderr=stderr)
            try:
                head = read_exactly(process.stdout, LIVE_HEAD_SIZE)
                try:
                    layout = parse_layout(head)
                except TsError:
                    process.wait(timeout=5)
                    stderr.seek(0)
                    raise CommandError(
                        entry.argv,
                        "produced no stream",
                        stderr_tail=stderr.read()[-2000:].decode("utf-8", "replace"),
                    ) from None
                return self._paced(entry, iter_gops(Prepended(head, process.stdout), layout), progress)
            finally:
                stop_process(process, grace_seconds=1)
                process.stdout.close()

    def _paced(self, entry: Entry, gops: Iterator[Gop], progress: _Progress) -> timedelta | None:
        first: int | None = None
        end = entry.duration.total_seconds() if entry.trim else None
        # A file's next GOP is at hand, so its last one is known before it goes out: its audio end
        # is put on the video's so the next entry joins on the frame grid (see align_audio_end).
        # Live sources are not read ahead: that would hold every GOP back by one.
        at_hand = entry.gops is None and entry.argv is None
        for gop, last in _with_last(gops) if at_hand else ((gop, False) for gop in gops):
            if first is None:
                first = gop.pts
            offset = ts_delta(gop.pts, first) / PTS_HZ
            if end is not None and offset >= end - 0.001:
                return None
            moment = entry.airs_at + timedelta(seconds=offset)
            if self._catch_up:
                # What cuts in after an interruption changed: its first GOP goes out at once and its
                # second too, so ffmpeg closes the first segment of the alert (or of the programme it
                # returns to) now, not when that second GOP is due.
                now = self.clock()
                self._ahead = min(max(self._ahead, moment - self.lead - now), 2 * self.segment)
                self._catch_up -= 1
            else:
                self._ahead = max(timedelta(0), self._ahead - self.segment * CATCH_UP_RECOVERY)
            due = moment - self.lead - self._ahead
            # The first GOP always goes out (an empty entry would end ffmpeg's input); a later one
            # waits for its time, and an interrupt (or an alert starting, ending or pre-empting,
            # noticed while waiting) cuts the entry just before it.
            if self._wait_until(
                due, interruptible=progress.sent, cut=self._cut_check(entry, moment, progress)
            ):
                return timedelta(seconds=offset)
            data = gop.data
            if end is not None and offset + 1.5 * self.segment.total_seconds() > end:
                data = trim_gop(data, first, end)  # the last GOP: cut it where the entry ends
            elif last:
                try:
                    data = align_audio_end(data)
                except (IndexError, ValueError) as error:  # odd bytes: air them as they are
                    logger.warning("Channel %s: audio end not aligned (%s)", self.channel_number, error)
            progress.send(data, offset)
            self.status.released_until = entry.airs_at + timedelta(seconds=offset)
        return None

    def _cut_check(self, entry: Entry, moment: datetime, progress: _Progress) -> Callable[[], bool] | None:
        """Whether what interrupts the channel at `moment` (the schedule time of the GOP waiting to go
        out) is no longer what this entry airs; None before the entry's first GOP went out."""
        if not progress.sent:
            return None

        def changed() -> bool:
            if interruptions.should_cut(entry, self.channel_id, self.planner.profile.pk, moment):
                self._catch_up = CATCH_UP_GOPS
                return True
            return False

        return changed

    def _wait_until(
        self, due: datetime, *, interruptible: bool, cut: Callable[[], bool] | None = None
    ) -> bool:
        """Sleep until `due`; True if interrupted (or closed) first, or if `cut` says so. `cut` is
        asked at once and then whenever the interrupt watch says the answer may have changed (or
        every `INTERRUPT_POLL_SECONDS` where it can't tell) while waiting: an alert issued in
        another process is noticed within that (plus its source's cache), not at the next GOP."""
        if cut is None:
            while True:
                if self._closed.is_set() or (interruptible and self._interrupt.is_set()):
                    return True
                remaining = (due - self.clock()).total_seconds()
                if remaining <= 0:
                    return False
                (self._interrupt if interruptible else self._closed).wait(min(remaining, 0.5))
        watched = interruptions.can_watch()
        if watched:
            interruptions.WATCH.add(self._wake)
        try:
            while True:
                self._wake.clear()  # before looking, so a wake-up from here on is not lost
                if self._closed.is_set() or (interruptible and self._interrupt.is_set()):
                    return True
                if cut():
                    return True
                remaining = (due - self.clock()).total_seconds()
                if remaining <= 0:
                    return False
                self._wake.wait(
                    min(remaining, WATCHED_RECHECK_SECONDS if watched else INTERRUPT_POLL_SECONDS)
                )
        finally:
            if watched:
                interruptions.WATCH.discard(self._wake)


def _with_last(gops: Iterator[Gop]) -> Iterator[tuple[Gop, bool]]:
    """Each GOP with whether it is the last one (reads one GOP ahead)."""
    previous = None
    for gop in gops:
        if previous is not None:
            yield previous, False
        previous = gop
    if previous is not None:
        yield previous, True


class ReaderGone(Exception):
    """ffmpeg closed the connection (it was stopped or restarted): not the source's fault."""


class _Progress:
    """What of an entry has gone out: whether anything, and the offset of the last GOP sent."""

    def __init__(self, send: Callable[[bytes], None]):
        self._send = send
        self.sent = False
        self.offset = timedelta(0)

    def send(self, data: bytes, offset_seconds: float) -> None:
        try:
            self._send(data)
        except OSError as error:  # BrokenPipeError, ConnectionResetError, …
            raise ReaderGone(str(error)) from error
        self.sent = True
        self.offset = timedelta(seconds=offset_seconds)


# The as-run log (one INSERT as an entry starts, one UPDATE as it stops; DB errors are logged, never
# raised into the stream) lives in playout.as_run, which also marks pre-generated pieces aired.
_record_start = as_run.record_start
_record_stop = as_run.record_stop


__all__ = [
    "HEAD_SIZE",
    "LEAD_SEGMENTS",
    "LIVE_HEAD_SIZE",
    "START_TOLERANCE",
    "ChannelFeed",
    "Cut",
    "Entry",
    "Gop",
    "Planner",
    "TsError",
    "TsLayout",
    "find_cut",
    "iter_gops",
    "keyframes",
    "parse_layout",
    "slate_file",
]
