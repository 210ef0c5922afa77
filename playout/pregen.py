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
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from catalog.media.probe import probe_media_file
from catalog.media.versions import airing_files
from catalog.models import MediaStream
from playout import ffmpeg_commands as commands
from playout import tracks
from playout.inputs import InputUnavailable, RemoteParts
from playout.models import PregenPiece, PregenStatus
from retrovue.env import env_float, env_int, env_str
from retrovue.subprocesses import CommandError, run_command
from scheduling.choices import PieceKind
from scheduling.models import Channel, Piece

logger = logging.getLogger(__name__)

SLATE = "slate"
TEST_PATTERN = "test_pattern"
SPECIALS = {PieceKind.SLATE: SLATE, PieceKind.TEST_PATTERN: TEST_PATTERN}
# Never evict what airs this soon: the channel may already have it queued.
EVICTION_GUARD = timedelta(hours=1)
# An encoding row whose temp file has not grown for this long lost its worker.
STALE_ENCODE = timedelta(minutes=15)
# Errors that may clear up by themselves (a NAS back online, a worker restarted): the next plan
# retries rows that failed with them; other failures wait for staff.
SOURCE_UNAVAILABLE = "Source unavailable"
ENCODER_INTERRUPTED = "Encoder interrupted"
RETRYABLE_ERRORS = (SOURCE_UNAVAILABLE, ENCODER_INTERRUPTED)
# An encode may take this long: a fixed allowance plus this multiple of the piece's length
# (a 2-core box encodes SD several times faster than real time).
ENCODE_TIMEOUT_BASE_SECONDS = 120
ENCODE_TIMEOUT_PER_SECOND = 4
# How far the measured length may stray from the frames asked for before the file is refused.
LENGTH_TOLERANCE_MS = 250
# MPEG-TS packet and PES overhead over the codec bitrates, for estimating sizes before encoding.
TS_OVERHEAD = 1.08
GB = 1_000_000_000


# The item's file can't be read here or from its server; the message says why, for staff.
SourceUnavailable = InputUnavailable


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


# --- Settings --------------------------------------------------------------------------------------


def pregen_store() -> Path:
    """Where encoded pieces live (RETROVUE_PREGEN_ROOT, default DATA_DIR/pregen)."""
    root = getattr(settings, "RETROVUE_PREGEN_ROOT", None) or env_str("RETROVUE_PREGEN_ROOT", None)
    return Path(root) if root else Path(settings.DATA_DIR) / "pregen"


def max_store_bytes() -> int:
    """The store's size cap (RETROVUE_PREGEN_MAX_GB, default 20 GB)."""
    gigabytes = getattr(settings, "RETROVUE_PREGEN_MAX_GB", None)
    if gigabytes is None:
        gigabytes = env_float("RETROVUE_PREGEN_MAX_GB", 20.0, minimum=0.0)
    return int(float(gigabytes) * GB)


def plan_hours() -> float:
    hours = getattr(settings, "RETROVUE_PREGEN_HOURS", None)
    return float(hours) if hours is not None else env_float("RETROVUE_PREGEN_HOURS", 6.0, minimum=0.0)


def encoder_preset() -> str:
    return getattr(settings, "RETROVUE_PREGEN_PRESET", None) or env_str(
        "RETROVUE_PREGEN_PRESET", commands.DEFAULT_PRESET
    )


def max_enqueued() -> int:
    limit = getattr(settings, "RETROVUE_PREGEN_MAX_ENQUEUED", None)
    return int(limit) if limit is not None else env_int("RETROVUE_PREGEN_MAX_ENQUEUED", 200, minimum=1)


def file_path(pregen_piece: PregenPiece) -> Path:
    """The absolute path of a row's file (whether or not it exists yet)."""
    return pregen_store() / (pregen_piece.path or _relative_path(pregen_piece))


