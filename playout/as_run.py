"""The as-run log: what actually aired on each channel, written by the feed as each entry starts.

Cheap by design, because it runs on the path that feeds ffmpeg: one INSERT when an entry starts
(plus one UPDATE of the pre-generated piece's `last_aired_at` when it aired from pregen) and one
UPDATE when it stops. A database error is logged and swallowed: the stream never waits on, or
fails because of, its own log.

Two things keep the log readable:

- a slate served in consecutive chunks for the same piece (the feed asks the log again every
  `SLATE_CHUNK` while nothing plays) extends one row instead of writing one row per chunk;
- the first entry a process serves for a channel closes any row still open for that channel (a
  worker that died mid-piece never wrote its stop), at the new entry's start.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone

from playout import pregen
from playout.models import AsRunEntry, PregenPiece

if TYPE_CHECKING:
    from playout.feed import Entry

logger = logging.getLogger(__name__)

ERROR_LENGTH = 2000
# How far back a takeover looks for a killed worker's rows: its feed ran seconds ahead of the
# clock, and its lease ran out within a minute.
TAKEOVER_WINDOW = timedelta(minutes=2)


@dataclass
class AsRunRow:
    """The row the feed is writing for the entry on air (what `record_stop` closes)."""

    pk: int
    channel_id: int
    origin: str
    piece_id: int | None
    note: str
    stop: datetime | None = None
    failed: bool = False
    cut_at: datetime | None = None  # set when the channel was handed off: the row ends there at the latest


# The playout worker this process is (the supervisor sets it): each row names who aired it, so a
# channel airing on two workers at once shows in the log (see `overlaps`).
worker_id = ""

# The last row written per channel by this process; feeds of one channel serve one entry at a time.
_last: dict[int, AsRunRow] = {}
# Channels this process handed to another worker, and from what schedule time the other airs them:
# an entry the winding-down feed starts after that never aired here and is not logged.
_handed: dict[int, datetime] = {}
_lock = threading.Lock()


def forget() -> None:
    """Drop what this process remembers (tests; a supervisor that hands channels back)."""
    with _lock:
        _last.clear()
        _handed.clear()


def record_start(channel_id: int, entry: Entry) -> AsRunRow | None:
    """Log that `entry` starts airing on the channel; None if the log could not be written."""
    piece = entry.piece
    note = entry.note[:500]
    with _lock:
        previous = _last.get(channel_id)
        handed_at = _handed.get(channel_id)
    if handed_at is not None and entry.airs_at >= handed_at:
        return None
    try:
        if previous is None:
            AsRunEntry.objects.filter(channel_id=channel_id, actual_stop__isnull=True).update(
                actual_stop=entry.airs_at
            )
        elif _continues(previous, entry, note) and AsRunEntry.objects.filter(pk=previous.pk).update(
            actual_stop=None
        ):
            previous.stop = None
            return previous
        row = AsRunEntry.objects.create(
            channel_id=channel_id,
            piece=piece,
            playable_id=piece.playable_id if piece else None,
            scheduled_start=piece.start if piece else entry.airs_at,
            scheduled_stop=piece.stop if piece else entry.ends_at,
            actual_start=entry.airs_at,
            origin=entry.origin,
            error=note,
            worker=worker_id,
        )
    except Exception:
        logger.exception("Channel %s: could not write the as-run log", channel_id)
        return None
    if entry.origin == AsRunEntry.Origin.PREGEN and entry.path is not None and piece is not None:
        try:
            _mark_aired(piece, entry.path, entry.airs_at)
        except Exception:
            logger.exception("Channel %s: could not mark piece %s aired", channel_id, piece.pk)
    current = AsRunRow(
        pk=row.pk, channel_id=channel_id, origin=entry.origin, piece_id=piece.pk if piece else None, note=note
    )
    with _lock:
        _last[channel_id] = current
    return current


def hand_off(channel_id: int, at: datetime | None, *, wait_seconds: float = 1.0) -> None:
    """The channel's run stopped here and another run (after a restart, or on another worker)
    continues it from schedule time `at` (the end of the last segment published here). The feed had sent its ffmpeg a little more than that (up
    to the lead and the segment being cut) and logs it as it winds down; once it has, this
    worker's rows are cut back to `at`, so the log says what viewers got and the next worker's
    rows follow on without overlapping. The channel is forgotten, so if it comes back here, its
    first entry closes whatever row another worker left open."""
    with _lock:
        current = _last.pop(channel_id, None)
        if at is not None:
            _handed[channel_id] = at
    if current is not None and at is not None:
        current.cut_at = at
        deadline = time.monotonic() + wait_seconds
        while current.stop is None and time.monotonic() < deadline:
            time.sleep(0.02)  # the feed's thread winding down writes the row's stop
    if at is None or not worker_id:
        return
    try:
        _cut_back(AsRunEntry.objects.filter(channel_id=channel_id, worker=worker_id), at)
    except Exception:
        logger.exception("Channel %s: could not close the as-run log at the handover", channel_id)


def take_over(channel_id: int, at: datetime | None) -> None:
    """This worker airs the channel from schedule time `at` (the end of the last segment the
    previous run published). A worker that handed the channel over has already cut its rows back
    there (`hand_off`); one that was killed could not, and its rows still say what its feed had
    sent ffmpeg beyond that, which no viewer got. Those are cut back to `at` here, so the log
    says what aired and the new rows follow on without overlapping. A run that ended long ago
    (the channel was off the air since) left nothing ahead of the clock: nothing is touched."""
    if at is None or at < timezone.now() - TAKEOVER_WINDOW:
        return
    try:
        _cut_back(AsRunEntry.objects.filter(channel_id=channel_id).exclude(worker=worker_id), at)
    except Exception:
        logger.exception("Channel %s: could not close the previous worker's as-run log", channel_id)


def _cut_back(rows, at: datetime) -> None:
    """The rows end at `at` at the latest: what started after it never aired."""
    rows.filter(actual_start__gte=at).delete()
    rows.filter(Q(actual_stop__isnull=True) | Q(actual_stop__gt=at)).update(actual_stop=at)


def take_back(channel_id: int) -> None:
    """The channel airs here again (claimed or handed back): log its entries."""
    with _lock:
        _handed.pop(channel_id, None)


def record_stop(row: AsRunRow | None, at: datetime, *, error: str = "") -> None:
    """Close the row at schedule time `at`; `error` replaces its note (the entry failed)."""
    if row is None:
        return
    if row.cut_at is not None and at > row.cut_at:
        at = row.cut_at
    changes: dict = {"actual_stop": at}
    if error:
        changes["error"] = error[:ERROR_LENGTH]
        row.failed = True  # so the slate that replaces it starts a row of its own
    try:
        AsRunEntry.objects.filter(pk=row.pk).update(**changes)
    except Exception:
        logger.exception("Channel %s: could not close as-run entry %s", row.channel_id, row.pk)
        return
    row.stop = at


def _continues(previous: AsRunRow, entry: Entry, note: str) -> bool:
    return (
        entry.origin == AsRunEntry.Origin.SLATE
        and previous.origin == AsRunEntry.Origin.SLATE
        and previous.piece_id == (entry.piece.pk if entry.piece else None)
        and previous.note == note
        and previous.stop == entry.airs_at
        and not previous.failed
    )


def _mark_aired(piece, path: Path, at: datetime) -> None:
    """`pregen.mark_aired` for the row behind `path`, in one UPDATE (the planner knows the file,
    not the row). Files are named by the row's pk unless the row stores its own path."""
    try:
        relative = path.relative_to(pregen.pregen_store()).as_posix()
    except ValueError:
        return
    match = Q(path=relative)
    if path.stem.isdigit():
        match |= Q(path="", pk=int(path.stem))
    PregenPiece.objects.filter(
        match, playable_id=piece.playable_id, in_ms=piece.in_ms, out_ms=piece.out_ms
    ).update(last_aired_at=at)


