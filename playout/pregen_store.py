"""The pre-generation store: its settings, where each piece's file lives, the channel bugs it keeps.

Files live under `pregen_store()` as `<profile id>/<row id // 1000>/<row id>.ts`; rows store the
path relative to the store, so the store can move. Bugs are copied in under `bugs/` so an encode
needs no channel.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from playout import ffmpeg_commands as commands
from playout.inputs import InputUnavailable
from playout.models import PregenPiece
from playout.video_codecs import measured_preset
from retrovue.env import env_float, env_int, env_str
from scheduling.models import Channel

logger = logging.getLogger(__name__)

# What a row without an item encodes (PregenPiece.special).
SLATE = "slate"
TEST_PATTERN = "test_pattern"
# A station ID piece without a clip: the channel's card (scheduling.graphics), keyed by `card_key`.
STATION_CARD = "station_card"
# An encoding row whose temp file has not grown for this long lost its worker.
STALE_ENCODE = timedelta(minutes=15)
GB = 1_000_000_000

# The item's file can't be read here or from its server; the message says why, for staff.
SourceUnavailable = InputUnavailable


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


def encoder_preset(profile=None) -> str:
    """The encoder preset: RETROVUE_PREGEN_PRESET if set, else the one measured for `profile`'s
    picture size (`video_codecs.measured_preset`), else the default. Live transcodes ask without a
    profile: they must keep real time, so they stay on the fast default."""
    chosen = getattr(settings, "RETROVUE_PREGEN_PRESET", None) or env_str("RETROVUE_PREGEN_PRESET", "")
    if chosen:
        return chosen
    return measured_preset(profile) if profile is not None else commands.DEFAULT_PRESET


def max_enqueued() -> int:
    limit = getattr(settings, "RETROVUE_PREGEN_MAX_ENQUEUED", None)
    return int(limit) if limit is not None else env_int("RETROVUE_PREGEN_MAX_ENQUEUED", 200, minimum=1)


def file_path(pregen_piece: PregenPiece) -> Path:
    """The absolute path of a row's file (whether or not it exists yet)."""
    return pregen_store() / (pregen_piece.path or relative_path(pregen_piece))


def relative_path(pregen_piece: PregenPiece) -> str:
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


def remember_bug(channel: Channel) -> str:
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
    key = remember_bug(channel)
    return stored_bug(key) if key else None


def overlay_key(bug: str, up_next: str, from_ms: int, number: str) -> str:
    """The key of what a piece airing in the last minute before a program has burned in: the bug
    (its key, maybe blank) and the "Up next" lower third (title, when it appears, whose colours).
    It takes the bug key's place, so a piece with a lower third is a piece of its own."""
    digest = hashlib.sha256(json.dumps(["up next", bug, up_next, from_ms, number]).encode())
    return digest.hexdigest()[:32]


def remember_overlay(bug: str, up_next: str, from_ms: int, number: str) -> str:
    """`overlay_key`, with the lower third drawn and its description (and the bug's) in the store."""
    from scheduling.graphics import lower_third_png

    key = overlay_key(bug, up_next, from_ms, number)
    spec = _bug_spec(key)
    if not spec.exists():
        spec.parent.mkdir(parents=True, exist_ok=True)
        description = json.loads(_bug_spec(bug).read_text()) if bug else {}
        image = spec.with_name(f"{key}-next.png")
        _write_atomically(image, lower_third_png(up_next, number))
        description["lower_third"] = {"image": image.name, "from_ms": from_ms}
        _write_atomically(spec, json.dumps(description).encode())
    return key


def stored_overlays(key: str) -> tuple[commands.Bug | None, commands.LowerThird | None]:
    """The bug and lower third a row's key stands for (either may be None)."""
    spec = _bug_spec(key)
    try:
        description = json.loads(spec.read_text())
    except (OSError, ValueError):
        return stored_bug(key), None  # a plain bug is drawn again from its channel
    bug = None
    if "image" in description:
        bug = commands.Bug(
            path=str(spec.with_name(description["image"])),
            corner=description["corner"],
            opacity=description["opacity"],
        )
    lower = description.get("lower_third")
    lower_third = (
        commands.LowerThird(path=str(spec.with_name(lower["image"])), from_ms=int(lower["from_ms"]))
        if lower
        else None
    )
    return bug, lower_third


def _bug_spec(key: str) -> Path:
    """The store's copy of a bug: `<key>.json` (corner, opacity, image name) beside the image."""
    return pregen_store() / "bugs" / f"{key}.json"


def stored_bug(key: str) -> commands.Bug:
    spec = _bug_spec(key)
    if not spec.exists():
        for channel in Channel.objects.exclude(bug_image=""):
            if bug_key(channel) == key:
                remember_bug(channel)
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


# --- Station ID cards ------------------------------------------------------------------------------


def _card_inputs(channel: Channel) -> tuple[str, str, str, bytes | None]:
    logo = None
    if channel.logo:
        try:
            with channel.logo.open("rb") as image:
                logo = image.read() or None
        except (OSError, ValueError):
            logo = None  # the card draws the channel's own tile instead
    return channel.number, channel.call_sign, channel.name, logo


def card_key(channel: Channel) -> str:
    """A digest of what the channel's station ID card shows (number, call sign, name, logo)."""
    number, call_sign, name, logo = _card_inputs(channel)
    digest = hashlib.sha256(json.dumps([number, call_sign, name]).encode())
    digest.update(logo or b"")
    return digest.hexdigest()[:32]


def remember_card(channel: Channel) -> str:
    """The channel's card key, with the card drawn into the store so encodes need no channel."""
    from scheduling.graphics import station_id_card_png

    key = card_key(channel)
    path = _card_path(key)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, station_id_card_png(*_card_inputs(channel)))
    return key


def _card_path(key: str) -> Path:
    return pregen_store() / "cards" / f"{key}.png"


def stored_card(key: str) -> Path:
    """The drawn card for `key` (drawn again from the channel it belongs to when the store lost it)."""
    path = _card_path(key)
    if not path.exists():
        for channel in Channel.objects.all():
            if card_key(channel) == key:
                remember_card(channel)
                break
    if not path.exists():
        raise SourceUnavailable("the station ID card it was planned with no longer belongs to any channel")
    return path


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


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
            mtime = modified_time(path)
            if mtime is None or mtime >= cutoff:
                continue  # a fresh temp file, or a file renamed just before its row was updated
            relative = path.relative_to(root).as_posix()
            if path.suffix == ".tmp" or relative not in known:
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def modified_time(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # gone since it was listed
        return None
