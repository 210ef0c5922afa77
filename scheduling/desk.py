"""The programming desk's edits: place, move, resize and delete programs by hand, undo and redo.

Every edit becomes desk entries (`DeskEntry`) laid over the templates by the builder, so the same
rules hold as for templates: programs get their time on the grid, ratings and availability are
checked, breaks follow the channel's break rules. An edit is checked, then the affected channels'
logs are rebuilt from the first program that changes, in one transaction:

- refused with a reason (`Refused`) when it can't hold: off the grid, an item that can't air on the
  channel, a block that overlaps another desk entry, a change to what is already on the air;
- refused as a conflict (`Conflict`) when a channel changed since the editor loaded it: each channel
  has a desk version (`DeskVersion`) that every edit raises, and an edit names the versions it saw;
- recorded (`DeskEdit`) with the entries before and after, which undo and redo write back.

Programs from the templates are edited by covering them: moving one away leaves a *cleared* entry
(the channel's fallback airs) where it was and a new entry where it goes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from catalog.ratings import limit_rank, rank_allowed
from scheduling.builder import (
    FINE_HOURS,
    BuildReport,
    build_channel,
    floor_half_hour,
    plan_programs,
    program_rows,
)
from scheduling.choices import ProgramCategory
from scheduling.models import Channel, DeskEdit, DeskEntry, DeskVersion, ProgramEntry
from scheduling.planner import allot
from scheduling.snapshot import load_snapshot

logger = logging.getLogger(__name__)

# An edit may not change anything airing sooner than this: the feed has already asked for it.
ON_AIR_MARGIN = timedelta(minutes=1)
GRID_CHOICES = (5, 10, 15, 30, 60)
ENTRY_FIELDS = (
    "channel_id", "kind", "mode", "start", "stop", "resume_at", "item_ids", "grid_minutes", "title",
    "description", "special", "promo_ids", "live_url",
)  # fmt: skip
COMPARED = (
    "start",
    "stop",
    "playable_id",
    "joined_from",
    "content_ms",
    "desk_entry_id",
    "title",
    "category",
    "special",
)


class Refused(Exception):
    """The edit can't hold; the message says why, for the editor."""


class Conflict(Exception):
    """Someone changed a channel since the editor loaded it; nothing was saved."""


@dataclass
class EditResult:
    edit: DeskEdit | None
    changed_from: dict[int, datetime] = field(default_factory=dict)  # channel id → first change
    versions: dict[int, int] = field(default_factory=dict)
    summary: str = ""


# --- snapshots of entries (what the edit log stores) -------------------------------------------------


def snapshot_of(entry: DeskEntry) -> dict:
    data = {"id": entry.pk}
    for name in ENTRY_FIELDS:
        value = getattr(entry, name)
        data[name] = value.isoformat() if isinstance(value, datetime) else value
    return data


def _restore(data: dict) -> DeskEntry | None:
    """Write a snapshot back: the entry as it was, or gone if it did not exist."""
    if len(data) == 1:
        DeskEntry.objects.filter(pk=data["id"]).delete()
        return None
    values = {
        name: datetime.fromisoformat(value) if name in ("start", "stop", "resume_at") and value else value
        for name, value in data.items()
        if name != "id"
    }
    entry, _ = DeskEntry.objects.update_or_create(pk=data["id"], defaults=values)
    return entry


# --- rules -------------------------------------------------------------------------------------------


def _local(moment: datetime, channel: Channel | None = None) -> str:
    """A time as the editor reads it: in the staff member's zone (retrovue.core.staff_time)."""
    return f"{timezone.localtime(moment):%a %d %b %H:%M}"


