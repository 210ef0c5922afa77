"""Building a channel's logs: the program log (7 days, what the guide shows) and the piece log
(48 hours, every piece playout airs), and rolling both forward.

Entry points:
  build_channel(channel, start, end, fine_until=…)  rebuild from `start` (a program boundary)
  roll_forward(now)                                 extend every enabled channel's logs
  rebuild_from_safe_point(channel, now)             after a template edit: keep what is on air

Everything is derived from the catalog, the templates, the channel's seed and the log before
`start`, so the same inputs give the same logs (tests check this).
"""

from __future__ import annotations

import time as clock
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Max

from catalog.choices import ItemState
from catalog.models import CollectionMember
from scheduling.breaks import MIN_POD_MS, BreakPlanner, DefaultRule, break_points
from scheduling.choices import ProgramCategory
from scheduling.models import (
    BreakRule,
    Channel,
    DeskEntry,
    Piece,
    PreemptedProgram,
    ProgramEntry,
    ScheduleTemplate,
    ScheduleWarning,
    TimeSlot,
)
from scheduling.planner import ChannelPlanner, History, PlannedProgram, SlotSpec, allot
from scheduling.ripple import Block, apply_entry, cut_at_last_break, joined_at
from scheduling.snapshot import CatalogSnapshot, load_snapshot

PROGRAM_DAYS = 7
FINE_HOURS = 48
HALF_HOUR = timedelta(minutes=30)
PROMO_LOOKAHEAD = 4


@dataclass
class BuildReport:
    channel: str
    programs: int = 0
    pieces: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


