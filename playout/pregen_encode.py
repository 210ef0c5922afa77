"""Encoding one pre-generated piece: claim the row, cut and encode into a temp file, probe, rename.

Encoders run politely and stop with their worker (`playout.encoder_process`). A temp file's name
says which process wrote it (`<piece>.ts.<host>-<pid>-<start time>-<random>.tmp`), so a worker
starting up removes at once what a crashed encode of this machine left (`remove_partial_files`)
while leaving alone what a live worker is writing.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from django.utils import timezone

from catalog.media.probe import probe_media_file
from catalog.media.versions import airing_files
from catalog.models import MediaStream
from playout import encoder_process, smart_copy, tracks
from playout import ffmpeg_commands as commands
from playout.encoder_process import EncoderStopped, encoder_threads, run_encoder, with_thread_limit
from playout.inputs import RemoteParts, readable_here
from playout.models import PregenPiece, PregenStatus
from playout.pregen_store import (
    STALE_ENCODE,
    STATION_CARD,
    TEST_PATTERN,
    SourceUnavailable,
    encoder_preset,
    file_path,
    modified_time,
    pregen_store,
    relative_path,
    stored_card,
    stored_overlays,
)
from playout.smart_copy import SmartCopyError
from retrovue.subprocesses import CommandError

logger = logging.getLogger(__name__)

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


def encode(pregen_piece: PregenPiece | int) -> PregenPiece | None:
    """Encode one pending row into its file. Returns the row as it ends up (None if it is gone).

    Only the caller whose conditional UPDATE moves the row from pending to encoding does the work;
    any other gets the row back untouched. A failure leaves the row `failed` with the reason (the
    tail of ffmpeg's stderr for an encoder error).
    """
    pk = pregen_piece if isinstance(pregen_piece, int) else pregen_piece.pk
    if encoder_process.stopping():  # the worker is shutting down: leave the row for the next one
        return PregenPiece.objects.select_related("profile").filter(pk=pk).first()
    claimed = PregenPiece.objects.filter(pk=pk, status=PregenStatus.PENDING).update(
        status=PregenStatus.ENCODING, error=""
    )
    row = PregenPiece.objects.select_related("profile").filter(pk=pk).first()
    if not claimed or row is None:  # someone else has it, it is done, or eviction pruned it
        return row
    final = file_path(row)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(f"{final.name}.{_owner_tag()}-{uuid.uuid4().hex[:8]}.tmp")
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
        parts = None if row.special else _item_parts(row, remote)
        attempts = _commands(row, temporary, parts)
    except SourceUnavailable as error:
        return _fail(row, f"{SOURCE_UNAVAILABLE}: {error}")
    length_seconds = (row.out_ms - row.in_ms) / 1000
    timeout = ENCODE_TIMEOUT_BASE_SECONDS + ENCODE_TIMEOUT_PER_SECOND * length_seconds
    started = time.monotonic()
    copied_frames = 0
    copy = _copy_plan(row, parts)
    if copy is not None:
        try:
            smart_copy.make_piece(
                copy, row.in_ms, row.out_ms, row.profile, temporary, smart_copy.scratch_names(temporary),
                lambda argv: run_encoder(with_thread_limit(argv, encoder_threads()), timeout=timeout),
                preset=encoder_preset(),
            )  # fmt: skip
            attempts, copied_frames = [], copy.copied_frames
        except EncoderStopped as error:
            return _fail(row, f"{ENCODER_INTERRUPTED}: {error}")
        except (CommandError, SmartCopyError) as error:
            logger.warning("Pre-generation of %s: smart copy failed, encoding it instead: %s", row, error)
        finally:
            for kind in ("head", "body", "list"):
                smart_copy.scratch_names(temporary)(kind).unlink(missing_ok=True)
    for attempt, argv in enumerate(attempts, start=1):
        try:
            run_encoder(with_thread_limit(argv, encoder_threads()), timeout=timeout)
            break
        except EncoderStopped as error:
            return _fail(row, f"{ENCODER_INTERRUPTED}: {error}")
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
        path=relative_path(row),
        duration_ms=probe.duration_ms,
        size_bytes=final.stat().st_size,
        video_codec=probe.video_codec,
        audio_codec=probe.audio_codec,
        width=probe.width,
        height=probe.height,
        frame_rate=probe.frame_rate,
        encode_seconds=round(elapsed, 3),
        copied_frames=copied_frames,
        error="",
        ready_at=timezone.now(),
    )
    row.refresh_from_db()
    return row


def _item_parts(row: PregenPiece, remote: RemoteParts) -> list[commands.SourcePart]:
    """The files the row's cut reads, probed, with the tracks its profile wants."""
    return _with_tracks(
        _source_parts(row.playable_id, row.out_ms, remote, row.profile), row.playable_id, row.profile
    )


def _commands(row: PregenPiece, output: Path, parts: list[commands.SourcePart] | None) -> list[list[str]]:
    """The ffmpeg runs to try in turn (a slate falls back to no text if fonts are missing)."""
    preset = encoder_preset()
    length = row.out_ms - row.in_ms
    if row.special == TEST_PATTERN:
        return [commands.test_pattern_argv(length, row.profile, output, preset=preset)]
    if row.special == STATION_CARD:
        card = stored_card(row.bug_key)
        return [commands.station_card_argv(length, row.profile, card, output, preset=preset)]
    if row.special:
        return [
            commands.slate_argv(length, row.profile, output, preset=preset),
            commands.slate_argv(length, row.profile, output, message="", preset=preset),
        ]
    bug, lower_third = stored_overlays(row.bug_key) if row.bug_key else (None, None)
    return [
        commands.pregen_argv(
            parts, row.in_ms, row.out_ms, row.profile, bug, output, preset=preset, lower_third=lower_third
        )
    ]


def _copy_plan(row: PregenPiece, parts: list[commands.SourcePart] | None) -> smart_copy.CopyPlan | None:
    """How to smart-copy the row's cut, or None if its profile, overlays or source rule it out
    (see playout.smart_copy; the reason is logged at debug level)."""
    if not smart_copy.enabled(row.profile) or row.special or row.bug_key or not parts:
        return None
    try:
        reason = _copy_obstacle(parts)
        if reason is None:
            video = smart_copy.probe_video(parts[0].path)
            reason = "no video" if video is None else smart_copy.mismatch(video, row.profile)
        if reason is None:
            found = smart_copy.plan(parts[0], row.in_ms, row.out_ms, row.profile, video)
            if isinstance(found, smart_copy.CopyPlan):
                return found
            reason = found
    except (CommandError, SmartCopyError, ValueError) as error:
        reason = str(error)
    logger.debug("Pre-generation of %s: encoded, not copied: %s", row, reason)
    return None


def _copy_obstacle(parts: list[commands.SourcePart]) -> str | None:
    if len(parts) != 1:
        return "the cut spans parts"
    part = parts[0]
    if part.url:
        return "a remote part"
    if part.subtitle is not None:
        return "a subtitle to burn in"
    if not (part.has_video and part.has_audio):
        return "no video or no audio track"
    return None


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
        if not readable_here(path):
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
            mtime
            for path in final.parent.glob(f"{final.name}*")
            if (mtime := modified_time(path)) is not None
        ]
        if not written or max(written) < cutoff:
            stalled.append(row.pk)
    return PregenPiece.objects.filter(pk__in=stalled, status=PregenStatus.ENCODING).update(
        status=PregenStatus.PENDING
    )


