"""The coarse plan: which program airs when, slot by slot, for a channel (no breaks yet).

A day's windows come from the channel's templates: every template that applies on the date
contributes its slots for that weekday, highest priority first, and a slot only takes the minutes
no higher slot took. Minutes nobody claims are fallback windows; sign-off hours are off air.

Inside a window, programs are placed back to back, each given its length rounded up to the next
half hour, so programs start on the hour and half hour and a 22-minute episode gets a 30-minute
slot (the 8 minutes become its breaks later).

What airs next is derived from the channel's log itself (the history passed in): the next
episode in order after the last one the slot aired, the position in the current shuffle cycle,
the episodes aired within the repeat spacing. So a rebuild from any point continues exactly
where the log says, and the same templates, catalog, seed and history give the same plan.
"""

from __future__ import annotations

import copy
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from catalog.choices import ContentKind
from catalog.ratings import limit_rank, rank_allowed
from scheduling.calendar import seasons_of
from scheduling.choices import OrderMode, ProgramCategory, SlotContent
from scheduling.snapshot import CatalogSnapshot, Item

HALF_HOUR_MS = 30 * 60 * 1000
MINUTE_MS = 60 * 1000


@dataclass
class PlannedProgram:
    start: datetime
    stop: datetime
    category: str
    item: Item | None = None
    slot_id: int | None = None
    title: str = ""
    # Joined in progress: the program began at `joined_from` (as it would have on a station that was
    # always on) and airs from `start`; its pieces are those of [joined_from, stop) from `start` on.
    joined_from: datetime | None = None
    # Cut at a break: only this much of the item airs (None: all of it that fits).
    content_limit_ms: int | None = None
    desk_entry_id: int | None = None
    special: bool = False
    description: str = ""

    @property
    def allotted_ms(self) -> int:
        return int((self.stop - self.start).total_seconds() * 1000)

    @property
    def began(self) -> datetime:
        """When the program began: its start, or where it was joined from."""
        return self.joined_from or self.start

    @property
    def full_allotted_ms(self) -> int:
        """Its time from where it began (its whole allotment when joined in progress)."""
        return int((self.stop - self.began).total_seconds() * 1000)


@dataclass
class SlotSpec:
    """A TimeSlot reduced to what planning needs (loaded once per build)."""

    id: int
    title: str
    days: frozenset[int]
    start_minute: int
    end_minute: int
    content: str
    order: str
    show_ids: tuple[int, ...]
    movie_ids: tuple[int, ...]
    repeat_spacing_days: int
    priority: int
    template_applies: object  # callable(date) -> bool
    # Collection slots: members in the collection's order, as ("playable", id, 0), ("show", id, 0)
    # or ("season", show id, season number); empty when the collection is gone.
    collection_members: tuple[tuple[str, int, int], ...] = ()


@dataclass
class History:
    """What the channel's log already aired, per slot: the state every order mode continues from."""

    last_episode_by_slot_show: dict[tuple[int, int], int] = field(default_factory=dict)
    aired_count_by_slot: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    aired_at_by_slot: dict[int, dict[int, datetime]] = field(default_factory=lambda: defaultdict(dict))
    last_show_by_slot: dict[int, int] = field(default_factory=dict)

    def record(self, slot_id: int, item: Item, start: datetime) -> None:
        self.aired_count_by_slot[slot_id] += 1
        self.aired_at_by_slot[slot_id][item.id] = start
        if item.show_id is not None:
            self.last_episode_by_slot_show[(slot_id, item.show_id)] = item.id
            self.last_show_by_slot[slot_id] = item.show_id


@dataclass
class Window:
    start_minute: int
    end_minute: int
    slot: SlotSpec | None
    off_air: bool = False


