"""What an encode of an item reads: its local files, or, where none is here, its Plex Parts.

A file is read locally when its (mapped) path exists on this machine. Otherwise, if the item comes
from a Plex source that allows remote playback (`MediaSource.allow_remote_playback`, on by default)
and the file has a Part key, ffmpeg reads the Part from the Plex server through this process's
loopback relay (`playout.plex_relay`: the token stays here, never in ffmpeg's command line). That
covers files no path mapping reaches (state `remote_only`, which the scheduler airs) and, as a
fallback, local files that went missing after they were scheduled (a NAS offline).

Pre-generation and the live-transcode fallback both pick their inputs here, so they agree; the
caller holds the returned `ItemInputs` open for as long as ffmpeg runs and closes it after, which
retires the relay URLs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from catalog.choices import FileState, SourceKind
from catalog.models import MediaFile
from catalog.probe import probe_media_file, probe_url
from playout import ffmpeg_commands as commands
from playout.plex_relay import RelayJob, open_part


class InputUnavailable(Exception):
    """The item's file can't be read here or from its server; the message says why, for staff."""


@dataclass
class ItemInputs:
    """The parts ffmpeg reads for one cut, and the relay jobs that must stay open meanwhile."""

    parts: list[commands.SourcePart] = field(default_factory=list)
    jobs: list[RelayJob] = field(default_factory=list)

    @property
    def remote(self) -> bool:
        return bool(self.jobs)

    def remote_error(self) -> Exception | None:
        """The first error Plex answered any of the parts with, if one did."""
        return next((job.error for job in self.jobs if job.error is not None), None)

    def close(self) -> None:
        for job in self.jobs:
            job.close()

    def __enter__(self) -> ItemInputs:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def remote_refusal(media_file: MediaFile) -> str:
    """Why this file can't be streamed from its server ("" if it can)."""
    source = media_file.playable.source
    if source.kind != SourceKind.PLEX or not source.base_url:
        return "its source is not a Plex server"
    if not media_file.part_key:
        return "Plex gave no Part to stream"
    if not source.allow_remote_playback:
        return f"remote playback is off for the source “{source.name}”"
    return ""


def item_inputs(
    playable_id: int, out_ms: int, *, ttl: float, probe: bool = True, trust_state: bool = False
) -> ItemInputs:
    """The item's parts up to `out_ms`, local or remote. Raises InputUnavailable.

    `probe`: ffprobe each part (through the relay for a remote one) for its length and streams;
    otherwise the catalog's length is used and both streams are assumed. `trust_state`: a file
    the catalog marks `file_not_found` is not looked for on disk (the live path: no time to spare).
    """
    files = list(
        MediaFile.objects.filter(playable_id=playable_id)
        .select_related("playable__source")
        .order_by("position")
    )
    if not files:
        raise InputUnavailable("the item has no media file")
    inputs = ItemInputs()
    try:
        reached = 0
        for number, media_file in enumerate(files, start=1):
            label = f"part {number} of {len(files)}" if len(files) > 1 else "the file"
            part = _local_part(media_file, label, probe=probe, trust_state=trust_state)
            if part is None:
                part = _remote_part(media_file, label, inputs, ttl=ttl, probe=probe)
            inputs.parts.append(part)
            reached += part.duration_ms or 0
            if reached >= out_ms:
                break
    except BaseException:
        inputs.close()
        raise
    return inputs


def _local_part(media_file: MediaFile, label: str, *, probe: bool, trust_state: bool):
    path = media_file.local_path
    if not path or (trust_state and media_file.state == FileState.FILE_NOT_FOUND) or not os.path.isfile(path):
        return None
    if not probe:
        return commands.SourcePart(path=path, duration_ms=media_file.duration_ms)
    result = probe_media_file(path)
    if not result.playable:
        raise InputUnavailable(f"{label} ({path}) can't be read: {result.error}")
    return commands.SourcePart(
        path=path,
        duration_ms=result.duration_ms or media_file.duration_ms,
        has_video=bool(result.video_codec),
        has_audio=bool(result.audio_codec),
    )


def _remote_part(media_file: MediaFile, label: str, inputs: ItemInputs, *, ttl: float, probe: bool):
    refusal = remote_refusal(media_file)
    if refusal:
        if media_file.state == FileState.REMOTE_ONLY:
            raise InputUnavailable(
                f"{label} is only on the Plex server (remote only) and can't be streamed: {refusal}; "
                "allow remote playback or add a path mapping for its folder"
            )
        where = media_file.local_path or media_file.plex_path or "no path"
        raise InputUnavailable(f"{label} is not on this machine ({where})")
    job = open_part(media_file.playable.source, media_file.part_key, ttl=ttl)
    inputs.jobs.append(job)
    if not probe:
        return commands.SourcePart(path=media_file.part_key, duration_ms=media_file.duration_ms, url=job.url)
    result = probe_url(job.url)
    if not result.playable:
        if job.error is not None:
            raise InputUnavailable(f"{label} (remote): {job.error}")
        raise InputUnavailable(f"{label} (remote, {media_file.part_key}) can't be read: {result.error}")
    return commands.SourcePart(
        path=media_file.part_key,
        duration_ms=result.duration_ms or media_file.duration_ms,
        has_video=bool(result.video_codec),
        has_audio=bool(result.audio_codec),
        url=job.url,
    )
