"""The feed's hook for interruptions (emergency alerts): asked at every boundary and every GOP.

Playout does not know who interrupts (see `retrovue.core.interrupts`: the alerts app registers
there), only how: the planner airs the interruption's file in place of the programme, looped while
it lasts, and the feed cuts whatever is on air at its next GOP boundary as soon as the answer for
the channel changes. The programme runs on underneath, so when the interruption ends the next
boundary finds the schedule where the wall clock is: the channel rejoins the show in progress.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

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
    airing = found.key if found is not None and found.path is not None else None
    previous = getattr(planner, "interruption_on_air", None)
    if previous != airing:
        if previous is not None:
            interrupts.aired(channel.pk, previous, cursor, cursor)
        if airing is not None:
            interrupts.aired(channel.pk, airing, cursor, None)
        planner.interruption_on_air = airing
    if airing is None:
        return None
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


def should_cut(entry, channel_id: int, profile_id: int, moment: datetime) -> bool:
    """True when what interrupts the channel at `moment` is not what this entry airs."""
    return current_key(channel_id, profile_id, moment) != entry.interrupt_key
