"""Segment pre-generation: every piece that airs in the coming hours, encoded once, ahead of air.

A `PregenPiece` row is one cut of one item (or a slate / test pattern of some length) encoded to one
stream profile with one channel bug burned in. The same cut airing again, on any channel with the
same profile and bug, reuses the row and its file. The work, in the order beat runs it:

- `plan_horizon` maps the fine log of every enabled channel for the next hours onto rows (creating
  the missing ones), records when each next airs, and returns the rows still to encode, soonest
  first and no more than the store can hold;
- `encode` claims one row (conditional UPDATE pending → encoding), cuts and encodes it into a temp
  file, probes the result and renames it into place; a missing source fails the row with a reason
  staff can act on (the channel airs a slate for it meanwhile);
- `evict` keeps the store under its cap by deleting what airs least soon, never anything airing
  within the hour;
- `coverage` tells the monitor how far ahead a channel can play from ready files alone.

Files live under `pregen_store()` as `<profile id>/<row id // 1000>/<row id>.ts`; rows store the
path relative to the store, so the store can move.

Where the parts live: `playout.pregen_store` (the store's settings, paths, channel bugs, orphan
sweeping) and `playout.pregen_encode` (one row's encode); this module plans, evicts and measures
coverage, and re-exports what callers use.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Q, Sum, Value, When
from django.utils import timezone

from playout.models import PregenPiece, PregenStatus
from playout.pregen_encode import (
    ENCODER_INTERRUPTED,
    RETRYABLE_ERRORS,
    SOURCE_UNAVAILABLE,
    _with_tracks,
    encode,
    requeue_stalled,
)
from playout.pregen_store import (
    GB,
    SLATE,
    STALE_ENCODE,
    STATION_CARD,
    TEST_PATTERN,
    SourceUnavailable,
    bug_key,
    card_key,
    channel_bug,
    encoder_preset,
    file_path,
    max_enqueued,
    max_store_bytes,
    overlay_key,
    plan_hours,
    pregen_store,
    relative_path,
    remember_bug,
    remember_card,
    remember_overlay,
    sweep_orphans,
)
from playout.up_next import UpNext, next_titles, up_next
from scheduling.choices import PieceKind
from scheduling.models import Channel, Piece, ProgramEntry

logger = logging.getLogger(__name__)

SPECIALS = {PieceKind.SLATE: SLATE, PieceKind.TEST_PATTERN: TEST_PATTERN}
# Never evict what airs this soon: the channel may already have it queued.
EVICTION_GUARD = timedelta(hours=1)
# MPEG-TS packet and PES overhead over the codec bitrates, for estimating sizes before encoding.
TS_OVERHEAD = 1.08


@dataclass(frozen=True)
class CutKey:
    """The identity of a pre-generated piece (mirrors the unique constraint on PregenPiece)."""

    playable_id: int | None
    special: str
    profile_id: int
    bug_key: str
    in_ms: int
    out_ms: int

    def fields(self) -> dict:
        return {
            "playable_id": self.playable_id,
            "special": self.special,
            "profile_id": self.profile_id,
            "bug_key": self.bug_key,
            "in_ms": self.in_ms,
            "out_ms": self.out_ms,
        }


# --- From the fine log to rows ---------------------------------------------------------------------


def _cut_key(kind, playable_id, in_ms, out_ms, start, stop, profile_id, bug, card="") -> CutKey | None:
    special = SPECIALS.get(kind)
    if special is None and playable_id is None:
        # A station ID without a clip is the channel's card; anything else with nothing to play
        # airs the slate.
        special = STATION_CARD if kind == PieceKind.STATION_ID and card else SLATE
    if special:
        length = out_ms - in_ms if out_ms > in_ms else int((stop - start).total_seconds() * 1000)
        if length <= 0:
            return None
        # A card is the channel's own (its key says which card, in the row's bug_key column).
        return CutKey(None, special, profile_id, card if special == STATION_CARD else "", 0, length)
    if out_ms <= in_ms:
        return None
    return CutKey(playable_id, "", profile_id, bug, in_ms, out_ms)


def _enabled_channels(channel_ids: Iterable[int] | None = None):
    channels = Channel.objects.filter(enabled=True)
    return channels if channel_ids is None else channels.filter(pk__in=list(channel_ids))


def _channel_ids(channel_ids: Iterable[int] | None = None) -> list[int]:
    return list(_enabled_channels(channel_ids).values_list("pk", flat=True))


def _channel_keys(channel_ids: Iterable[int] | None = None) -> dict[int, tuple[int, str, str, str]]:
    """(profile id, bug key, station ID card key, number) per enabled channel."""
    return {
        channel.pk: (channel.stream_profile_id, remember_bug(channel), remember_card(channel), channel.number)
        for channel in _enabled_channels(channel_ids)
    }


def _overlays(bug: str, lower_third: UpNext | None, number: str, *, remember: bool) -> str:
    """The key of what is burned over a piece: its channel's bug, plus an "Up next" lower third."""
    if lower_third is None:
        return bug
    make = remember_overlay if remember else overlay_key
    return make(bug, lower_third.title, lower_third.from_ms, number)