def check_entry(entry: DeskEntry, now: datetime, snapshot, *, moved: bool) -> None:
    """The planner's rules for one entry; raises Refused with the reason."""
    channel = entry.channel
    if entry.stop <= entry.start:
        raise Refused("A block must end after it starts.")
    if entry.grid_minutes not in GRID_CHOICES:
        raise Refused(f"The grid is one of {', '.join(map(str, GRID_CHOICES))} minutes.")
    local = entry.start.astimezone(channel.zone)
    if local.minute % entry.grid_minutes or local.second or local.microsecond:
        raise Refused(
            f"Programs start on the {entry.grid_minutes}-minute grid ({_local(entry.start, channel)} is off it); "
            "choose a finer grid to place it there."
        )
    if moved and entry.start < now + ON_AIR_MARGIN:
        raise Refused(
            f"{_local(entry.start, channel)} is on the air or past: only later times can be edited."
        )
    if entry.mode == DeskEntry.Mode.RIPPLE and (entry.resume_at is None or entry.resume_at <= entry.stop):
        raise Refused("A ripple needs a time after the block where the template takes over again.")
    limit = limit_rank(channel.content_rating_limit)
    if entry.kind == DeskEntry.Kind.PROGRAMS:
        if not entry.item_ids:
            raise Refused("Choose what to air.")
        needed = 0
        for item_id in entry.item_ids:
            item = snapshot.items.get(item_id)
            if item is None or item.kind not in ("episode", "movie"):
                raise Refused(
                    f"Item {item_id} can't air: it is unavailable, not in the catalog, or not a program."
                )
            if not rank_allowed(item.rating_rank, limit):
                raise Refused(
                    f"“{item.title}” is rated {item.content_rating or 'unrated'}, above channel {channel.number}'s "
                    f"limit ({channel.content_rating_limit})."
                )
            needed += allot(item.duration_ms, entry.grid_minutes * 60_000)
        if entry.stop - entry.start < timedelta(milliseconds=needed):
            raise Refused(
                f"The block is {_minutes(entry.stop - entry.start)} but its programs need {needed // 60_000} min on the "
                f"{entry.grid_minutes}-minute grid: a block can't be shorter than what it airs."
            )
    for promo_id in entry.promo_ids or ():
        promo = snapshot.items.get(promo_id)
        if promo is None or promo.kind != "promo":
            raise Refused(f"Item {promo_id} is not a promo that can air.")
    if entry.kind == DeskEntry.Kind.LIVE:
        from scheduling.live_sources import check_live_url

        check_live_url(entry.live_url)
    overlapping = (
        DeskEntry.objects.filter(channel=channel, start__lt=entry.reaches)
        .exclude(pk=entry.pk)
        .order_by("start")
    )
    for other in overlapping:
        if other.reaches > entry.start:
            raise Refused(
                f"Overlaps “{other.title or other.get_kind_display()}” on channel {channel.number} "
                f"({_local(other.start, channel)}–{timezone.localtime(other.reaches):%H:%M}): "
                "move or delete that one first."
            )


def _minutes(delta: timedelta) -> str:
    return f"{int(delta.total_seconds() // 60)} min"


# --- applying an edit ------------------------------------------------------------------------------


def _lock_versions(channel_ids, expected: dict[int, int] | None) -> dict[int, DeskVersion]:
    rows = {}
    for channel_id in sorted(set(channel_ids)):
        DeskVersion.objects.get_or_create(channel_id=channel_id)
        row = DeskVersion.objects.select_for_update().get(channel_id=channel_id)
        if expected is not None and channel_id in expected and expected[channel_id] != row.version:
            who = f" by {row.changed_by}" if row.changed_by else ""
            when = f" at {timezone.localtime(row.changed_at):%H:%M:%S}" if row.changed_at else ""
            number = Channel.objects.filter(pk=channel_id).values_list("number", flat=True).first()
            raise Conflict(
                f"Channel {number} was changed{who}{when} since you loaded it. Reload to see that edit; "
                "yours was not saved."
            )
        rows[channel_id] = row
    return rows


def _first_change(channel: Channel, planned_rows: list[ProgramEntry], since: datetime) -> datetime | None:
    """Where the planned log first differs from the saved one (None: nothing changes)."""
    saved = list(ProgramEntry.objects.filter(channel=channel, start__gte=since).order_by("start"))
    for old, new in zip(saved, planned_rows, strict=False):
        if any(getattr(old, name) != getattr(new, name) for name in COMPARED):
            return min(old.start, new.start)
    if len(saved) != len(planned_rows):
        shorter = min(len(saved), len(planned_rows))
        rest = saved[shorter:] or planned_rows[shorter:]
        return rest[0].start
    return None


