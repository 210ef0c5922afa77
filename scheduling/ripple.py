"""Hand-placed blocks over the templates' plan: replace what a block overlaps, or push the rest of the
day later (ripple) until the template takes over again.

`apply_entry` is a pure function over planned programs, so other parts of the station can reuse
it (an alert that resumes the interrupted program ripples the rest of the day the same way):

    programs, preempted = apply_entry(programs, block, cut=…)

Rules, so the day has no gap and no overlap:

- the program on the air when a block starts is cut at its last break before the block (its
  content ends at that break; the break fills the time up to the block); a program without a break
  there is replaced by fallback up to the block (replace) or pushed whole behind it (ripple);
- *replace*: programs inside the block are taken off (preempted); the program running across the
  block's end is joined in progress there, as on a station that was always on;
- *interruption* (a ripple that `resumes_cut`): the program on the air when the block starts is
  not cut at a break; what aired stays, and the rest of it airs right after the block, from the
  very point it was cut, followed by the day pushed later as in any ripple;
- *ripple*: programs from the block's start on air in the same order right after it, until
  `resume_at`; the pushed program running across `resume_at` is cut at its last break before it,
  or, with no break there, the ripple ends early where that program would have started; from the
  resume point the template's own plan airs again, its program in progress joined there. What the
  push leaves out is preempted.

Preempted programs are returned so the builder can record them: a slot's order then goes on as if
they had aired, and the templates' plan stays the same around hand-placed blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from scheduling.choices import ProgramCategory
from scheduling.planner import PlannedProgram

# A cut that leaves less program than this before the block is no cut: the program is replaced.
MIN_CONTENT_MS = 60_000


@dataclass
class Block:
    """A desk entry as the overlay needs it: its time, what it places there, and how it treats the rest."""

    start: datetime
    stop: datetime
    programs: list[PlannedProgram]  # what the block itself airs, covering [start, stop)
    ripple: bool = False
    resume_at: datetime | None = None
    # An interruption (an emergency alert): the program on the air at `start` is not cut at a break
    # but resumes right after the block from where it was cut, pushed with the rest.
    resumes_cut: bool = False


def _ms(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)


def cut_at_last_break(
    program: PlannedProgram, at: datetime, break_points: Callable[[PlannedProgram], list[int]]
) -> PlannedProgram | None:
    """`program` ending at `at`, its content cut at its last break before then; None without one.

    Programs without an item (fallback, off air, live) are simply shortened.
    """
    if not program.start < at < program.stop:
        return None
    if program.item is None:
        return replace(program, stop=at)
    aired_before = _ms(program.start - program.began)  # joined in progress: content already shown
    room = _ms(at - program.began)
    points = [point for point in break_points(program) if aired_before + MIN_CONTENT_MS <= point <= room]
    if not points:
        return None
    return replace(program, stop=at, content_limit_ms=points[-1])


def joined_at(program: PlannedProgram, at: datetime) -> PlannedProgram:
    """`program` aired from `at` on, joined in progress (fallback simply starts later)."""
    if program.item is None:
        return replace(program, start=at, joined_from=None)
    return replace(program, start=at, joined_from=program.began)


def shifted_to(program: PlannedProgram, start: datetime) -> PlannedProgram:
    delta = start - program.start
    return replace(
        program,
        start=start,
        stop=program.stop + delta,
        joined_from=program.joined_from + delta if program.joined_from else None,
    )


def apply_entry(
    programs: list[PlannedProgram],
    block: Block,
    *,
    cut: Callable[[PlannedProgram, datetime], PlannedProgram | None],
    filler_title: str = "",
) -> tuple[list[PlannedProgram], list[PlannedProgram]]:
    """Lay `block` over `programs` (contiguous, in time order). Returns the new programs and the
    template programs it took off the air. `cut(program, at)` is `cut_at_last_break` with the
    channel's break points."""
    start, stop = block.start, block.stop
    result = [program for program in programs if program.stop <= start]
    later = [program for program in programs if program.start >= start]
    preempted: list[PlannedProgram] = []
    on_air = next((program for program in programs if program.start < start < program.stop), None)
    if on_air is not None and block.resumes_cut and block.ripple:
        result.append(replace(on_air, stop=start))  # what aired before the cut
        later.insert(0, joined_at(on_air, start))  # the rest, from the cut, pushed behind the block
    elif on_air is not None:
        shortened = cut(on_air, start)
        if shortened is not None:
            result.append(shortened)
        else:
            result.append(PlannedProgram(on_air.start, start, ProgramCategory.FILLER, title=filler_title))
            if on_air.item is not None:
                if block.ripple:
                    later.insert(0, on_air)  # pushed whole behind the block
                else:
                    preempted.append(on_air)
    result.extend(block.programs)
    if not block.ripple:
        resume = stop
        consumed: list[PlannedProgram] = []
    else:
        resume, consumed = _push(later, stop, block.resume_at or stop, result, cut)
    for program in later:
        if any(program is taken for taken in consumed):
            if program.start < resume < program.stop:
                result.append(joined_at(program, resume))  # the template's position at the resume point
            continue
        if program.stop <= resume:
            preempted.append(program)
        elif program.start < resume:
            result.append(joined_at(program, resume))
        else:
            result.append(program)
    result.sort(key=lambda program: program.start)
    return result, [program for program in preempted if program.item is not None and program.slot_id]


def _push(later, cursor, resume_at, result, cut):
    """Air `later` back to back from `cursor` until `resume_at`; returns (resume point, programs aired)."""
    consumed = []
    for program in later:
        if cursor >= resume_at:
            break
        moved = shifted_to(program, cursor)
        if moved.stop <= resume_at:
            result.append(moved)
            consumed.append(program)
            cursor = moved.stop
            continue
        shortened = cut(moved, resume_at)
        if shortened is not None:
            result.append(shortened)
            consumed.append(program)
            cursor = resume_at
        break  # no break before resume_at: the ripple ends early, where this one would have begun
    return min(cursor, resume_at), consumed
