"""After an interruption (an emergency alert), the interrupted program resumes where it was cut and
the rest of the day ripples later, as a desk special does.

Playout calls this at the very moment a channel comes back from the alert, with the schedule time
it comes back at, before it asks the log what airs there: so the log it then reads already has the
rest of the program starting at that instant, and the channel resumes on the frame it was cut at.

The interruption becomes a desk entry (kind *interruption*, a ripple to the end of the broadcast
day), so the builder lays it over the templates the same way on every later rebuild
(`scheduling.ripple`, `resumes_cut`). What already aired is left as it aired: the program on the air
at the cut keeps its row, ended at the cut, with its pieces before it; everything from the cut on is
planned again (it never aired: the alert did).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max

from scheduling.builder import (
    FINE_HOURS,
    BuildReport,
    _next_local_midnight,
    build_pieces,
    plan_programs,
    save_programs,
)
from scheduling.models import Channel, DeskEntry, Piece, ProgramEntry
from scheduling.models.desk import PreemptedProgram
from scheduling.models.logs import ScheduleWarning
from scheduling.snapshot import load_snapshot


@dataclass
class Resumed:
    entry: DeskEntry
    program: ProgramEntry | None  # the interrupted program's rest, None if nothing was on the air
    resumes_from_ms: int  # how far into its allotment it resumes (0 when nothing was interrupted)
    pushed: timedelta  # how much later the rest of the day airs, until the ripple ends
    ripple_ends: datetime


def resume_after_interruption(
    channel: Channel, interrupted_at: datetime, returned_at: datetime, *, title: str, description: str = ""
) -> Resumed | None:
    """Put the interruption on the channel's log (from `interrupted_at` to `returned_at`, schedule
    times) and push the rest of the day behind it, the interrupted program first, from its cut.
    None if there is nothing to do (no log there, or an interruption of no length)."""
    if returned_at <= interrupted_at:
        return None
    end = ProgramEntry.objects.filter(channel=channel).aggregate(last=Max("stop"))["last"]
    if end is None or end <= interrupted_at:
        return None
    ripple_ends = _next_local_midnight(channel, returned_at)
    snapshot = load_snapshot()
    with transaction.atomic():
        entry = DeskEntry.objects.create(
            channel=channel,
            kind=DeskEntry.Kind.INTERRUPTION,
            mode=DeskEntry.Mode.RIPPLE,
            start=interrupted_at,
            stop=returned_at,
            resume_at=ripple_ends,
            title=title[:300],
            description=description,
        )
        cut = (
            ProgramEntry.objects.select_for_update()
            .filter(channel=channel, start__lt=interrupted_at, stop__gt=interrupted_at)
            .first()
        )
        since = cut.start if cut is not None else interrupted_at
        # What aired stays as it aired: the cut program ends at the cut, its later pieces never aired.
        if cut is not None:
            Piece.objects.filter(program=cut, start__gte=interrupted_at).delete()
            Piece.objects.filter(program=cut, stop__gt=interrupted_at).update(stop=interrupted_at)
            cut.stop = interrupted_at
            cut.save(update_fields=["stop"])
        ProgramEntry.objects.filter(channel=channel, start__gte=interrupted_at).delete()
        ScheduleWarning.objects.filter(channel=channel, at__gte=since).delete()
        PreemptedProgram.objects.filter(channel=channel, start__gte=since).delete()
        planned = plan_programs(channel, since, max(end, ripple_ends), snapshot, BuildReport(str(channel)))
        rows = save_programs(channel, [program for program in planned if program.start >= interrupted_at])
        fine_until = returned_at + timedelta(hours=FINE_HOURS)
        build_pieces(channel, [row for row in rows if row.start < fine_until], snapshot)
    rest = next((row for row in rows if row.start == returned_at and row.joined_from is not None), None)
    resumes_from = int((returned_at - rest.joined_from).total_seconds() * 1000) if rest else 0
    return Resumed(
        entry=entry,
        program=rest,
        resumes_from_ms=resumes_from,
        pushed=returned_at - interrupted_at,
        ripple_ends=ripple_ends,
    )
