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
from scheduling.breaks import BreakPlanner, DefaultRule
from scheduling.choices import ProgramCategory
from scheduling.models import (
    BreakRule,
    Channel,
    Piece,
    ProgramEntry,
    ScheduleTemplate,
    ScheduleWarning,
    TimeSlot,
)
from scheduling.planner import ChannelPlanner, History, PlannedProgram, SlotSpec
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
    """Each slot's state as of `before`, read back from the channel's program log."""
    history = History()
    rows = ProgramEntry.objects.filter(
        channel=channel, start__lt=before, slot__isnull=False, playable__isnull=False
    )
    for slot_id, count in rows.values("slot_id").annotate(aired=Count("pk")).values_list("slot_id", "aired"):
        history.aired_count_by_slot[slot_id] = count
    horizon = before - timedelta(days=366)
    for slot_id, playable_id, start in (
        rows.filter(start__gte=horizon).order_by("start").values_list("slot_id", "playable_id", "start")
    ):
        item = snapshot.items.get(playable_id)
        history.aired_at_by_slot[slot_id][playable_id] = start
        if item is not None and item.show_id is not None:
            history.last_episode_by_slot_show[(slot_id, item.show_id)] = playable_id
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
        ProgramEntry.objects.filter(channel=channel, start__gte=start).delete()
        ScheduleWarning.objects.filter(channel=channel, at__gte=start).delete()
        planned = plan_programs(channel, start, end, snapshot, report)
        rows = save_programs(channel, planned)
        report.programs = len(rows)
        if fine_until is not None:
            report.pieces = build_pieces(channel, [row for row in rows if row.start < fine_until], snapshot)
    report.seconds = clock.perf_counter() - began
    return report


def plan_programs(channel, start, end, snapshot, report) -> list[PlannedProgram]:
    planner = ChannelPlanner(
        channel,
        slot_specs(channel),
        snapshot,
        load_history(channel, start, snapshot),
        channel.fallback_items.values_list("pk", flat=True),
    )
    planned = planner.plan(start, end)
    ScheduleWarning.objects.bulk_create(
        [
            ScheduleWarning(channel=channel, at=moment, message=message[:500])
            for moment, message in planner.warnings
        ]
    )
    report.warnings += [message for _, message in planner.warnings]
    return planned


def save_programs(channel: Channel, planned: list[PlannedProgram]) -> list[ProgramEntry]:
    rows = []
    for program in planned:
        item = program.item
        if item is None:
            rows.append(
                ProgramEntry(
                    channel=channel, start=program.start, stop=program.stop, title=program.title or channel.name,
                    category=program.category, is_rerun=False,
                    description="Off the air until morning." if program.category == ProgramCategory.OFF_AIR else "",
                )
            )  # fmt: skip
            continue
        series = item.show_id is not None
        rows.append(
            ProgramEntry(
                channel=channel, start=program.start, stop=program.stop, playable_id=item.id, slot_id=program.slot_id,
                title=(item.show_title if series else item.title)[:300], subtitle=(item.title if series else "")[:300],
                description=item.summary, category=program.category, content_rating=item.content_rating[:40],
                season_number=item.season if series else None, episode_number=item.episode if series else None,
                is_rerun=True, content_ms=min(item.duration_ms, program.allotted_ms),
            )
        )  # fmt: skip
    return ProgramEntry.objects.bulk_create(rows, batch_size=2000)


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
    snapshot.load_chapters([row.playable_id for row in programs if row.playable_id])
    following = _upcoming_shows(channel, programs, snapshot)
    rows = []
    for program in programs:
        item = snapshot.items.get(program.playable_id) if program.playable_id else None
        pieces = planner.pieces_for(
            program.start, program.duration_ms, program.category, item, following[program.pk]
        )
        offset = 0
        for sequence, piece in enumerate(pieces):
            begin = program.start + timedelta(milliseconds=offset)
            offset += piece.length
            rows.append(
                Piece(
                    channel=channel, program=program, sequence=sequence, start=begin,
                    stop=program.start + timedelta(milliseconds=offset), kind=piece.kind, playable_id=piece.item_id,
                    in_ms=piece.in_ms, out_ms=piece.out_ms,
                )
            )  # fmt: skip
    Piece.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


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
        ProgramEntry.objects.filter(channel=channel, start__gte=safe).delete()
        ScheduleWarning.objects.filter(channel=channel, at__gte=safe).delete()
    return roll_forward(now, channels=[channel])