def overlaps(channel_id: int, tolerance: timedelta = timedelta(0)) -> list[tuple[AsRunEntry, AsRunEntry]]:
    """Pairs of the channel's rows written by different workers whose aired spans overlap by more
    than `tolerance`: the channel aired on two workers at once. A worker that hands a channel over
    has sent its ffmpeg a little more than it published (up to the feed's lead and the segment
    being cut), and logs it; the next worker resumes after the last published segment, so a
    handover may overlap by that much and no more. An open row counts as airing until the next
    row of its own worker starts (or for ever)."""
    rows = list(AsRunEntry.objects.filter(channel_id=channel_id).exclude(worker="").order_by("actual_start"))
    never = datetime.max.replace(tzinfo=rows[0].actual_start.tzinfo) if rows else None
    stops: dict[int, datetime] = {}
    following: dict[str, datetime] = {}  # per worker, the start of its next row (walking backwards)
    for row in reversed(rows):
        stops[row.pk] = row.actual_stop or following.get(row.worker, never)
        following[row.worker] = row.actual_start
    found = []
    latest: dict[str, AsRunEntry] = {}  # per worker, its row that ends last so far
    for row in rows:
        for worker, other in latest.items():
            # `other` started no later than `row`: they overlap from row's start to the first stop.
            if worker != row.worker and min(stops[other.pk], stops[row.pk]) - row.actual_start > tolerance:
                found.append((other, row))
        mine = latest.get(row.worker)
        if mine is None or stops[row.pk] > stops[mine.pk]:
            latest[row.worker] = row
    return found