def day_windows(day: date, slots: list[SlotSpec], sign_off: tuple[int, int] | None) -> list[Window]:
    """The day's minutes [0, 1440) split into slot, fallback and off-air windows."""
    owner: list[object] = [None] * (24 * 60)
    if sign_off is not None:
        off_start, off_end = sign_off
        minutes = (
            range(off_start, off_end)
            if off_start < off_end
            else [*range(off_start, 1440), *range(0, off_end)]
        )
        for minute in minutes:
            owner[minute] = "off"
    weekday = day.weekday()
    for slot in sorted(slots, key=lambda spec: (-spec.priority, spec.start_minute, spec.id)):
        if weekday not in slot.days or not slot.template_applies(day):
            continue
        for minute in range(slot.start_minute, slot.end_minute):
            if owner[minute] is None:
                owner[minute] = slot
    windows: list[Window] = []
    start = 0
    for minute in range(1, 24 * 60 + 1):
        if minute == 24 * 60 or owner[minute] is not owner[start]:
            claimed = owner[start]
            windows.append(
                Window(
                    start,
                    minute,
                    claimed if isinstance(claimed, SlotSpec) else None,
                    off_air=claimed == "off",
                )
            )
            start = minute
    return windows


def allot(duration_ms: int, grid_ms: int = HALF_HOUR_MS) -> int:
    """A program's time: its length rounded up to the grid (the half hour, unless staff say otherwise)."""
    return -(-duration_ms // grid_ms) * grid_ms


class ChannelPlanner:
    def __init__(
        self, channel, slots: list[SlotSpec], snapshot: CatalogSnapshot, history: History, fallback_ids
    ):
        self.channel = channel
        self.zone = channel.zone
        self.slots = slots
        self.snapshot = snapshot
        self.history = history
        self.fallback_ids = list(fallback_ids)
        self.warnings: list[tuple[datetime, str]] = []
        if channel.sign_off_at and channel.sign_on_at and channel.sign_off_at != channel.sign_on_at:
            self.sign_off = (_minute(channel.sign_off_at), _minute(channel.sign_on_at))
        else:
            self.sign_off = None

    # --- the day loop --------------------------------------------------------------------------

    def plan(
        self, start: datetime, end: datetime, *, continues_slot: int | None = None
    ) -> list[PlannedProgram]:
        """Programs for [start, end). `continues_slot` is the slot of the log's program that ends at
        `start`: when `start` falls inside another slot's window (a channel starting, a template
        changed), that slot's program is joined in progress, as on a station that was always on."""
        programs: list[PlannedProgram] = []
        day = start.astimezone(self.zone).date()
        while True:
            midnight = datetime.combine(day, time(0), tzinfo=self.zone)
            if midnight.astimezone(UTC) >= end:
                break
            for window in day_windows(day, self.slots, self.sign_off):
                natural_start = _at(midnight, window.start_minute)
                window_start = max(natural_start, start)
                window_end = min(_at(midnight, window.end_minute), end)
                if window_start >= window_end:
                    continue
                if (
                    natural_start < start
                    and window.slot is not None
                    and window.slot.id != continues_slot
                    and (joined := self.joined_in_progress(window, natural_start, start, window_end))
                ):
                    programs.append(joined)
                    window_start = joined.stop
                    if window_start >= window_end:
                        continue
                programs.extend(self.fill(window, window_start, window_end))
            day += timedelta(days=1)
        return _merge_adjacent_fillers(programs)

    def joined_in_progress(
        self, window: Window, natural_start: datetime, start: datetime, window_end: datetime
    ) -> PlannedProgram | None:
        """The program of `window` on the air at `start` had the channel been on since the window
        began, joined at `start`; None when a program would begin exactly at `start` anyway.

        The window is planned from its beginning with a copy of the history (what aired before
        `start` is not recorded as aired); only the program straddling `start` is kept and recorded.
        """
        saved = self.history
        self.history = copy.deepcopy(saved)
        warnings = len(self.warnings)
        try:
            virtual = self.fill(window, natural_start, window_end)
        finally:
            self.history = saved
            del self.warnings[warnings:]
        for program in virtual:
            if program.start < start < program.stop:
                if program.item is None:
                    return None  # filler: the normal fill of the rest is the same thing
                program.joined_from, program.start = program.start, start
                self.history.record(program.slot_id, program.item, program.joined_from)
                return program
        return None

    def fill(self, window: Window, start: datetime, end: datetime) -> list[PlannedProgram]:
        if window.off_air:
            return [PlannedProgram(start, end, ProgramCategory.OFF_AIR, title="Off air")]
        if window.slot is None:
            return [self.filler(start, end)]
        programs = []
        cursor = start
        while cursor < end:
            remaining = int((end - cursor).total_seconds() * 1000)
            item = self.next_item(window.slot, cursor, remaining)
            if item is None:
                if remaining >= HALF_HOUR_MS:
                    self.warnings.append(
                        # No wall-clock time in the text: the warning's own time is shown in each staff
                        # member's zone, where this text would speak of the channel's.
                        (cursor, f"Nothing in the {_slot_label(window.slot)} (channel time) fits its remaining "
                                 f"{remaining // MINUTE_MS} min; fallback content airs instead.")
                    )  # fmt: skip
                programs.append(self.filler(cursor, end))
                break
            length = min(allot(item.duration_ms), remaining)
            stop = cursor + timedelta(milliseconds=length)
            category = (
                ProgramCategory.MOVIE
                if window.slot.content == SlotContent.MOVIES or item.kind == ContentKind.MOVIE
                else ProgramCategory.SERIES
            )
            programs.append(PlannedProgram(cursor, stop, category, item=item, slot_id=window.slot.id))
            self.history.record(window.slot.id, item, cursor)
            cursor = stop
        return programs

    def filler(self, start: datetime, end: datetime) -> PlannedProgram:
        return PlannedProgram(start, end, ProgramCategory.FILLER, title=self.channel.name)

    # --- choosing what airs --------------------------------------------------------------------

    def pool(self, slot: SlotSpec, moment: datetime) -> list[Item]:
        seasons = seasons_of(moment.astimezone(self.zone).date())
        # A work two sources hold (linked by catalog matching) is one program, not two.
        if slot.content == SlotContent.MOVIES:
            ids = [pk for pk in slot.movie_ids or tuple(self.snapshot.movies) if pk in self.snapshot.movies]
            ids = self.snapshot.one_copy_per_work(ids, self.snapshot.movie_work)
            candidates = [self.snapshot.movies[pk] for pk in ids]
        elif slot.content == SlotContent.COLLECTION:
            candidates = self.collection_pool(slot)
        else:
            shows = [show for show in slot.show_ids if show in self.snapshot.episodes_by_show]
            shows = self.snapshot.one_copy_per_work(shows, self.snapshot.show_work)
            candidates = [item for show in shows for item in self.snapshot.episodes_by_show[show]]
        limit = limit_rank(self.channel.content_rating_limit)
        return [
            item for item in candidates if rank_allowed(item.rating_rank, limit) and item.seasonal in seasons
        ]

    def collection_pool(self, slot: SlotSpec) -> list[Item]:
        """The airable movies and episodes a collection names, in its order, each once."""
        found: dict[int, Item] = {}
        for kind, first, second in slot.collection_members:
            if kind == "playable":
                item = self.snapshot.items.get(first)
                members = (
                    [item]
                    if item is not None and item.kind in (ContentKind.EPISODE, ContentKind.MOVIE)
                    else []
                )
            elif kind == "show":
                members = self.snapshot.episodes_by_show.get(first, [])
            else:
                members = [
                    item for item in self.snapshot.episodes_by_show.get(first, []) if item.season == second
                ]
            for item in members:
                found.setdefault(item.id, item)
        return list(found.values())

    def next_item(self, slot: SlotSpec, moment: datetime, remaining_ms: int) -> Item | None:
        pool = self.pool(slot, moment)
        if not pool:
            return None
        fits = [item for item in pool if item.duration_ms <= remaining_ms]
        if not fits:
            return None
        if slot.order == OrderMode.SHUFFLE:
            return self.next_shuffled(slot, pool, remaining_ms)
        if slot.order == OrderMode.RANDOM:
            return self.next_random(slot, fits, moment)
        return self.next_in_order(slot, pool, remaining_ms)

    def next_in_order(self, slot: SlotSpec, pool: list[Item], remaining_ms: int) -> Item | None:
        by_show: dict[int | None, list[Item]] = defaultdict(list)
        for item in pool:
            by_show[item.show_id].append(item)
        shows = [show for show in slot.show_ids if show in by_show] or list(by_show)
        # Several shows in one slot take turns; each continues its own episode order.
        last_show = self.history.last_show_by_slot.get(slot.id)
        start_index = (shows.index(last_show) + 1) % len(shows) if last_show in shows else 0
        for offset in range(len(shows)):
            show = shows[(start_index + offset) % len(shows)]
            episodes = by_show[show]
            last = self.history.last_episode_by_slot_show.get((slot.id, show)) if show is not None else None
            position = next((index for index, item in enumerate(episodes) if item.id == last), -1)
            if show is None:  # movies in order: continue after the most recent one
                aired = self.history.aired_at_by_slot.get(slot.id, {})
                last_movie = max(aired, key=aired.get, default=None)
                position = next((index for index, item in enumerate(episodes) if item.id == last_movie), -1)
            for step in range(1, len(episodes) + 1):
                candidate = episodes[(position + step) % len(episodes)]
                if candidate.duration_ms <= remaining_ms:
                    return candidate
        return None

    def next_shuffled(self, slot: SlotSpec, pool: list[Item], remaining_ms: int) -> Item | None:
        aired = self.history.aired_count_by_slot.get(slot.id, 0)
        for extra in range(len(pool)):
            position = aired + extra
            cycle, index = divmod(position, len(pool))
            order = sorted(pool, key=lambda item: item.id)
            random.Random(f"{self.channel.seed}:{slot.id}:{cycle}").shuffle(order)
            candidate = order[index]
            if candidate.duration_ms <= remaining_ms:
                if extra:
                    self.history.aired_count_by_slot[slot.id] += extra  # skipped ones count as spent
                return candidate
        return None

    def next_random(self, slot: SlotSpec, fits: list[Item], moment: datetime) -> Item:
        spacing = timedelta(days=slot.repeat_spacing_days)
        aired = self.history.aired_at_by_slot.get(slot.id, {})
        fresh = [item for item in fits if item.id not in aired or moment - aired[item.id] >= spacing]
        choices = fresh or sorted(fits, key=lambda item: aired.get(item.id, moment))[:1]
        rng = random.Random(f"{self.channel.seed}:{slot.id}:{moment.isoformat()}")
        return rng.choice(sorted(choices, key=lambda item: item.id))


def _slot_label(slot: SlotSpec) -> str:
    if slot.title:
        return f"“{slot.title}” slot"
    kind = {SlotContent.MOVIES: "movie", SlotContent.COLLECTION: "collection"}.get(slot.content, "episode")
    return f"{slot.start_minute // 60:02d}:{slot.start_minute % 60:02d} {kind} slot"


def _minute(value: time) -> int:
    return value.hour * 60 + value.minute


def _at(midnight: datetime, minute: int) -> datetime:
    """A wall-clock minute of the local day, as UTC.

    All arithmetic happens in UTC: Python subtracts two datetimes that share a tzinfo as if they
    were naive, which would make a DST night's programs an hour too long or short.
    """
    local = midnight.replace(tzinfo=None) + timedelta(minutes=minute)
    return local.replace(tzinfo=midnight.tzinfo).astimezone(UTC)


def _merge_adjacent_fillers(programs: list[PlannedProgram]) -> list[PlannedProgram]:
    merged: list[PlannedProgram] = []
    for program in programs:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and program.item is None
            and previous.item is None
            and program.category == previous.category
            and previous.stop == program.start
        ):
            previous.stop = program.stop
        else:
            merged.append(program)
    return merged
