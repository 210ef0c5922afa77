""" "Up next" lower thirds: in the last minute before a program, the pieces that air carry the next
program's title, burned in at pre-generation (like the bug, it is part of the piece's identity).

Which pieces, and from when, comes from the program log: a piece that airs in the minute before the
next program starts shows the band from that minute's start (or its own start) to its end, in
programs of at least five minutes. Slates,
test patterns, live sources and station ID cards carry none, and nothing announces going off the air.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduling.choices import PieceKind, ProgramCategory
from scheduling.models import ProgramEntry

UP_NEXT_LEAD = timedelta(minutes=1)
# A band over most of a very short program (an interstitial block, a test's one-piece programs)
# would hide it rather than announce what follows.
MIN_ANNOUNCING_PROGRAM = timedelta(minutes=5)
NO_LOWER_THIRD = (PieceKind.SLATE, PieceKind.TEST_PATTERN, PieceKind.LIVE)


@dataclass(frozen=True)
class UpNext:
    title: str
    from_ms: int  # into the piece


def next_titles(program_ids: Iterable[int]) -> dict[int, tuple[datetime, str]]:
    """For each program long enough to announce another, the (start, title) of the program that
    follows it on its channel, when it follows directly and is on the air."""
    programs = [
        (pk, channel_id, stop)
        for pk, channel_id, start, stop in ProgramEntry.objects.filter(pk__in=set(program_ids)).values_list(
            "pk", "channel_id", "start", "stop"
        )
        if stop - start >= MIN_ANNOUNCING_PROGRAM
    ]
    if not programs:
        return {}
    followers = {
        (channel_id, start): (start, title)
        for channel_id, start, title in ProgramEntry.objects.filter(
            channel_id__in={channel_id for _, channel_id, _ in programs},
            start__in={stop for _, _, stop in programs},
        )
        .exclude(category=ProgramCategory.OFF_AIR)
        .values_list("channel_id", "start", "title")
    }
    return {
        pk: followers[(channel_id, stop)]
        for pk, channel_id, stop in programs
        if (channel_id, stop) in followers
    }


def up_next(kind: str, playable_id: int | None, start: datetime, stop: datetime, following) -> UpNext | None:
    """The lower third a piece airing [start, stop) carries, given its program's follower (or None)."""
    if following is None or kind in NO_LOWER_THIRD or playable_id is None:
        return None
    next_start, title = following
    shows_from = next_start - UP_NEXT_LEAD
    if stop <= shows_from or not title:
        return None
    return UpNext(title, max(0, int((shows_from - start).total_seconds() * 1000)))
