"""The fine plan: every piece that airs inside a program, to the millisecond.

A program of content length D given A milliseconds (its half-hour allotment) has A − D of break
time. Breaks fall at the item's chapter marks, merged when closer than the rule's spacing and
kept away from the start and end; an item without marks gets evenly spaced breaks. Each break is
bumper ("we'll be right back") → commercials → bumper ("now back to"); commercials fit the
daypart, season and audience, haven't expired, never share a company within one break, and rotate
so a spot doesn't repeat within the hour when there are enough spots. What is left at the end of
the program becomes promos for upcoming shows, a commercial pod, a station ID (a piece without a
clip when the channel has no station ID at all: playout airs its drawn card) and interstitials,
with the last clip trimmed so the program ends exactly on its boundary.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from catalog.ratings import limit_rank, rank_allowed
from scheduling.calendar import dayparts_matching, seasons_of
from scheduling.choices import PieceKind, ProgramCategory
from scheduling.snapshot import CatalogSnapshot, Item

ROTATION_WINDOW = timedelta(hours=1)
SPECIAL_PROMO_LEAD = timedelta(days=3)  # a special's own promos air in the days before it
CHANNEL_NAMED = re.compile(r"channel\s*(\d+(?:\.\d+)?)")  # a station ID's category: "channel 3"
MIN_POD_MS = 45_000
STATION_ID_CARD_MS = 5_000  # a drawn station ID card, where the channel has no station ID clip
# Bumpers say which side of a break they belong on in their category or title; "out" words are
# checked first because "We'll be right back" also contains "back".
BUMPER_OUT_WORDS = ("break out", "right back", "stay tuned", "after these", "out")
BUMPER_IN_WORDS = ("break in", "now back", "back to", "return", "in")


def bumper_side(item: Item) -> str:
    text = f"{item.category} {item.title}".lower()
    if any(word in text for word in BUMPER_OUT_WORDS):
        return "out"
    if any(word in text for word in BUMPER_IN_WORDS):
        return "in"
    return ""


@dataclass(frozen=True)
class DefaultRule:
    min_spacing_minutes: int = 6
    edge_minutes: int = 3
    breaks_per_half_hour: int = 2
    max_break_seconds: int = 180
    use_bumpers: bool = True
    categories: frozenset[str] = frozenset()


@dataclass
class PlannedPiece:
    kind: str
    item_id: int | None
    in_ms: int
    out_ms: int

    @property
    def length(self) -> int:
        return self.out_ms - self.in_ms


def break_points(duration_ms: int, allotted_ms: int, marks: list[int], rule) -> list[int]:
    """Where in the content the mid-program breaks fall (ms from the content's start)."""
    edge = rule.edge_minutes * 60_000
    spacing = rule.min_spacing_minutes * 60_000
    usable = [mark for mark in marks if edge <= mark <= duration_ms - edge]
    if usable:
        points: list[int] = []
        for mark in usable:
            if not points or mark - points[-1] >= spacing:
                points.append(mark)
        return points
    halves = max(1, round(allotted_ms / 1_800_000))
    count = max(0, rule.breaks_per_half_hour * halves - 1)  # the end-of-program break is one of them
    points = [duration_ms * index // (count + 1) for index in range(1, count + 1)]
    return [point for point in points if edge <= point <= duration_ms - edge]


class BreakPlanner:
    def __init__(
        self, channel, snapshot: CatalogSnapshot, rules: dict[str, object], recent: dict[int, datetime]
    ):
        self.channel = channel
        self.zone = channel.zone
        self.snapshot = snapshot
        self.rules = rules
        self.last_aired = dict(recent)
        self.limit = limit_rank(channel.content_rating_limit)
        self.demographic = channel.target_demographic

    # --- one program ---------------------------------------------------------------------------

    def rule_at(self, moment: datetime):
        local = moment.astimezone(self.zone)
        return self.rules.get(_daypart_key(local, self.rules)) or self.rules.get("") or DefaultRule()

    def pieces_for(
        self, start: datetime, allotted_ms: int, category: str, item: Item | None, upcoming_show_ids=(),
        content_ms: int | None = None,
    ):  # fmt: skip
        """The pieces of a program of `allotted_ms` from `start`; `content_ms` airs less of the item
        (a program cut at a break)."""
        rng = random.Random(f"{self.channel.seed}:{start.isoformat()}")
        if category == ProgramCategory.OFF_AIR:
            return [PlannedPiece(PieceKind.TEST_PATTERN, None, 0, allotted_ms)]
        if category == ProgramCategory.LIVE:
            return [PlannedPiece(PieceKind.LIVE, None, 0, allotted_ms)]
        if item is None:
            return self.fill_with_fallback(start, allotted_ms, rng)
        rule = self.rule_at(start)
        content_ms = min(item.duration_ms, allotted_ms, content_ms or item.duration_ms)
        spare = allotted_ms - content_ms
        points = (
            break_points(content_ms, allotted_ms, self.snapshot.chapters(item.id), rule)
            if spare >= MIN_POD_MS
            else []
        )
        pieces: list[PlannedPiece] = []
        position = 0
        clock = start
        mid_budget = min(rule.max_break_seconds * 1000, spare // (len(points) + 1)) if points else 0
        for point in points:
            pieces.append(PlannedPiece(PieceKind.CONTENT, item.id, position, point))
            clock += timedelta(milliseconds=point - position)
            position = point
            pod = self.commercial_break(clock, mid_budget, rule, rng)
            pieces.extend(pod)
            clock += timedelta(milliseconds=sum(piece.length for piece in pod))
        pieces.append(PlannedPiece(PieceKind.CONTENT, item.id, position, content_ms))
        clock += timedelta(milliseconds=content_ms - position)
        used = sum(piece.length for piece in pieces)
        pieces.extend(self.end_of_program(clock, allotted_ms - used, rule, rng, upcoming_show_ids))
        return pieces

    # --- breaks --------------------------------------------------------------------------------

    def eligible(self, kind: str, moment: datetime) -> list[Item]:
        local = moment.astimezone(self.zone)
        dayparts, seasons, today = dayparts_matching(local), seasons_of(local.date()), local.date()
        return [
            item
            for item in self.snapshot.short_form.get(kind, [])
            if item.daypart in dayparts
            and item.seasonal in seasons
            and (item.expires_on is None or item.expires_on >= today)
            and (not item.demographic or not self.demographic or item.demographic == self.demographic)
            and rank_allowed(item.rating_rank, self.limit)
            and self.belongs_here(item)
            and item.id not in self.reserved_promo_ids  # a special's own promos air only for it
        ]

    def belongs_here(self, item: Item) -> bool:
        """Promos only for shows this channel airs; station IDs only for this channel or the network."""
        if item.kind == PieceKind.PROMO and item.promotes_show_id is not None:
            return item.promotes_show_id in self.channel_show_ids
        if item.kind == PieceKind.STATION_ID:
            named = CHANNEL_NAMED.search(item.category.lower())
            return named is None or named.group(1) == self.channel.number
        return True

    @functools.cached_property
    def has_station_ids(self) -> bool:
        """Whether any station ID clip is this channel's or the network's, at any time of day."""
        return any(self.belongs_here(item) for item in self.snapshot.short_form.get(PieceKind.STATION_ID, []))

    def rotation_order(self, items: list[Item], moment: datetime, rng: random.Random) -> list[Item]:
        """Least recently aired first; spots aired within the hour go last; ties broken by the seed."""
        shuffled = sorted(items, key=lambda item: item.id)
        rng.shuffle(shuffled)

        def key(item: Item):
            aired = self.last_aired.get(item.id)
            recent = aired is not None and moment - aired < ROTATION_WINDOW
            return (recent, aired or datetime.min.replace(tzinfo=moment.tzinfo))

        return sorted(shuffled, key=key)

    def take(
        self, kind, moment: datetime, budget_ms: int, rng, companies: set[str] | None = None, limit=99,
        categories: frozenset[str] = frozenset(),
    ):  # fmt: skip
        """Greedily fill up to budget_ms with clips of one kind; returns the pieces."""
        pieces = []
        clock = moment
        for item in self.rotation_order(self.eligible(kind, moment), moment, rng):
            if len(pieces) >= limit or budget_ms <= 0:
                break
            if item.duration_ms > budget_ms or any(p.item_id == item.id for p in pieces):
                continue
            if categories and item.category.casefold() not in categories:
                continue
            if companies is not None and item.company:
                if item.company in companies:
                    continue
                companies.add(item.company)
            pieces.append(PlannedPiece(kind, item.id, 0, item.duration_ms))
            self.last_aired[item.id] = clock
            clock += timedelta(milliseconds=item.duration_ms)
            budget_ms -= item.duration_ms
        return pieces

    def bumper(self, moment: datetime, side: str, budget_ms: int, rng) -> list[PlannedPiece]:
        """A bumper for one side of a break ("out" before the ads, "in" after); neutral ones fill in."""
        bumpers = self.eligible(PieceKind.BUMPER, moment)
        matching = [item for item in bumpers if bumper_side(item) == side]
        neutral = [item for item in bumpers if bumper_side(item) == ""]
        for item in self.rotation_order(matching or neutral, moment, rng):
            if item.duration_ms <= budget_ms:
                self.last_aired[item.id] = moment
                return [PlannedPiece(PieceKind.BUMPER, item.id, 0, item.duration_ms)]
        return []

    def commercial_break(self, moment: datetime, budget_ms: int, rule, rng) -> list[PlannedPiece]:
        if budget_ms < MIN_POD_MS:
            return []
        pieces = []
        if rule.use_bumpers:
            pieces += self.bumper(moment, "out", budget_ms // 4, rng)
        reserve_in = (
            max((item.duration_ms for item in self.eligible(PieceKind.BUMPER, moment)), default=0)
            if rule.use_bumpers
            else 0
        )
        reserve_in = min(reserve_in, budget_ms // 4)
        used = sum(piece.length for piece in pieces)
        clock = moment + timedelta(milliseconds=used)
        ads = self.take(
            PieceKind.COMMERCIAL,
            clock,
            budget_ms - used - reserve_in,
            rng,
            companies=set(),
            categories=rule.categories,
        )
        if not ads:
            return []  # a break of bumpers alone is no break
        pieces += ads
        used = sum(piece.length for piece in pieces)
        if rule.use_bumpers:
            pieces += self.bumper(moment + timedelta(milliseconds=used), "in", budget_ms - used, rng)
        return pieces

    def end_of_program(self, moment, budget_ms, rule, rng, upcoming_show_ids) -> list[PlannedPiece]:
        pieces: list[PlannedPiece] = []

        def clock():
            return moment + timedelta(milliseconds=sum(piece.length for piece in pieces))

        def left():
            return budget_ms - sum(piece.length for piece in pieces)

        pieces += self.special_promo(moment, budget_ms, rng)
        promos = [
            item
            for item in self.eligible(PieceKind.PROMO, moment)
            if item.promotes_show_id in set(upcoming_show_ids)
        ]
        for item in self.rotation_order(promos, moment, rng)[:2]:
            if item.duration_ms <= left():
                pieces.append(PlannedPiece(PieceKind.PROMO, item.id, 0, item.duration_ms))
                self.last_aired[item.id] = clock()
        if left() >= MIN_POD_MS + 30_000:
            pieces += self.commercial_break(
                clock(), min(left() - 30_000, rule.max_break_seconds * 1000), rule, rng
            )
        station_id = self.take(PieceKind.STATION_ID, clock(), left(), rng, limit=1)
        if not station_id and not self.has_station_ids and left() >= STATION_ID_CARD_MS:
            # No clip says who we are: playout draws the channel's card (name and logo) instead.
            station_id = [PlannedPiece(PieceKind.STATION_ID, None, 0, STATION_ID_CARD_MS)]
        pieces += station_id
        for kind in (PieceKind.PROMO, PieceKind.INTERSTITIAL, PieceKind.FILLER):
            pieces += self.take(kind, clock(), left(), rng, limit=3 if kind == PieceKind.PROMO else 99)
        pieces += self.trimmed_to(clock(), left(), rng)
        return pieces

    def trimmed_to(self, moment: datetime, remaining_ms: int, rng) -> list[PlannedPiece]:
        """Exactly `remaining_ms` more: a longer clip cut short, or a slate when nothing is long enough."""
        if remaining_ms <= 0:
            return []
        for kind in (PieceKind.FILLER, PieceKind.INTERSTITIAL, PieceKind.PROMO, PieceKind.STATION_ID):
            longer = [item for item in self.eligible(kind, moment) if item.duration_ms >= remaining_ms]
            if longer:
                item = self.rotation_order(longer, moment, rng)[0]
                self.last_aired[item.id] = moment
                return [PlannedPiece(kind, item.id, 0, remaining_ms)]
        return [PlannedPiece(PieceKind.SLATE, None, 0, remaining_ms)]

    def fill_with_fallback(self, start: datetime, allotted_ms: int, rng) -> list[PlannedPiece]:
        """Fallback content where no template fills the time: the channel's fallback items, looped."""
        items = [
            self.snapshot.items[pk] for pk in sorted(self.channel_fallback_ids) if pk in self.snapshot.items
        ]
        items = [item for item in items if rank_allowed(item.rating_rank, self.limit)]
        if not items:
            items = self.eligible(PieceKind.FILLER, start) + self.eligible(PieceKind.INTERSTITIAL, start)
        pieces: list[PlannedPiece] = []
        remaining = allotted_ms
        if items:
            order = sorted(items, key=lambda item: item.id)
            rng.shuffle(order)
            index = 0
            while remaining > 0:
                item = order[index % len(order)]
                length = min(item.duration_ms, remaining)
                kind = item.kind if item.kind in PieceKind.values else PieceKind.FILLER
                kind = PieceKind.CONTENT if kind in ("episode", "movie") else kind
                pieces.append(PlannedPiece(kind, item.id, 0, length))
                remaining -= length
                index += 1
        if remaining > 0:
            pieces.append(PlannedPiece(PieceKind.SLATE, None, 0, remaining))
        return pieces

    channel_fallback_ids: tuple[int, ...] = ()
    channel_show_ids: frozenset[int] = frozenset()
    # Specials coming up on the channel with their own promos ("Tonight at 8"): (start, promo ids).
    special_promos: tuple[tuple[datetime, tuple[int, ...]], ...] = ()
    reserved_promo_ids: frozenset[int] = frozenset()

    def special_promo(self, moment: datetime, budget_ms: int, rng) -> list[PlannedPiece]:
        """One promo of the next special within SPECIAL_PROMO_LEAD, not again within the rotation hour."""
        for starts, promo_ids in self.special_promos:
            if not moment < starts <= moment + SPECIAL_PROMO_LEAD:
                continue
            clips = [self.snapshot.items[pk] for pk in promo_ids if pk in self.snapshot.items]
            fresh = [
                item
                for item in clips
                if item.duration_ms <= budget_ms
                and (item.id not in self.last_aired or moment - self.last_aired[item.id] >= ROTATION_WINDOW)
            ]
            if fresh:
                item = self.rotation_order(fresh, moment, rng)[0]
                self.last_aired[item.id] = moment
                return [PlannedPiece(PieceKind.PROMO, item.id, 0, item.duration_ms)]
            return []
        return []


def _daypart_key(local: datetime, rules: dict) -> str:
    from scheduling.calendar import daypart_of

    daypart = daypart_of(local)
    return daypart if daypart in rules else ""