def _relative_path(pregen_piece: PregenPiece) -> str:
    return f"{pregen_piece.profile_id}/{pregen_piece.pk // 1000:04d}/{pregen_piece.pk}.ts"


# --- Channel bugs ----------------------------------------------------------------------------------


def bug_key(channel: Channel) -> str:
    """A digest of the channel's bug (image bytes, corner, opacity); blank for no bug.

    A bug image that can't be read counts as no bug: airing without the bug beats airing slates.
    """
    image = _bug_bytes(channel)
    if image is None:
        return ""
    digest = hashlib.sha256(image)
    digest.update(f"|{channel.bug_corner}|{Decimal(str(channel.bug_opacity)):.2f}".encode())
    return digest.hexdigest()[:32]


def _bug_bytes(channel: Channel) -> bytes | None:
    if not channel.bug_image:
        return None
    try:
        with channel.bug_image.open("rb") as image:
            return image.read() or None
    except (OSError, ValueError) as error:
        logger.warning(
            "Channel %s: bug image %s unreadable (%s); encoding without it",
            channel,
            channel.bug_image.name,
            error,
        )
        return None


def _remember_bug(channel: Channel) -> str:
    """The channel's bug key, with the bug copied into the store so encodes need no channel."""
    key = bug_key(channel)
    if not key:
        return ""
    spec = _bug_spec(key)
    if not spec.exists():
        spec.parent.mkdir(parents=True, exist_ok=True)
        # ffmpeg tells image formats by their extension: keep the upload's.
        image = spec.with_suffix(Path(channel.bug_image.name).suffix.lower() or ".png")
        _write_atomically(image, _bug_bytes(channel) or b"")
        description = {
            "image": image.name,
            "corner": channel.bug_corner,
            "opacity": float(channel.bug_opacity),
        }
        _write_atomically(spec, json.dumps(description).encode())
    return key


def channel_bug(channel: Channel) -> commands.Bug | None:
    """The channel's bug as `pregen_argv` takes it (a copy in the store), or None: for live
    transcodes that should look like the pre-generated pieces around them."""
    key = _remember_bug(channel)
    return _bug_for(key) if key else None


def _bug_spec(key: str) -> Path:
    """The store's copy of a bug: `<key>.json` (corner, opacity, image name) beside the image."""
    return pregen_store() / "bugs" / f"{key}.json"


def _bug_for(key: str) -> commands.Bug:
    spec = _bug_spec(key)
    if not spec.exists():
        for channel in Channel.objects.exclude(bug_image=""):
            if bug_key(channel) == key:
                _remember_bug(channel)
                break
    try:
        description = json.loads(spec.read_text())
    except (OSError, ValueError):
        raise SourceUnavailable(
            "the channel bug it was planned with is no longer used by any channel"
        ) from None
    return commands.Bug(
        path=str(spec.with_name(description["image"])),
        corner=description["corner"],
        opacity=description["opacity"],
    )


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


# --- From the fine log to rows ---------------------------------------------------------------------


def _cut_key(kind, playable_id, in_ms, out_ms, start, stop, profile_id, bug) -> CutKey | None:
    special = SPECIALS.get(kind)
    if special is None and playable_id is None:
        special = SLATE  # nothing to play: the slate is what airs
    if special:
        length = out_ms - in_ms if out_ms > in_ms else int((stop - start).total_seconds() * 1000)
        if length <= 0:
            return None
        return CutKey(None, special, profile_id, "", 0, length)
    if out_ms <= in_ms:
        return None
    return CutKey(playable_id, "", profile_id, bug, in_ms, out_ms)


def _enabled_channels(channel_ids: Iterable[int] | None = None):
    channels = Channel.objects.filter(enabled=True)
    return channels if channel_ids is None else channels.filter(pk__in=list(channel_ids))


def _channel_ids(channel_ids: Iterable[int] | None = None) -> list[int]:
    return list(_enabled_channels(channel_ids).values_list("pk", flat=True))


