"""The feed's hook for interruptions (emergency alerts): asked at every boundary and every GOP.

Playout does not know who interrupts (see `retrovue.core.interrupts`: the alerts app registers
there), only how: the planner airs the interruption's file in place of the programme, looped while
it lasts, and the feed cuts whatever is on air at its next GOP boundary as soon as the answer for
the channel changes. The programme runs on underneath, so when the interruption ends the next
boundary finds the schedule where the wall clock is: the channel rejoins the show in progress,
unless the source, told the channel is back (`returned`), rewrote the log so the interrupted
programme resumes there.

A crawl interrupts differently: the programme goes on, re-encoded with the alert's text drawn over
it (`playout.crawl`), and its entries carry the crawl's key so the feed cuts back to plain stream
copy at the next GOP once the crawl ends.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta

from django.db import connections

from playout import crawl
from playout.models import AsRunEntry
from retrovue.core import interrupts

logger = logging.getLogger(__name__)


def current_key(channel_id: int, profile_id: int, moment: datetime) -> str | None:
    try:
        return interrupts.current_key(channel_id, profile_id, moment)
    except Exception:
        logger.exception("Channel %s: asking for interruptions failed", channel_id)
        return None  # the programme goes on: an error here must never take a channel off the air


def prepare(channel) -> None:
    """Called as a channel goes on the air (see `retrovue.core.interrupts.prepare`)."""
    try:
        interrupts.prepare(channel.stream_profile_id)
    except Exception:
        logger.exception("Channel %s: preparing for interruptions failed", channel.number)


def entry_for(planner, cursor: datetime):
    """The interruption's entry at `cursor`, or None for the programme. Records on/off air."""
    from playout.planner import Entry

    channel, profile_id = planner.channel, planner.profile.pk
    try:
        found = interrupts.interruption(channel.pk, profile_id, cursor)
    except Exception:
        logger.exception("Channel %s: asking for interruptions failed", channel.number)
        found = None
    airs = found is not None and (found.path is not None or found.crawl_text is not None)
    airing = found.key if airs else None
    crawling = airs and found.crawl_text is not None
    previous = getattr(planner, "interruption_on_air", None)
    if previous != airing:
        # The programme was off the screen from the first full-screen interruption on (under a
        # crawl it was not): that is where a resume picks it up again.
        if (
            airing is not None
            and not crawling
            and (previous is None or getattr(planner, "interruption_crawling", False))
        ):
            planner.interruption_began = cursor
        planner.interruption_crawling = crawling
        if previous is not None:
            interrupts.aired(channel.pk, previous, cursor, cursor)
        if airing is not None:
            interrupts.aired(channel.pk, airing, cursor, None)
        planner.interruption_on_air = airing
        if previous is not None and airing is None:
            _returned(channel, previous, getattr(planner, "interruption_began", None) or cursor, cursor)
    if airing is None:
        return None
    if found.crawl_text is not None:
        crawled = _crawl_entry(planner, found, cursor)
        if crawled is not None:
            return crawled
        if found.path is None:  # no slate to fall back on yet: the programme, uncrawled, for now
            return replace(planner.programme(cursor, on_the_cursor=True), interrupt_key=found.key)
    duration = timedelta(milliseconds=found.duration_ms or 10_000)
    return Entry(
        origin=AsRunEntry.Origin.SLATE,
        airs_at=cursor,
        duration=duration,
        path=found.path,
        trim=True,
        note=found.label,
        interrupt_key=found.key,
    )


def _returned(channel, key: str, interrupted_at: datetime, cursor: datetime) -> None:
    """Tell the source the channel is back (it may resume the interrupted program: the log is then
    rewritten from `cursor`, which the planner reads next)."""
    try:
        interrupts.returned(channel.pk, key, interrupted_at, cursor)
    except Exception:
        logger.exception("Channel %s: the return from an interruption failed", channel.number)