def _upcoming(now: datetime, until: datetime | None, channel_ids: Iterable[int] | None = None):
    """(channel id, start, stop, key) for each piece of enabled channels airing in [now, until),
    in start order."""
    channels = _channel_keys(channel_ids)
    # A live event's piece airs its source, not a file (playout.live_events).
    pieces = Piece.objects.filter(channel_id__in=list(channels), stop__gt=now).exclude(kind=PieceKind.LIVE)
    if until is not None:
        pieces = pieces.filter(start__lt=until)
    programs = ProgramEntry.objects.filter(channel_id__in=list(channels), stop__gt=now)
    if until is not None:
        programs = programs.filter(start__lt=until)
    following = next_titles(programs.values_list("pk", flat=True))
    rows = pieces.order_by("start").values_list(
        "channel_id", "kind", "playable_id", "in_ms", "out_ms", "start", "stop", "program_id"
    )
    for channel, kind, playable_id, in_ms, out_ms, start, stop, program in rows.iterator(chunk_size=5000):
        profile_id, bug, card, number = channels[channel]
        lower_third = up_next(kind, playable_id, start, stop, following.get(program))
        bug = _overlays(bug, lower_third, number, remember=True)
        yield (
            channel,
            start,
            stop,
            _cut_key(kind, playable_id, in_ms, out_ms, start, stop, profile_id, bug, card),
        )


def _row_key(row: PregenPiece) -> CutKey:
    return CutKey(row.playable_id, row.special, row.profile_id, row.bug_key, row.in_ms, row.out_ms)


def _existing(keys: Iterable[CutKey], **filters) -> dict[CutKey, PregenPiece]:
    keys = set(keys)
    if not keys:
        return {}
    playables = {key.playable_id for key in keys if key.playable_id is not None}
    specials = {key.special for key in keys if key.special}
    wanted = Q(pk__in=[])
    if playables:
        wanted |= Q(playable_id__in=playables)
    if specials:
        wanted |= Q(playable__isnull=True, special__in=specials)
    rows = PregenPiece.objects.filter(wanted, profile_id__in={key.profile_id for key in keys}, **filters)
    found: dict[CutKey, PregenPiece] = {}
    # Oldest first: a duplicate special (NULL playables aren't unique in SQL) loses to the original.
    for row in rows.order_by("pk").iterator(chunk_size=5000):
        key = _row_key(row)
        if key in keys:
            found.setdefault(key, row)
    return found


def _rows_for(keys: Iterable[CutKey]) -> dict[CutKey, PregenPiece]:
    """The rows for these cuts, creating the missing ones."""
    keys = set(keys)
    found = _existing(keys)
    missing = [key for key in keys if key not in found]
    if missing:
        PregenPiece.objects.bulk_create(
            [PregenPiece(**key.fields()) for key in missing], ignore_conflicts=True, batch_size=1000
        )
        found.update(_existing(missing))
    return found