def rebuild_changed(channel: Channel, now: datetime, snapshot) -> datetime | None:
    """Rebuild the channel's logs from the first program the desk entries change; refuse if that is
    already on the air. Returns where the change starts (None: nothing changed)."""
    on_air = ProgramEntry.objects.filter(channel=channel, start__lte=now, stop__gt=now).first()
    since = on_air.start if on_air else floor_half_hour(now)
    end = ProgramEntry.objects.filter(channel=channel).aggregate(last=Max("stop"))["last"]
    if end is None or end <= since:
        return None  # nothing built yet: roll-forward will build with the entries
    planned = plan_programs(channel, since, end, snapshot, BuildReport(str(channel)), save_side_rows=False)
    rows = program_rows(channel, planned)
    changed = _first_change(channel, rows, since)
    if changed is None:
        return None
    if changed < now + ON_AIR_MARGIN and not _only_its_end_moves(on_air, rows, now):
        raise Refused(
            f"That would change what channel {channel.number} has on the air now ({_local(changed, channel)}); "
            "only later programs can be edited."
        )
    build_channel(channel, changed, end, fine_until=now + timedelta(hours=FINE_HOURS), snapshot=snapshot)
    return changed


def _only_its_end_moves(on_air: ProgramEntry | None, planned: list[ProgramEntry], now: datetime) -> bool:
    """The program on the air stays as it is but ends at another time still to come (a live event
    ended early or extended): allowed, the feed follows at its next boundary."""
    if on_air is None or not planned:
        return False
    new = planned[0]
    same = all(
        getattr(new, name) == getattr(on_air, name)
        for name in ("start", "playable_id", "desk_entry_id", "title")
    )
    return same and min(new.stop, on_air.stop) >= now + ON_AIR_MARGIN


def commit(user, summary: str, changes: list[tuple[DeskEntry | None, DeskEntry | None]],
           versions: dict[int, int] | None, *, now: datetime | None = None) -> EditResult:  # fmt: skip
    """Apply `changes` ((before, after) pairs: None before = new entry, None after = delete) as one
    edit: check, save, rebuild, record. All or nothing."""
    now = now or timezone.now()
    channel_ids = {entry.channel_id for pair in changes for entry in pair if entry is not None}
    snapshot = load_snapshot()
    with transaction.atomic():
        rows = _lock_versions(channel_ids, versions)
        before, after = [], []
        for old, new in changes:
            if old is not None:
                fresh = DeskEntry.objects.filter(pk=old.pk).first()
                if fresh is None:
                    raise Conflict("That block was deleted meanwhile; reload.")
                before.append(snapshot_of(fresh))
            if new is None:
                DeskEntry.objects.filter(pk=old.pk).delete()
                after.append({"id": old.pk})
                continue
            moved = old is None or (new.start, new.channel_id) != (fresh.start, fresh.channel_id)
            new.save()
            if old is None:
                before.append({"id": new.pk})
            check_entry(new, now, snapshot, moved=moved)
            after.append(snapshot_of(new))
        result = _rebuild_and_record(user, summary, channel_ids, rows, now, snapshot)
        result.edit = DeskEdit.objects.create(
            user=user, summary=summary[:300], channel_ids=sorted(channel_ids), before=before, after=after
        )
        if user is not None:  # a new edit ends what could be redone
            DeskEdit.objects.filter(user=user, undone=True).delete()
    _after_commit()
    return result


def _rebuild_and_record(user, summary, channel_ids, rows, now, snapshot) -> EditResult:
    result = EditResult(edit=None)
    for channel in Channel.objects.filter(pk__in=channel_ids):
        changed = rebuild_changed(channel, now, snapshot)
        if changed is not None:
            result.changed_from[channel.pk] = changed
        row = rows[channel.pk]
        row.version += 1
        row.changed_by = user.get_username() if user is not None else ""
        row.changed_at = now
        row.save()
        result.versions[channel.pk] = row.version
    return result