def floor_half_hour(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(minute=0 if moment.minute < 30 else 30, second=0, microsecond=0)


# --- loading what the planners need --------------------------------------------------------------


def slot_specs(channel: Channel) -> list[SlotSpec]:
    templates = {
        template.pk: template for template in ScheduleTemplate.objects.filter(channel=channel, enabled=True)
    }
    slots = (
        TimeSlot.objects.filter(template_id__in=templates).prefetch_related("shows", "movies").order_by("pk")
    )
    members = collection_members({slot.collection_id for slot in slots if slot.collection_id})
    specs = []
    for slot in slots:
        template = templates[slot.template_id]
        start, end = slot.minutes
        specs.append(
            SlotSpec(
                id=slot.pk, title=slot.title, days=frozenset(slot.days), start_minute=start, end_minute=end,
                content=slot.content, order=slot.order,
                show_ids=tuple(show.pk for show in sorted(slot.shows.all(), key=lambda show: show.pk)),
                movie_ids=tuple(movie.pk for movie in sorted(slot.movies.all(), key=lambda movie: movie.pk)),
                repeat_spacing_days=slot.repeat_spacing_days, priority=template.priority,
                template_applies=template.applies_on,
                collection_members=members.get(slot.collection_id, ()),
            )
        )  # fmt: skip
    return specs


def collection_members(collection_ids) -> dict[int, tuple[tuple[str, int, int], ...]]:
    """Each active collection's linked members, in its order (see SlotSpec.collection_members)."""
    found: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
    rows = (
        CollectionMember.objects.filter(collection_id__in=collection_ids, collection__state=ItemState.ACTIVE)
        .order_by("collection_id", "position")
        .values_list("collection_id", "playable_id", "show_id", "season__show_id", "season__season_number")
    )
    for collection_id, playable_id, show_id, season_show_id, season_number in rows:
        if playable_id is not None:
            found[collection_id].append(("playable", playable_id, 0))
        elif show_id is not None:
            found[collection_id].append(("show", show_id, 0))
        elif season_show_id is not None:
            found[collection_id].append(("season", season_show_id, season_number))
    return {pk: tuple(entries) for pk, entries in found.items()}


def load_history(channel: Channel, before: datetime, snapshot: CatalogSnapshot) -> History:
    """Each slot's state as of `before`, read back from the channel's program log (and the template
    programs desk entries took off the air, which count as aired so the templates' plan holds)."""
    history = History()
    rows = ProgramEntry.objects.filter(
        channel=channel, start__lt=before, slot__isnull=False, playable__isnull=False
    )
    preempted = PreemptedProgram.objects.filter(channel=channel, start__lt=before)
    for query in (rows, preempted):
        for slot_id, count in (
            query.order_by().values("slot_id").annotate(aired=Count("pk")).values_list("slot_id", "aired")
        ):
            history.aired_count_by_slot[slot_id] += count
    horizon = before - timedelta(days=366)
    airings = sorted(
        [
            *rows.filter(start__gte=horizon).values_list("slot_id", "playable_id", "start"),
            *preempted.filter(start__gte=horizon).values_list("slot_id", "playable_id", "start"),
        ],
        key=lambda row: row[2],
    )
    for slot_id, playable_id, start in airings:
        item = snapshot.items.get(playable_id)
        # An airing of an episode now folded into a multi-episode program counts for that program.
        aired_id = item.id if item is not None else playable_id
        history.aired_at_by_slot[slot_id][aired_id] = start
        if item is not None and item.show_id is not None:
            history.last_episode_by_slot_show[(slot_id, item.show_id)] = aired_id
            history.last_show_by_slot[slot_id] = item.show_id
    return history


def load_rules(channel: Channel) -> dict[str, object]:
    rules: dict[str, object] = {rule.daypart: rule for rule in BreakRule.objects.filter(channel=channel)}
    rules.setdefault("", DefaultRule())
    return rules


def recent_airings(channel: Channel, before: datetime) -> dict[int, datetime]:
    """When each clip last aired on the channel within the rotation window before `before`."""
    recent = Piece.objects.filter(
        channel=channel, start__lt=before, start__gte=before - timedelta(hours=1), playable__isnull=False
    )
    return dict(recent.values("playable_id").annotate(last=Max("start")).values_list("playable_id", "last"))


# --- building -------------------------------------------------------------------------------------


def build_channel(
    channel: Channel,
    start: datetime,
    end: datetime,
    *,
    fine_until: datetime | None = None,
    snapshot: CatalogSnapshot | None = None,
) -> BuildReport:
    """Replace the channel's logs from `start` (a program boundary) to `end`."""
    began = clock.perf_counter()
    snapshot = snapshot or load_snapshot()
    report = BuildReport(channel=str(channel))
    with transaction.atomic():
        clear_from(channel, start)
        planned = plan_programs(channel, start, end, snapshot, report)
        rows = save_programs(channel, planned)
        report.programs = len(rows)
        if fine_until is not None:
            report.pieces = build_pieces(channel, [row for row in rows if row.start < fine_until], snapshot)
    report.seconds = clock.perf_counter() - began
    return report


def clear_from(channel: Channel, start: datetime) -> None:
    """Forget the channel's logs from `start` on (programs, their pieces, warnings, preemptions)."""
    ProgramEntry.objects.filter(channel=channel, start__gte=start).delete()
    ScheduleWarning.objects.filter(channel=channel, at__gte=start).delete()
    PreemptedProgram.objects.filter(channel=channel, start__gte=start).delete()


def plan_programs(
    channel, start, end, snapshot, report, *, save_side_rows: bool = True
) -> list[PlannedProgram]:
    """The programs from `start` (a boundary of the log) to `end`: the templates' plan with the desk
    entries laid over it. Warnings and preempted programs are saved unless `save_side_rows` is off
    (a dry run)."""
    entries = list(DeskEntry.objects.filter(channel=channel, start__lt=end).order_by("start", "pk"))
    entries = [entry for entry in entries if entry.reaches > start]
    # The templates' plan is the same with or without desk entries (see load_history), so an entry
    # that began before `start` is laid over the plan from where it began, and only what lies from
    # `start` on is kept.
    origin = min([start, *(_plan_origin(channel, entry) for entry in entries)])
    if entries and max(entry.reaches for entry in entries) > end:
        end = _next_local_midnight(channel, max(entry.reaches for entry in entries))
    previous = (
        ProgramEntry.objects.filter(channel=channel, stop=origin).values_list("slot_id", flat=True).first()
    )
    planner = ChannelPlanner(
        channel,
        slot_specs(channel),
        snapshot,
        load_history(channel, origin, snapshot),
        channel.fallback_items.values_list("pk", flat=True),
    )
    planned = planner.plan(origin, end, continues_slot=previous)
    preempted: list[PlannedProgram] = []
    if entries:
        cutter = ProgramCutter(channel, snapshot)
        for entry in entries:
            planned, taken = apply_entry(
                planned,
                entry_block(entry, snapshot, planner, report),
                cut=cutter.cut,
                filler_title=channel.name,
            )
            preempted += taken
    kept = []
    for program in planned:
        if program.stop <= start:
            continue
        kept.append(joined_at(program, start) if program.start < start else program)
    if save_side_rows:
        warnings = [(moment, message) for moment, message in planner.warnings if moment >= start]
        ScheduleWarning.objects.bulk_create(
            [
                ScheduleWarning(channel=channel, at=moment, message=message[:500])
                for moment, message in warnings
            ]
        )
        PreemptedProgram.objects.bulk_create(
            [
                PreemptedProgram(
                    channel=channel, slot_id=program.slot_id, playable_id=program.item.id, start=program.began
                )
                for program in preempted
                if program.began >= start
            ]
        )
        report.warnings += [message for _, message in warnings]
    return kept


def _plan_origin(channel: Channel, entry: DeskEntry) -> datetime:
    """Where the templates' plan starts for `entry` to be laid over it: its start, or for an
    interruption (which starts anywhere, not on the grid) where the program it cut into began, since
    a plan started mid-program would start a new one there."""
    if entry.kind != DeskEntry.Kind.INTERRUPTION:
        return entry.start
    cut = (
        ProgramEntry.objects.filter(channel=channel, stop=entry.start, start__lt=entry.start)
        .values_list("start", "joined_from")
        .first()
    )
    return (cut[1] or cut[0]) if cut else entry.start


def entry_block(entry: DeskEntry, snapshot: CatalogSnapshot, planner: ChannelPlanner, report) -> Block:
    """What a desk entry airs in its block: its items back to back on its grid (the last one given the
    rest of the block), a live event, or the channel's fallback."""
    common = {"desk_entry_id": entry.pk, "special": entry.special}
    programs: list[PlannedProgram] = []
    if entry.kind == DeskEntry.Kind.LIVE:
        programs.append(
            PlannedProgram(entry.start, entry.stop, ProgramCategory.LIVE, title=entry.title or "Live",
                           description=entry.description, **common)
        )  # fmt: skip
    elif entry.kind == DeskEntry.Kind.PROGRAMS:
        cursor = entry.start
        grid = max(1, entry.grid_minutes) * 60_000
        placed: set[int] = set()
        for item_id in entry.item_ids:
            item = snapshot.items.get(item_id)
            if item is not None and item.id in placed:
                continue  # another episode of a multi-episode file already placed: it airs once
            if item is None or item.kind not in ("episode", "movie"):
                message = f"Item {item_id} of the desk entry at {entry.start:%Y-%m-%d %H:%M} can't air (unavailable)."
                planner.warnings.append((entry.start, message))
                continue
            stop = min(cursor + timedelta(milliseconds=allot(item.duration_ms, grid)), entry.stop)
            if stop <= cursor:
                break
            category = ProgramCategory.MOVIE if item.kind == "movie" else ProgramCategory.SERIES
            programs.append(
                PlannedProgram(cursor, stop, category, item=item, title=entry.title if len(entry.item_ids) > 1 else "",
                               description=entry.description, **common)
            )  # fmt: skip
            cursor = stop
            placed.add(item.id)
        if programs and cursor < entry.stop:
            programs[-1].stop = entry.stop  # a block resized longer: more time for breaks and filler
        elif cursor < entry.stop:
            programs.append(planner.filler(cursor, entry.stop))
    else:
        filler = planner.filler(entry.start, entry.stop)
        filler.desk_entry_id = entry.pk
        if entry.kind == DeskEntry.Kind.INTERRUPTION:  # what aired was the alert: the guide says so
            filler.title, filler.description = entry.title or "Emergency alert", entry.description
        programs.append(filler)
    ripple = entry.mode == DeskEntry.Mode.RIPPLE
    return Block(
        entry.start,
        entry.stop,
        programs,
        ripple=ripple,
        resume_at=entry.resume_at if ripple else None,
        resumes_cut=entry.kind == DeskEntry.Kind.INTERRUPTION,
    )


class ProgramCutter:
    """Cuts a program at its last break before a time (`scheduling.ripple`), with the channel's rules."""

    def __init__(self, channel: Channel, snapshot: CatalogSnapshot):
        self.snapshot = snapshot
        self.breaks = BreakPlanner(channel, snapshot, load_rules(channel), {})

    def break_points(self, program: PlannedProgram) -> list[int]:
        item = program.item
        content = min(
            item.duration_ms, program.content_limit_ms or item.duration_ms, program.full_allotted_ms
        )
        if program.full_allotted_ms - content < MIN_POD_MS:
            return []  # no room for a break (see BreakPlanner.pieces_for)
        rule = self.breaks.rule_at(program.began)
        return break_points(content, program.full_allotted_ms, self.snapshot.chapters(item.id), rule)

    def cut(self, program: PlannedProgram, at: datetime) -> PlannedProgram | None:
        return cut_at_last_break(program, at, self.break_points)


def program_rows(channel: Channel, planned: list[PlannedProgram]) -> list[ProgramEntry]:
    """Unsaved log rows for planned programs."""
    rows = []
    for program in planned:
        item = program.item
        extra = {
            "joined_from": program.joined_from,
            "desk_entry_id": program.desk_entry_id,
            "special": program.special,
        }
        if item is None:
            description = program.description or (
                "Off the air until morning." if program.category == ProgramCategory.OFF_AIR else ""
            )
            rows.append(
                ProgramEntry(
                    channel=channel, start=program.start, stop=program.stop, title=(program.title or channel.name)[:300],
                    category=program.category, is_rerun=False, description=description, **extra,
                )
            )  # fmt: skip
            continue
        series = item.show_id is not None
        content = min(
            item.duration_ms, program.full_allotted_ms, program.content_limit_ms or item.duration_ms
        )
        title = program.title or (item.show_title if series else item.title)
        rows.append(
            ProgramEntry(
                channel=channel, start=program.start, stop=program.stop, playable_id=item.id, slot_id=program.slot_id,
                title=title[:300], subtitle=(item.title if series else "")[:300],
                description=program.description or item.summary, category=program.category,
                content_rating=item.content_rating[:40],
                season_number=item.season if series else None, episode_number=item.episode if series else None,
                last_episode_number=item.episode_last if series else None,
                is_rerun=not program.special, content_ms=content, **extra,
            )
        )  # fmt: skip
    return rows


def save_programs(channel: Channel, planned: list[PlannedProgram]) -> list[ProgramEntry]:
    return ProgramEntry.objects.bulk_create(program_rows(channel, planned), batch_size=2000)


def build_pieces(channel: Channel, programs: list[ProgramEntry], snapshot: CatalogSnapshot) -> int:
    """Fine log for the given programs (in air order), continuing the clip rotation of the log before them."""
    if not programs:
        return 0
    programs = sorted(programs, key=lambda row: row.start)
    planner = BreakPlanner(channel, snapshot, load_rules(channel), recent_airings(channel, programs[0].start))
    planner.channel_fallback_ids = tuple(channel.fallback_items.values_list("pk", flat=True))
    planner.channel_show_ids = frozenset(
        TimeSlot.shows.through.objects.filter(
            timeslot__template__channel=channel, timeslot__template__enabled=True
        ).values_list("show_id", flat=True)
    )
    planner.special_promos = _special_promos(channel, programs)
    planner.reserved_promo_ids = frozenset(
        pk
        for ids in DeskEntry.objects.exclude(promo_ids=[]).values_list("promo_ids", flat=True)
        for pk in ids
    )
    snapshot.load_chapters([row.playable_id for row in programs if row.playable_id])
    following = _upcoming_shows(channel, programs, snapshot)
    rows = []
    for program in programs:
        item = snapshot.items.get(program.playable_id) if program.playable_id else None
        began = program.joined_from or program.start
        pieces = planner.pieces_for(
            began, int((program.stop - began).total_seconds() * 1000), program.category, item,
            following[program.pk], content_ms=program.content_ms if item is not None else None,
        )  # fmt: skip
        rows += _piece_rows(channel, program, began, pieces)
    Piece.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def _piece_rows(channel, program, began, pieces) -> list[Piece]:
    """Rows for a program's planned pieces laid from `began`; a program joined in progress keeps
    only what airs from its start, the piece on the air then joined where it stands."""
    rows = []
    offset = 0
    for piece in pieces:
        begin = began + timedelta(milliseconds=offset)
        offset += piece.length
        end = began + timedelta(milliseconds=offset)
        if end <= program.start:
            continue
        in_ms = piece.in_ms
        if begin < program.start:
            in_ms += int((program.start - begin).total_seconds() * 1000)
            begin = program.start
        rows.append(
            Piece(
                channel=channel, program=program, sequence=len(rows), start=begin, stop=end, kind=piece.kind,
                playable_id=piece.item_id, in_ms=in_ms, out_ms=piece.out_ms,
            )
        )  # fmt: skip
    return rows


def _special_promos(channel, programs) -> tuple[tuple[datetime, tuple[int, ...]], ...]:
    """The channel's specials with promos of their own, from the first program to 3 days after the last."""
    from scheduling.breaks import SPECIAL_PROMO_LEAD

    rows = (
        DeskEntry.objects.filter(
            channel=channel,
            special=True,
            start__gt=programs[0].start,
            start__lte=programs[-1].stop + SPECIAL_PROMO_LEAD,
        )
        .exclude(promo_ids=[])
        .order_by("start")
        .values_list("start", "promo_ids")
    )
    return tuple((start, tuple(ids)) for start, ids in rows if ids)


def _upcoming_shows(channel, programs, snapshot) -> dict[int, tuple[int, ...]]:
    later = list(
        ProgramEntry.objects.filter(channel=channel, start__gte=programs[0].start)
        .order_by("start")
        .values_list("pk", "playable_id")[: len(programs) + PROMO_LOOKAHEAD]
    )
    shows = []
    for _, playable_id in later:
        item = snapshot.items.get(playable_id) if playable_id else None
        shows.append(item.show_id if item and item.show_id else None)
    upcoming = {}
    for index, (pk, _) in enumerate(later):
        upcoming[pk] = tuple(show for show in shows[index + 1 : index + 1 + PROMO_LOOKAHEAD] if show)
    return defaultdict(tuple, upcoming)


# --- rolling forward ------------------------------------------------------------------------------


def roll_forward(
    now: datetime | None = None,
    *,
    channels=None,
    program_days: int = PROGRAM_DAYS,
    fine_hours: int = FINE_HOURS,
) -> dict:
    """Extend every enabled channel to `program_days` of programs and `fine_hours` of pieces."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    snapshot = load_snapshot()
    fine_horizon = now + timedelta(hours=fine_hours)
    totals = {"channels": 0, "programs": 0, "pieces": 0, "warnings": 0}
    for channel in channels if channels is not None else Channel.objects.filter(enabled=True):
        last_stop = ProgramEntry.objects.filter(channel=channel).aggregate(last=Max("stop"))["last"]
        # Continue where the log ends; a log that ran out in the past restarts at this half hour.
        start = floor_half_hour(now) if last_stop is None else max(last_stop, floor_half_hour(now))
        # Plan to the channel's midnight after the horizon: days are window boundaries, so no
        # program is cut short at the edge (and the next roll-forward doesn't add slivers).
        horizon = _next_local_midnight(channel, now + timedelta(days=program_days))
        with transaction.atomic():
            if start < horizon:
                report = BuildReport(channel=str(channel))
                rows = save_programs(channel, plan_programs(channel, start, horizon, snapshot, report))
                totals["programs"] += len(rows)
                totals["warnings"] += len(report.warnings)
            missing = list(
                ProgramEntry.objects.filter(
                    channel=channel, stop__gt=now, start__lt=fine_horizon, pieces__isnull=True
                ).order_by("start")
            )
            totals["pieces"] += build_pieces(channel, missing, snapshot)
        totals["channels"] += 1
    return totals


def _next_local_midnight(channel: Channel, moment: datetime) -> datetime:
    local = moment.astimezone(channel.zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=channel.zone)
    return midnight.astimezone(UTC)


def rebuild_from_safe_point(channel: Channel, now: datetime | None = None) -> dict:
    """Rebuild after a template edit without touching what is on air: from the end of the current program."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    on_air = ProgramEntry.objects.filter(channel=channel, start__lte=now, stop__gt=now).first()
    safe = on_air.stop if on_air else floor_half_hour(now) + HALF_HOUR
    with transaction.atomic():
        clear_from(channel, safe)
    return roll_forward(now, channels=[channel])