def piece_for(piece: Piece) -> PregenPiece:
    """The pre-generated piece a fine-log row plays from (created, pending, if new).

    Content and short-form pieces map to their item and in/out points with the channel's bug;
    slates, test patterns and pieces without an item to a bug-less special of the same length (a
    station ID without a clip to the channel's card).
    """
    channel = piece.channel
    key = _cut_key(
        piece.kind,
        piece.playable_id,
        piece.in_ms,
        piece.out_ms,
        piece.start,
        piece.stop,
        channel.stream_profile_id,
        _overlays(remember_bug(channel), _up_next(piece), channel.number, remember=True),
        remember_card(channel) if _is_card(piece) else "",
    )
    if key is None:
        raise ValueError(f"piece {piece.pk} has no length to encode")
    row = _existing([key]).get(key)
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return PregenPiece.objects.create(**key.fields())
    except IntegrityError:  # another planner made it meanwhile
        return _existing([key])[key]


def _up_next(piece: Piece) -> UpNext | None:
    following = next_titles([piece.program_id]).get(piece.program_id) if piece.program_id else None
    return up_next(piece.kind, piece.playable_id, piece.start, piece.stop, following)


def _is_card(piece: Piece) -> bool:
    return piece.kind == PieceKind.STATION_ID and piece.playable_id is None


def ready_file(piece: Piece) -> Path | None:
    """The encoded file for a fine-log row if it is ready (for the channel process), else None."""
    channel = piece.channel
    key = _cut_key(
        piece.kind,
        piece.playable_id,
        piece.in_ms,
        piece.out_ms,
        piece.start,
        piece.stop,
        channel.stream_profile_id,
        _overlays(bug_key(channel), _up_next(piece), channel.number, remember=False),
        card_key(channel) if _is_card(piece) else "",
    )
    row = _existing([key], status=PregenStatus.READY).get(key) if key else None
    if row is None:
        return None
    path = file_path(row)
    return path if path.is_file() else None


def mark_aired(pregen_piece: PregenPiece, at: datetime | None = None) -> None:
    """Record that a piece went to air (the channel process calls this)."""
    PregenPiece.objects.filter(pk=pregen_piece.pk).update(last_aired_at=at or timezone.now())


def _refresh_airings(now: datetime, until: datetime | None, *, create: bool) -> dict[int, datetime]:
    """Set next_air_at from the fine log for [now, until) (until=None: all of it).

    Rows that aired before now and don't air again in the window move that time to last_aired_at;
    rows that were due in the window but no longer are (a rebuilt log) lose their next airing.
    Returns {row id: next airing} for the rows seen.
    """
    soonest: dict[CutKey, datetime] = {}
    for _channel, start, _stop, key in _upcoming(now, until):
        if key is not None and (key not in soonest or start < soonest[key]):
            soonest[key] = start
    rows = _rows_for(soonest) if create else _existing(soonest)
    changed = []
    for key, row in rows.items():
        if row.next_air_at != soonest[key]:
            row.next_air_at = soonest[key]
            changed.append(row)
    PregenPiece.objects.bulk_update(changed, ["next_air_at"], batch_size=1000)
    seen = [row.pk for row in rows.values()]
    passed = PregenPiece.objects.filter(next_air_at__lt=now).exclude(pk__in=seen)
    passed.update(
        last_aired_at=F("next_air_at"),
        next_air_at=None,
    )
    dropped = PregenPiece.objects.filter(next_air_at__gte=now).exclude(pk__in=seen)
    if until is not None:
        dropped = dropped.filter(next_air_at__lt=until)
    dropped.update(next_air_at=None)
    return {row.pk: row.next_air_at for row in rows.values()}


