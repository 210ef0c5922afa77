"""Reading an item's file from the Plex server when it is not on this machine.

A file is read locally when its (mapped) path exists here. Otherwise, if the item comes from a
Plex source that allows remote playback (`MediaSource.allow_remote_playback`, on by default) and
the file has a Part key, ffmpeg reads the Part from the server through this process's loopback
relay (`playout.plex_relay`: the token stays in this process, never on ffmpeg's command line).
That covers files no path mapping reaches (state `remote_only`, which the scheduler airs) and, as
a fallback, local files that went missing after they were scheduled (a NAS offline).

Pre-generation and the live-transcode fallback both go through `RemoteParts`: one per ffmpeg run,
held open while it runs and closed after, which retires the relay URLs it handed out.
"""

from __future__ import annotations

import os

from catalog.choices import FileState, SourceKind
from catalog.media.probe import probe_url
from catalog.models import MediaFile
from playout import ffmpeg_commands as commands
from playout.plex_relay import RelayJob, RemotePartError, open_part
from retrovue.core.media_roots import ROOTS_VARIABLE, inside_media_roots


class InputUnavailable(Exception):
    """The item's file can't be read here or from its server; the message says why, for staff."""


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


class RemoteParts:
    """The remote parts one ffmpeg run reads, each through a relay job that lives as long as the run
    (`ttl` seconds at most, as a backstop if `close` is never reached)."""

    def __init__(self, *, ttl: float):
        self.ttl = ttl
        self.jobs: list[RelayJob] = []

    def part(self, media_file: MediaFile, label: str = "the file", *, probe: bool = True):
        """A `SourcePart` reading `media_file` from its server. Raises InputUnavailable.

        `probe`: ffprobe it through the relay for its length and streams (and so learn now, with
        Plex's own reason, if the server refuses); otherwise trust the catalog's length.
        """
        refusal = remote_refusal(media_file)
        if refusal:
            if media_file.local_path and os.path.isfile(media_file.local_path):
                raise InputUnavailable(
                    f"{label} ({media_file.local_path}) is outside the media roots the operator set "
                    f"({ROOTS_VARIABLE}): the station reads no file outside them"
                )
            if media_file.state == FileState.REMOTE_ONLY:
                raise InputUnavailable(
                    f"{label} is only on the Plex server (remote only) and can't be streamed: {refusal}; "
                    "allow remote playback or add a path mapping for its folder"
                )
            where = media_file.local_path or media_file.plex_path or "no path"
            raise InputUnavailable(f"{label} is not on this machine ({where})")
        job = open_part(media_file.playable.source, media_file.part_key, ttl=self.ttl)
        self.jobs.append(job)
        if not probe:
            return commands.SourcePart(
                path=media_file.part_key, duration_ms=media_file.duration_ms, url=job.url
            )
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

    @property
    def any(self) -> bool:
        return bool(self.jobs)

    def error(self) -> RemotePartError | None:
        """The first refusal the server answered any part with, if one did."""
        return next((job.error for job in self.jobs if job.error is not None), None)

    def close(self) -> None:
        for job in self.jobs:
            job.close()

    def __enter__(self) -> RemoteParts:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def readable_here(path: str) -> bool:
    """A catalog path playout may hand to ffmpeg: a file on this machine inside the operator's media
    roots (symbolic links resolved). Anything else is read from its server, or not at all."""
    return bool(path) and os.path.isfile(path) and inside_media_roots(path)