def _channel_keys(channel_ids: Iterable[int] | None = None) -> dict[int, tuple[int, str]]:
    """(profile id, bug key) per enabled channel."""
    return {
        channel.pk: (channel.stream_profile_id, _remember_bug(channel))
        for channel in _enabled_channels(channel_ids)
    }


def _upcoming(now: datetime, until: datetime | None, channel_ids: Iterable[int] | None = None):
    """(channel id, start, stop, key) for each piece of enabled channels airing in [now, until),
    in start order."""
    channels = _channel_keys(channel_ids)
    # A live event's piece airs its source, not a file (playout.live_events).
    pieces = Piece.objects.filter(channel_id__in=list(channels), stop__gt=now).exclude(kind=PieceKind.LIVE)
    if until is not None:
        pieces = pieces.filter(start__lt=until)
    rows = pieces.order_by("start").values_list(
        "channel_id", "kind", "playable_id", "in_ms", "out_ms", "start", "stop"
    )
    for channel, kind, playable_id, in_ms, out_ms, start, stop in rows.iterator(chunk_size=5000):
        profile_id, bug = channels[channel]
        yield channel, start, stop, _cut_key(kind, playable_id, in_ms, out_ms, start, stop, profile_id, bug)


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
    slates, test patterns and pieces without an item to a bug-less special of the same length.
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
        _remember_bug(channel),
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
        bug_key(channel),
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

    Soonest airing first. Rows that failed for a reason that may have cleared (a source that
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
    for row in rows.order_by("next_air_at", "pk"):
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


# --- Encoding --------------------------------------------------------------------------------------


def encode(pregen_piece: PregenPiece | int) -> PregenPiece | None:
    """Encode one pending row into its file. Returns the row as it ends up (None if it is gone).

    Only the caller whose conditional UPDATE moves the row from pending to encoding does the work;
    any other gets the row back untouched. A failure leaves the row `failed` with the reason (the
    tail of ffmpeg's stderr for an encoder error).
    """
    pk = pregen_piece if isinstance(pregen_piece, int) else pregen_piece.pk
    claimed = PregenPiece.objects.filter(pk=pk, status=PregenStatus.PENDING).update(
        status=PregenStatus.ENCODING, error=""
    )
    row = PregenPiece.objects.select_related("profile").filter(pk=pk).first()
    if not claimed or row is None:  # someone else has it, it is done, or eviction pruned it
        return row
    final = file_path(row)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(f"{final.name}.{uuid.uuid4().hex[:8]}.tmp")
    temporary.touch()  # proof of life for requeue_stalled until ffmpeg writes to it
    try:
        return _encode_claimed(row, final, temporary)
    except Exception as error:
        _fail(row, f"Unexpected error: {error}")
        raise
    finally:
        temporary.unlink(missing_ok=True)


def _encode_claimed(row: PregenPiece, final: Path, temporary: Path) -> PregenPiece:
    # Parts not on this machine are read from Plex through the relay; their URLs die with the encode.
    encode_timeout = ENCODE_TIMEOUT_BASE_SECONDS + ENCODE_TIMEOUT_PER_SECOND * (row.out_ms - row.in_ms) / 1000
    with RemoteParts(ttl=2 * encode_timeout + 120) as remote:
        return _encode_reading(row, final, temporary, remote)


def _encode_reading(row: PregenPiece, final: Path, temporary: Path, remote: RemoteParts) -> PregenPiece:
    try:
        attempts = _commands(row, temporary, remote)
    except SourceUnavailable as error:
        return _fail(row, f"{SOURCE_UNAVAILABLE}: {error}")
    length_seconds = (row.out_ms - row.in_ms) / 1000
    timeout = ENCODE_TIMEOUT_BASE_SECONDS + ENCODE_TIMEOUT_PER_SECOND * length_seconds
    started = time.monotonic()
    for attempt, argv in enumerate(attempts, start=1):
        try:
            run_command(argv, timeout=timeout)
            break
        except CommandError as error:
            if attempt < len(attempts):
                logger.warning("Pre-generation of %s: retrying without text after: %s", row, error)
                continue
            if remote.error() is not None:  # what Plex refused says more than ffmpeg's complaint
                return _fail(row, f"{SOURCE_UNAVAILABLE}: the file (remote): {remote.error()}")
            if error.returncode is None:  # timed out or could not start: not the piece's fault
                return _fail(row, f"{ENCODER_INTERRUPTED}: {error}")
            return _fail(row, f"ffmpeg failed ({error.returncode}): {error.stderr_tail.strip()[-1500:]}")
    elapsed = time.monotonic() - started
    probe = probe_media_file(str(temporary))
    expected = commands.piece_timing(row.out_ms - row.in_ms, row.profile)
    if not probe.playable or not probe.video_codec or not probe.audio_codec:
        return _fail(row, f"the encoded file does not play: {probe.error or 'audio or video missing'}")
    if abs((probe.duration_ms or 0) - expected.duration_ms) > LENGTH_TOLERANCE_MS:
        return _fail(
            row, f"the encoded file lasts {probe.duration_ms} ms instead of {expected.duration_ms} ms"
        )
    os.replace(temporary, final)
    PregenPiece.objects.filter(pk=row.pk, status=PregenStatus.ENCODING).update(
        status=PregenStatus.READY,
        path=_relative_path(row),
        duration_ms=probe.duration_ms,
        size_bytes=final.stat().st_size,
        video_codec=probe.video_codec,
        audio_codec=probe.audio_codec,
        width=probe.width,
        height=probe.height,
        frame_rate=probe.frame_rate,
        encode_seconds=round(elapsed, 3),
        error="",
        ready_at=timezone.now(),
    )
    row.refresh_from_db()
    return row


def _commands(row: PregenPiece, output: Path, remote: RemoteParts) -> list[list[str]]:
    """The ffmpeg runs to try in turn (a slate falls back to no text if fonts are missing)."""
    preset = encoder_preset()
    length = row.out_ms - row.in_ms
    if row.special == TEST_PATTERN:
        return [commands.test_pattern_argv(length, row.profile, output, preset=preset)]
    if row.special:
        return [
            commands.slate_argv(length, row.profile, output, preset=preset),
            commands.slate_argv(length, row.profile, output, message="", preset=preset),
        ]
    bug = _bug_for(row.bug_key) if row.bug_key else None
    parts = _with_tracks(
        _source_parts(row.playable_id, row.out_ms, remote, row.profile), row.playable_id, row.profile
    )
    return [commands.pregen_argv(parts, row.in_ms, row.out_ms, row.profile, bug, output, preset=preset)]


def _with_tracks(parts: list[commands.SourcePart], playable_id: int, profile) -> list[commands.SourcePart]:
    """Each part with the audio track and forced subtitle its channel's profile wants (see playout.tracks)."""
    file_ids = list(airing_files(playable_id, profile).values_list("pk", flat=True))[: len(parts)]
    by_file = defaultdict(list)
    for row in MediaStream.objects.filter(media_file_id__in=file_ids).exclude(kind="video"):
        by_file[row.media_file_id].append(
            tracks.Track(
                kind=row.kind, stream_index=row.stream_index, language_code=row.language_code,
                is_default=row.is_default, forced=row.forced, external=row.external, codec=row.codec,
                path=row.path, origin=row.origin,
            )
        )  # fmt: skip
    chosen = []
    for part, file_id in zip(parts, file_ids, strict=False):
        choice = tracks.choose(
            by_file.get(file_id, []),
            part.path,
            profile.preferred_audio_language,
            profile.burn_forced_subtitles,
        )
        # Burning reads the subtitle from a local path: never a URL (its token would sit in argv), and
        # a sidecar deleted since the last scan airs the piece without it rather than failing it.
        subtitle = choice.subtitle
        if subtitle is not None and not (os.path.isfile(part.path) and os.path.isfile(subtitle.path)):
            subtitle = None
        chosen.append(replace(part, audio_track=choice.audio, subtitle=subtitle))
    return chosen + parts[len(chosen) :]


def _source_parts(
    playable_id: int, out_ms: int, remote: RemoteParts, profile=None
) -> list[commands.SourcePart]:
    """The files of the version that airs on `profile` up to the out point, probed: local ones, else
    read from the Plex server. Raises SourceUnavailable."""
    files = list(airing_files(playable_id, profile).select_related("playable__source"))
    if not files:
        raise SourceUnavailable("the item has no media file")
    parts = []
    reached = 0
    for number, media_file in enumerate(files, start=1):
        label = f"part {number} of {len(files)}" if len(files) > 1 else "the file"
        path = media_file.local_path
        if not path or not os.path.isfile(path):
            part = remote.part(media_file, label)  # or SourceUnavailable saying why it can't be
            parts.append(part)
            reached += part.duration_ms or 0
            if reached >= out_ms:
                break
            continue
        probe = probe_media_file(path)
        if not probe.playable:
            raise SourceUnavailable(f"{label} ({path}) can't be read: {probe.error}")
        duration = probe.duration_ms or media_file.duration_ms
        parts.append(
            commands.SourcePart(
                path=path,
                duration_ms=duration,
                has_video=bool(probe.video_codec),
                has_audio=bool(probe.audio_codec),
            )
        )
        reached += duration or 0
        if reached >= out_ms:
            break
    return parts


def _fail(row: PregenPiece, message: str) -> PregenPiece:
    logger.warning("Pre-generation of %s failed: %s", row, message)
    PregenPiece.objects.filter(pk=row.pk, status=PregenStatus.ENCODING).update(
        status=PregenStatus.FAILED, error=message[:4000]
    )
    row.refresh_from_db()
    return row


def requeue_stalled(now: datetime | None = None) -> int:
    """Put back to pending the encoding rows whose worker died: no file of theirs (temp or final,
    the latter for the instant between rename and update) was written to lately."""
    cutoff = ((now or timezone.now()) - STALE_ENCODE).timestamp()
    stalled = []
    for row in PregenPiece.objects.filter(status=PregenStatus.ENCODING):
        final = file_path(row)
        written = [
            mtime for path in final.parent.glob(f"{final.name}*") if (mtime := _mtime(path)) is not None
        ]
        if not written or max(written) < cutoff:
            stalled.append(row.pk)
    return PregenPiece.objects.filter(pk__in=stalled, status=PregenStatus.ENCODING).update(
        status=PregenStatus.PENDING
    )


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


def sweep_orphans(now: datetime | None = None) -> int:
    """Remove files no row owns: temp files of dead encodes and pieces whose row is gone."""
    root = pregen_store()
    if not root.is_dir():
        return 0
    cutoff = (now or timezone.now()).timestamp() - STALE_ENCODE.total_seconds() * 4
    removed = 0
    for profile_dir in root.iterdir():
        if not (profile_dir.is_dir() and profile_dir.name.isdigit()):
            continue
        known = set(
            PregenPiece.objects.filter(profile_id=int(profile_dir.name)).values_list("path", flat=True)
        )
        for path in profile_dir.glob("*/*"):
            mtime = _mtime(path)
            if mtime is None or mtime >= cutoff:
                continue  # a fresh temp file, or a file renamed just before its row was updated
            relative = path.relative_to(root).as_posix()
            if path.suffix == ".tmp" or relative not in known:
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # gone since it was listed
        return None


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


def speed(pregen_piece: PregenPiece) -> float | None:
    """How many times faster than real time a piece was encoded."""
    if not pregen_piece.encode_seconds or not pregen_piece.duration_ms:
        return None
    return float(Fraction(pregen_piece.duration_ms, 1000) / Fraction(str(pregen_piece.encode_seconds)))