def plan_horizon(hours: float | None = None, now: datetime | None = None) -> list[PregenPiece]:
    """Map the next `hours` of every enabled channel onto rows; return those to encode.

    Soonest airing first, except that a piece already on air comes after every piece still to
    start: a channel airing it transcodes it live to its end anyway, so encoding it first (a fresh
    install's every channel is in that state) would only delay the pieces that can still air
    pre-generated. It still gets encoded, for a restart or an on-demand tune-in. Rows that failed for a reason that may have cleared (a source that
    was missing) are given another go. The list stops where the store would overflow its cap
    counting everything due before it, since eviction would only throw that work away.
    """
    now = now or timezone.now()
    hours = plan_hours() if hours is None else hours
    airing = _refresh_airings(now, now + timedelta(hours=hours), create=True)
    retry = Q()
    for prefix in RETRYABLE_ERRORS:
        retry |= Q(error__startswith=prefix)
    PregenPiece.objects.filter(retry, pk__in=list(airing), status=PregenStatus.FAILED).update(
        status=PregenStatus.PENDING
    )
    budget = max_store_bytes() - _guarded_bytes_not_in(airing, now)
    needed = []
    rows = PregenPiece.objects.filter(pk__in=list(airing)).select_related("profile")
    on_air = Case(When(next_air_at__lt=now, then=Value(1)), default=Value(0), output_field=IntegerField())
    for row in rows.order_by(on_air, "next_air_at", "pk"):
        if row.status == PregenStatus.READY and not _matches_profile(row):
            # The profile was edited since: encode again (the old file is replaced in place).
            PregenPiece.objects.filter(pk=row.pk, status=PregenStatus.READY).update(
                status=PregenStatus.PENDING
            )
            row.status = PregenStatus.PENDING
        if row.status == PregenStatus.FAILED:
            continue
        budget -= (row.size_bytes or 0) if row.status == PregenStatus.READY else estimated_bytes(row)
        if budget < 0:
            break
        if row.status == PregenStatus.PENDING:
            needed.append(row)
    return needed


def _matches_profile(row: PregenPiece) -> bool:
    """Whether a ready file still has its profile's size and frame rate (the parts a probe sees),
    and was made after the profile's audio language or forced-subtitle choice last changed."""
    profile = row.profile
    tracks_current = profile.tracks_changed_at is None or (
        row.ready_at is not None and row.ready_at >= profile.tracks_changed_at
    )
    return (
        tracks_current
        and (row.width, row.height) == (profile.width, profile.height)
        and (row.frame_rate is None or Decimal(row.frame_rate) == Decimal(str(profile.frame_rate)))
    )


def _guarded_bytes_not_in(row_ids, now: datetime) -> int:
    """Ready bytes outside the horizon that eviction may not remove (the rest can make room)."""
    ready = PregenPiece.objects.filter(status=PregenStatus.READY).exclude(pk__in=list(row_ids))
    guarded = ready.filter(next_air_at__lt=now + EVICTION_GUARD)
    return guarded.aggregate(total=Sum("size_bytes"))["total"] or 0


def estimated_bytes(pregen_piece: PregenPiece) -> int:
    profile = pregen_piece.profile
    kbps = profile.video_bitrate_kbps + profile.audio_bitrate_kbps
    return int((pregen_piece.out_ms - pregen_piece.in_ms) / 1000 * kbps * 125 * TS_OVERHEAD)


# --- Eviction --------------------------------------------------------------------------------------