def _after_commit() -> None:
    """Ask pre-generation to look at the new pieces now rather than at its next beat."""

    def queue():
        from celery import current_app

        try:
            current_app.send_task("pregen.plan")
        except Exception as error:  # the broker being down must not undo an edit; beat plans anyway
            logger.warning("Could not queue pre-generation after a desk edit: %s", error)

    transaction.on_commit(queue)


def undo(user, *, redo: bool = False, now: datetime | None = None) -> EditResult:
    """Undo the user's last edit (or redo the last one undone), unless its channels changed since."""
    now = now or timezone.now()
    edit = DeskEdit.objects.filter(user=user, undone=redo).order_by("-at", "-pk").first()
    if edit is None:
        raise Refused("Nothing to redo." if redo else "Nothing to undo.")
    snapshot = load_snapshot()
    with transaction.atomic():
        rows = _lock_versions(edit.channel_ids, None)
        written = edit.before if not redo else edit.after
        expected = edit.after if not redo else edit.before
        for data in expected:
            current = DeskEntry.objects.filter(pk=data["id"]).first()
            if (current is None) != (len(data) == 1) or (
                current is not None and snapshot_of(current) != data
            ):
                raise Conflict(
                    f"Can't {'redo' if redo else 'undo'} “{edit.summary}”: that block was changed since."
                )
        for data in written:
            entry = _restore(data)
            if entry is not None:
                check_entry(entry, now, snapshot, moved=False)
        result = _rebuild_and_record(user, f"{'Redo' if redo else 'Undo'}: {edit.summary}", edit.channel_ids,
                                     rows, now, snapshot)  # fmt: skip
        edit.undone = not redo
        edit.save(update_fields=["undone"])
        result.edit = edit
        result.summary = f"{'Redone' if redo else 'Undone'}: {edit.summary}"
    _after_commit()
    return result


# --- the edits the timeline makes ------------------------------------------------------------------


def new_entry(channel: Channel, start: datetime, *, item_ids=(), user=None, **fields) -> DeskEntry:
    """An unsaved entry for `item_ids` at `start`, its block as long as its programs on its grid."""
    grid = fields.get("grid_minutes", 30)
    entry = DeskEntry(channel=channel, start=start, item_ids=list(item_ids), created_by=user, **fields)
    if entry.stop is None:
        if not item_ids:
            raise Refused("Give the block an end.")
        snapshot_items = load_snapshot().items
        total = sum(
            allot(snapshot_items[pk].duration_ms, grid * 60_000) if pk in snapshot_items else 0
            for pk in item_ids
        )
        if not total:
            raise Refused("None of those items can air (unavailable or not in the catalog).")
        entry.stop = start + timedelta(milliseconds=total)
    return entry


def _copy(entry: DeskEntry) -> DeskEntry:
    clone = DeskEntry.objects.get(pk=entry.pk)
    return clone


def place(user, channel: Channel, start: datetime, item_ids, versions=None, **fields) -> EditResult:
    entry = new_entry(channel, start, item_ids=item_ids, user=user, **fields)
    label = fields.get("title") or (
        "live event" if entry.kind == DeskEntry.Kind.LIVE else f"{len(entry.item_ids)} item(s)"
    )
    return commit(
        user, f"Placed {label} on {channel.number} at {_local(start, channel)}", [(None, entry)], versions
    )


def program_entry(program: ProgramEntry) -> DeskEntry | None:
    """The desk entry a logged program belongs to, if it airs all of it (one program per entry)."""
    if program.desk_entry_id is None:
        return None
    entry = program.desk_entry
    if entry.kind == DeskEntry.Kind.PROGRAMS and len(entry.item_ids) > 1:
        return entry  # a marathon moves and goes as one
    return entry