def _crawl_entry(planner, found, cursor: datetime):
    """The programme from `cursor` re-encoded with the crawl drawn on (`playout.crawl`); None where
    it can't be (a live event, nothing to read): the interruption's slate airs there instead."""
    from playout import pregen
    from playout.planner import Entry

    programme = planner.programme(cursor, on_the_cursor=True)
    offset = crawl.clock_offset(found.crawl_since, programme.airs_at)
    piece, profile = programme.piece, planner.profile
    argv, remote = None, None
    if programme.gops is None and programme.argv is None and programme.path is not None:
        into = (
            programme.airs_at - piece.start if programme.origin == AsRunEntry.Origin.PREGEN else timedelta(0)
        )
        argv = crawl.crawl_file_argv(
            programme.path,
            int(into.total_seconds() * 1000),
            int(programme.duration.total_seconds() * 1000),
            profile,
            found.crawl_text,
            clock_offset=offset,
            preset=pregen.encoder_preset(),
        )
    elif programme.argv is not None and piece is not None:
        programme.release()  # its transcode is made again, with the crawl
        overlay = crawl.crawl_filter(found.crawl_text, profile.width, profile.height, clock_offset=offset)
        live = planner._live_argv(piece, programme.airs_at - piece.start, overlay=overlay)
        if live is not None:
            argv, remote = live
    else:
        programme.release()
    if argv is None:
        return None
    return Entry(
        origin=AsRunEntry.Origin.LIVE,
        airs_at=programme.airs_at,
        duration=programme.duration,
        piece=piece,
        argv=argv,
        remote=remote,
        trim=True,
        note=f"{found.label} (crawl over {programme.origin} {programme.note})".strip()[:500],
        interrupt_key=found.key,
    )


def should_cut(entry, channel_id: int, profile_id: int, moment: datetime) -> bool:
    """True when what interrupts the channel at `moment` is not what this entry airs."""
    return current_key(channel_id, profile_id, moment) != entry.interrupt_key


# --- Waking the feeds when what interrupts may have changed -------------------------------------------

# How often the watch asks the sources whether anything changed (what a feed used to ask itself).
WATCH_SECONDS = 0.1
# The watch stops this long after its last waiter left (and closes its database connection).
WATCH_LINGER_SECONDS = 1.0


class InterruptWatch:
    """One thread per process that asks the interrupt sources every `WATCH_SECONDS` whether their
    answers may have changed (`retrovue.core.interrupts.state_token`) and, when they may have,
    wakes every feed waiting to send a GOP, which then asks about its own channel (`should_cut`).
    With 100 channels on air that is 10 questions a second instead of 1,000 wake-ups. A feed still
    asks on its own now and then (`playout.feed.WATCHED_RECHECK_SECONDS`), and asks every
    `INTERRUPT_POLL_SECONDS` itself where a source can't tell when it changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[threading.Event] = set()
        self._thread: threading.Thread | None = None

    def add(self, wake: threading.Event) -> None:
        with self._lock:
            self._waiters.add(wake)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="interrupt-watch", daemon=True)
                self._thread.start()

    def discard(self, wake: threading.Event) -> None:
        with self._lock:
            self._waiters.discard(wake)

    def _run(self) -> None:
        token: object = object()  # nothing yet: the first answer wakes the waiters once (harmless)
        idle_since: float | None = None
        try:
            while True:
                with self._lock:
                    waiting = bool(self._waiters)
                    if waiting:
                        idle_since = None
                    elif idle_since is None:
                        idle_since = time.monotonic()
                    elif time.monotonic() - idle_since >= WATCH_LINGER_SECONDS:
                        self._thread = None
                        return
                if waiting:  # (with nobody to wake, nothing is asked)
                    try:
                        current = interrupts.state_token()
                    except Exception:
                        logger.exception("Asking the interrupt sources for their state failed")
                        current = object()  # unknown: wake everyone, they ask for themselves
                    if current is None or current != token:
                        with self._lock:
                            for wake in self._waiters:
                                wake.set()
                    token = current
                time.sleep(WATCH_SECONDS)
        finally:
            connections.close_all()  # this thread's own


WATCH = InterruptWatch()


def can_watch() -> bool:
    """Whether feeds may wait for `WATCH` to wake them instead of asking every poll."""
    try:
        return interrupts.can_watch()
    except Exception:
        return False