def evict(max_bytes: int | None = None, now: datetime | None = None) -> dict:
    """Delete ready pieces, least soon to air first, until the store is under `max_bytes`.

    Airings are first refreshed from the whole fine log, so "airs least soon" is true beyond the
    planning horizon. Order: no airing scheduled (longest since last aired first), then the latest
    next airing. Nothing airing within EVICTION_GUARD is touched, even if that leaves the store
    over its cap. Rows that will never be encoded (pending or failed, no airing) are dropped too.
    """
    now = now or timezone.now()
    max_bytes = max_store_bytes() if max_bytes is None else max_bytes
    _refresh_airings(now, None, create=False)
    pruned, _ = PregenPiece.objects.filter(
        status__in=[PregenStatus.PENDING, PregenStatus.FAILED], next_air_at__isnull=True
    ).delete()
    ready = PregenPiece.objects.filter(status=PregenStatus.READY)
    total = ready.aggregate(total=Sum("size_bytes"))["total"] or 0
    evicted = freed = 0
    if total > max_bytes:
        candidates = ready.filter(Q(next_air_at__isnull=True) | Q(next_air_at__gte=now + EVICTION_GUARD))
        ordered = candidates.order_by(
            F("next_air_at").desc(nulls_first=True), F("last_aired_at").asc(nulls_first=True), "pk"
        )
        for row in ordered.iterator(chunk_size=500):
            if total <= max_bytes:
                break
            deleted, _ = PregenPiece.objects.filter(pk=row.pk, status=PregenStatus.READY).delete()
            if not deleted:
                continue
            file_path(row).unlink(missing_ok=True)
            total -= row.size_bytes or 0
            freed += row.size_bytes or 0
            evicted += 1
    swept = sweep_orphans(now)
    return {
        "evicted": evicted,
        "freed_bytes": freed,
        "store_bytes": total,
        "over_cap": total > max_bytes,
        "pruned": pruned,
        "orphans_removed": swept,
    }


# --- Coverage --------------------------------------------------------------------------------------


def coverage(channel: Channel, now: datetime | None = None, within: timedelta | None = None) -> timedelta:
    """How far ahead of now the channel plays from ready files alone, without a hole.

    Counts from now through consecutive ready pieces and stops at the first piece that is not
    ready or at a gap in the log (so the piece on air now must be ready for any coverage).
    Looks no further than `within` (default: the planning horizon). A disabled channel has none.
    """
    return coverage_by_channel(now, within, channel_ids=[channel.pk]).get(channel.pk, timedelta(0))


def coverage_by_channel(
    now: datetime | None = None, within: timedelta | None = None, channel_ids=None
) -> dict[int, timedelta]:
    """`coverage` for every enabled channel (or those named), by channel id, in a few queries."""
    now = now or timezone.now()
    within = timedelta(hours=plan_hours()) if within is None else within
    pieces = list(_upcoming(now, now + within, channel_ids=channel_ids))
    ready = _existing({key for *_, key in pieces if key}, status=PregenStatus.READY)
    covered_until: dict[int, datetime] = {}
    blocked: set[int] = set()
    for channel_id, start, stop, key in pieces:  # in start order
        if channel_id in blocked:
            continue
        reached = covered_until.setdefault(channel_id, now)
        if start > reached or key is None or key not in ready:
            blocked.add(channel_id)
        else:
            covered_until[channel_id] = stop
    channels = _channel_ids(channel_ids)
    return {pk: max(covered_until.get(pk, now) - now, timedelta(0)) for pk in channels}


# --- Can pre-generation keep up? --------------------------------------------------------------------

HORIZON_NOTICE_KEY = "pregen:horizon"
# Speeds are measured over this many of a profile's latest encodes.
SPEED_SAMPLE = 20


@dataclass(frozen=True)
class Forecast:
    """Where pre-generated air runs out at the measured encode speed, if it does."""

    covered: bool
    reaches: datetime | None  # the airing of the first piece that will not be ready in time
    late_pieces: int
    speed: float  # content seconds encoded per second, per encoder (the slowest profile's, of those used)


def measured_speed(profile_id: int) -> float | None:
    """Seconds of content one encoder makes per second, over the profile's latest encodes."""
    rows = (
        PregenPiece.objects.filter(profile_id=profile_id, status=PregenStatus.READY, encode_seconds__gt=0)
        .exclude(duration_ms__isnull=True)
        .order_by("-ready_at")
        .values_list("duration_ms", "encode_seconds")[:SPEED_SAMPLE]
    )
    content = sum(duration for duration, _ in rows) / 1000
    spent = sum(float(seconds) for _, seconds in rows)
    return content / spent if content and spent else None