def move(
    user, program: ProgramEntry, channel: Channel, start: datetime, versions=None, **fields
) -> EditResult:
    """Move a logged program (a template's or a desk entry's) to `start` on `channel`."""
    entry = program_entry(program)
    if entry is not None:
        moved = _copy(entry)
        length = moved.stop - moved.start
        shift = start - moved.start
        moved.channel, moved.start, moved.stop = channel, start, start + length
        if moved.resume_at:
            moved.resume_at += shift
        return commit(user, f"Moved {program.title} to {channel.number} at {_local(start, channel)}",
                      [(entry, moved)], versions)  # fmt: skip
    if program.playable_id is None:
        raise Refused("Only programs can be moved; fallback time is filled by dropping something on it.")
    if program.start < timezone.now() + ON_AIR_MARGIN:
        raise Refused("That program is on the air or past: only later programs can be moved.")
    cleared = DeskEntry(channel=program.channel, kind=DeskEntry.Kind.CLEARED, start=program.start, stop=program.stop,
                        title=f"(moved away: {program.title})"[:300], created_by=user)  # fmt: skip
    target = new_entry(channel, start, item_ids=[program.playable_id], user=user, **fields)
    return commit(user, f"Moved {program.title} to {channel.number} at {_local(start, channel)}",
                  [(None, cleared), (None, target)], versions)  # fmt: skip


def resize(user, program: ProgramEntry, stop: datetime, versions=None) -> EditResult:
    """Trim or extend a program's block; extending takes only fallback time."""
    channel = program.channel
    if stop <= program.start:
        raise Refused("A block must end after it starts.")
    if stop > program.stop:
        taken = ProgramEntry.objects.filter(channel=channel, start__lt=stop, stop__gt=program.stop).exclude(
            category__in=[ProgramCategory.FILLER]
        )
        blocking = taken.first()
        if blocking is not None:
            raise Refused(
                f"Extending into “{blocking.title}” ({_local(blocking.start, channel)}): only fallback time can be "
                "taken; move or delete that program first."
            )
    entry = program_entry(program)
    if entry is not None:
        changed = _copy(entry)
        changed.stop = changed.stop + (stop - program.stop)
        return commit(user, f"Resized {program.title}", [(entry, changed)], versions)
    if program.playable_id is None:
        raise Refused("Only programs can be resized.")
    target = DeskEntry(channel=channel, start=program.start, stop=stop, item_ids=[program.playable_id],
                       grid_minutes=_grid_of(program), created_by=user)  # fmt: skip
    changes = [(None, target)]
    if stop < program.stop:
        changes.append((None, DeskEntry(channel=channel, kind=DeskEntry.Kind.CLEARED, start=stop, stop=program.stop,
                                        title="(trimmed)", created_by=user)))  # fmt: skip
    return commit(user, f"Resized {program.title}", changes, versions)


def _grid_of(program: ProgramEntry) -> int:
    for grid in reversed(GRID_CHOICES):
        local = program.start.astimezone(program.channel.zone)
        if local.minute % grid == 0 and (program.stop - program.start) % timedelta(minutes=grid) == timedelta(
            0
        ):
            return grid
    return 5


def delete(user, program: ProgramEntry, versions=None) -> EditResult:
    """Take a program off: a desk entry goes (a marathon as a whole); a template's program is cleared
    (the channel's fallback airs there until something is dropped on it)."""
    entry = program_entry(program)
    if entry is not None:
        return commit(user, f"Deleted {entry.title or program.title}", [(entry, None)], versions)
    if program.category == ProgramCategory.FILLER:
        raise Refused("That is already fallback time.")
    cleared = DeskEntry(channel=program.channel, kind=DeskEntry.Kind.CLEARED, start=program.start, stop=program.stop,
                        title=f"(deleted: {program.title})"[:300], created_by=user)  # fmt: skip
    return commit(user, f"Deleted {program.title}", [(None, cleared)], versions)


def update_entry(user, entry: DeskEntry, versions=None, **fields) -> EditResult:
    """Change an entry's fields (the form path: end a live event early, extend it, set a ripple's end)."""
    changed = _copy(entry)
    for name, value in fields.items():
        setattr(changed, name, value)
    return commit(user, f"Changed {entry.title or entry.get_kind_display()}", [(entry, changed)], versions)


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