# --- Partial files ----------------------------------------------------------------------------------


def _owner_tag(pid: int | None = None) -> str:
    """This process as a temp file's owner: host, pid and the pid's start time (pids get reused,
    and a container's worker is often pid 1 after every restart)."""
    pid = os.getpid() if pid is None else pid
    host = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"
    return f"{host}-{pid}-{_process_start(pid) or 0}"


def _process_start(pid: int) -> int | None:
    """The pid's start time in clock ticks since boot (/proc/<pid>/stat), None if it isn't running."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


_TEMP_OWNER = re.compile(r"\.(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)-(?P<start>\d+)-[0-9a-f]+\.tmp$")


def remove_partial_files() -> int:
    """Delete the temp files of encodes of this machine that are no longer running (a crash, a
    kill); the worker calls this as it starts. Returns how many were removed.

    A temp file of another machine sharing the store is left to `sweep_orphans` (after an hour),
    and so is one whose writer is still running.
    """
    root = pregen_store()
    if not root.is_dir():
        return 0
    host = _owner_tag().split("-", 1)[0]
    removed = 0
    for path in root.glob("*/*/*.tmp"):
        owner = _TEMP_OWNER.search(path.name)
        if owner is None:  # named before owners were recorded: from a previous version's crash
            dead = True
        elif owner["host"] != host:
            continue
        else:
            dead = _owner_tag(int(owner["pid"])) != f"{owner['host']}-{owner['pid']}-{owner['start']}"
        if dead:
            path.unlink(missing_ok=True)
            removed += 1
    if removed:
        logger.info("Pre-generation: removed %s partial file(s) left by stopped encodes", removed)
    return removed