def forecast(needed: list[PregenPiece], now: datetime, encoders: int) -> Forecast | None:
    """Whether `encoders` encoding `needed` (soonest first, as plan_horizon returns it) at the
    measured speed finish each piece before it airs; None until a speed has been measured."""
    speeds = {profile_id: measured_speed(profile_id) for profile_id in {row.profile_id for row in needed}}
    if not needed or any(value is None for value in speeds.values()):
        return None
    free_at = [now] * max(1, encoders)
    late = 0
    reaches = None
    for row in needed:
        free_at.sort()
        seconds = (row.out_ms - row.in_ms) / 1000 / speeds[row.profile_id]
        free_at[0] = max(free_at[0], now) + timedelta(seconds=seconds)
        if row.next_air_at is not None and row.next_air_at > now and free_at[0] > row.next_air_at:
            late += 1
            reaches = reaches or row.next_air_at
    return Forecast(covered=not late, reaches=reaches, late_pieces=late, speed=min(speeds.values()))


def warn_if_short(
    needed: list[PregenPiece], now: datetime | None = None, encoders: int = 1
) -> Forecast | None:
    """Tell staff (a notice on every admin page) when pre-generation can't cover the horizon, and
    how far it reaches; clear the notice once it can."""
    from retrovue.core.models import NoticeLevel
    from retrovue.core.notices import clear_notice, raise_notice

    now = now or timezone.now()
    outlook = forecast(needed, now, encoders)
    if outlook is None or outlook.covered:
        if outlook is not None:
            clear_notice(HORIZON_NOTICE_KEY)
        return outlook
    minutes = max(0, int((outlook.reaches - now).total_seconds() // 60))
    raise_notice(
        HORIZON_NOTICE_KEY,
        "Pre-generation can't keep up with the schedule",
        f"At the measured speed ({outlook.speed:.1f}× real time per encoder, {encoders} encoder(s)), "
        f"pre-generated pieces cover the schedule until {outlook.reaches:%Y-%m-%d %H:%M} UTC "
        f"(about {minutes} min from now); {outlook.late_pieces} piece(s) in the next {plan_hours():g} h "
        "will be transcoded live. More encoders (RETROVUE_PREGEN_CONCURRENCY, another pregen worker), "
        "a faster preset (RETROVUE_PREGEN_PRESET) or a shorter horizon (RETROVUE_PREGEN_HOURS) help.",
        level=NoticeLevel.WARNING,
    )
    return outlook


def speed(pregen_piece: PregenPiece) -> float | None:
    """How many times faster than real time a piece was encoded."""
    if not pregen_piece.encode_seconds or not pregen_piece.duration_ms:
        return None
    return float(Fraction(pregen_piece.duration_ms, 1000) / Fraction(str(pregen_piece.encode_seconds)))


__all__ = [
    "ENCODER_INTERRUPTED",
    "EVICTION_GUARD",
    "GB",
    "HORIZON_NOTICE_KEY",
    "RETRYABLE_ERRORS",
    "SLATE",
    "SOURCE_UNAVAILABLE",
    "STALE_ENCODE",
    "TEST_PATTERN",
    "CutKey",
    "Forecast",
    "SourceUnavailable",
    "_with_tracks",
    "bug_key",
    "channel_bug",
    "coverage",
    "coverage_by_channel",
    "encode",
    "encoder_preset",
    "evict",
    "file_path",
    "forecast",
    "mark_aired",
    "max_enqueued",
    "max_store_bytes",
    "piece_for",
    "plan_horizon",
    "plan_hours",
    "pregen_store",
    "ready_file",
    "relative_path",
    "requeue_stalled",
    "speed",
    "sweep_orphans",
    "warn_if_short",
]
