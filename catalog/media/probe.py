"""What ffprobe says about a local media file: length, codecs, size, whether it plays, its chapters.

A probe never raises: a corrupt file, a non-media file, a missing file or a missing ffprobe all
come back as a `ProbeResult` with `playable=False` and an `error` a person can read, because one
bad file in a folder of thousands must not stop a scan. `retry` tells a caller when the failure
was the probe's own (timeout, ffprobe missing) rather than the file's, so it probes again later.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

from django.conf import settings
from django.utils import timezone

from catalog.choices import FileState
from retrovue.subprocesses import CommandError, run_command

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 60.0
_MILLISECONDS = Decimal(1000)
_FRAME_RATE_PLACES = Decimal("0.001")
# ffprobe prefixes its messages with the demuxer and a pointer ("[mov,mp4,… @ 0x55…] ").
_FFMPEG_CONTEXT = re.compile(r"^\[[^\]]*@ 0x[0-9a-f]+\]\s*")
# format_name lists every name the demuxer answers to; these are the ones people know files by.
_CONTAINER_NAMES = {"matroska": "mkv", "mpegts": "ts", "mpeg": "mpg", "asf": "wmv", "mov": "mov"}
_NOT_MEDIA_CODECS = {"", "none", "bin_data", "unknown"}

Chapter = tuple[str, int]


@dataclass
class ProbedTrack:
    """An audio or subtitle stream as ffprobe reports it (`index` is its index in the container)."""

    kind: str  # "audio" or "subtitle"
    index: int
    codec: str = ""
    language: str = ""  # the container's tag: usually ISO 639-2 (eng, fre or fra), sometimes other
    title: str = ""
    channels: int | None = None
    default: bool = False
    forced: bool = False
    hearing_impaired: bool = False


@dataclass
class ProbeResult:
    """One probe of one file. `playable` means ffprobe found a decodable stream and a duration."""

    path: str
    probed_at: datetime
    duration_ms: int | None = None
    container: str = ""
    video_codec: str = ""
    audio_codec: str = ""
    width: int | None = None
    height: int | None = None
    frame_rate: Decimal | None = None
    size_bytes: int | None = None
    playable: bool = False
    error: str = ""
    missing: bool = False
    retry: bool = False
    chapters: list[Chapter] = field(default_factory=list)
    tracks: list[ProbedTrack] = field(default_factory=list)

    @property
    def file_state(self) -> str:
        """The MediaFile state this probe implies for a file that should be on local disk."""
        if self.missing:
            return FileState.FILE_NOT_FOUND
        return FileState.NORMAL if self.playable else FileState.UNAVAILABLE


class ProbeError(Exception):
    """ffprobe could not read a file (raised only by `probe_chapters`)."""


def ffprobe_argv(path: str, *, chapters: bool = True) -> list[str]:
    """The ffprobe command line for one file.

    `file:` keeps a name like `http:…` or `-x.mp4` from being read as a protocol or an option.
    """
    argv = [settings.RETROVUE_FFPROBE, "-v", "error", "-show_format", "-show_streams"]
    if chapters:
        argv.append("-show_chapters")
    return [*argv, "-of", "json", "-i", f"file:{os.path.abspath(path)}"]


def ffprobe_chapters_argv(path: str) -> list[str]:
    return [
        settings.RETROVUE_FFPROBE,
        "-v",
        "error",
        "-show_chapters",
        "-of",
        "json",
        "-i",
        f"file:{os.path.abspath(path)}",
    ]


def probe_media_file(path: str, *, timeout: float = PROBE_TIMEOUT_SECONDS) -> ProbeResult:
    """Probe one local file with ffprobe (format, streams and chapters in one run). Never raises."""
    result = ProbeResult(path=str(path), probed_at=timezone.now())
    try:
        result.size_bytes = os.stat(path).st_size
    except FileNotFoundError:
        result.missing = True
        result.error = "file not found"
        return result
    except OSError as error:
        result.error = f"cannot read the file ({error.strerror or error})"
        return result
    if result.size_bytes == 0:
        result.error = "the file is empty"
        return result
    return _run_probe(result, ffprobe_argv(path), timeout)


def probe_url(url: str, *, timeout: float = PROBE_TIMEOUT_SECONDS) -> ProbeResult:
    """Probe a stream over HTTP (a remote Part through the loopback relay, whose URL holds no
    secret). Chapters are left out: they come from Plex for remote items. Never raises."""
    argv = [settings.RETROVUE_FFPROBE, "-v", "error", "-show_format", "-show_streams", "-of", "json"]
    return _run_probe(ProbeResult(path=url, probed_at=timezone.now()), [*argv, "-i", url], timeout)


def _run_probe(result: ProbeResult, argv: list[str], timeout: float) -> ProbeResult:
    try:
        completed = run_command(argv, timeout=timeout)
    except CommandError as error:
        # No return code: ffprobe timed out or could not start, so the file may be fine.
        result.retry = error.returncode is None
        result.error = _readable_failure(error)
        return result
    try:
        report = json.loads(completed.stdout.decode("utf-8", "replace") or "{}")
    except ValueError:
        result.error = "ffprobe printed something that is not JSON"
        return result
    if not isinstance(report, dict):
        result.error = "ffprobe printed something that is not a report"
        return result
    _read_report(result, report)
    return result


def probe_chapters(path: str, *, timeout: float = PROBE_TIMEOUT_SECONDS) -> list[Chapter]:
    """Chapters embedded in a file as (title, start in ms), in order. Raises ProbeError if unreadable."""
    try:
        completed = run_command(ffprobe_chapters_argv(path), timeout=timeout)
        report = json.loads(completed.stdout.decode("utf-8", "replace") or "{}")
    except CommandError as error:
        raise ProbeError(_readable_failure(error)) from error
    except ValueError as error:
        raise ProbeError("ffprobe printed something that is not JSON") from error
    return _chapters(report.get("chapters") if isinstance(report, dict) else None)


def apply_probe(media_file, result: ProbeResult, *, set_state: bool = True) -> None:
    """Copy a probe onto a MediaFile (not saved). `set_state=False` leaves the state to the caller,
    e.g. Plex sync, where a file missing locally may still play remotely."""
    media_file.size_bytes = result.size_bytes
    media_file.container = result.container
    media_file.video_codec = result.video_codec
    media_file.audio_codec = result.audio_codec
    media_file.width = result.width
    media_file.height = result.height
    media_file.frame_rate = result.frame_rate
    media_file.duration_ms = result.duration_ms
    media_file.playable_ok = result.playable
    media_file.probe_error = result.error
    # A probe that failed on its own account doesn't count as one: the next scan tries again.
    media_file.probed_at = None if result.retry else result.probed_at
    if set_state:
        media_file.state = result.file_state


def _read_report(result: ProbeResult, report: dict) -> None:
    format_info = report.get("format") if isinstance(report.get("format"), dict) else {}
    streams = [stream for stream in report.get("streams") or [] if isinstance(stream, dict)]
    result.container = _container_name(str(format_info.get("format_name") or ""), result.path)

    video = next(
        (
            stream
            for stream in streams
            if stream.get("codec_type") == "video"
            and not (stream.get("disposition") or {}).get("attached_pic")
            and str(stream.get("codec_name") or "") not in _NOT_MEDIA_CODECS
        ),
        None,
    )
    audio = next(
        (
            stream
            for stream in streams
            if stream.get("codec_type") == "audio"
            and str(stream.get("codec_name") or "") not in _NOT_MEDIA_CODECS
        ),
        None,
    )
    if video is not None:
        result.video_codec = str(video["codec_name"])
        result.width = _positive_int(video.get("width"))
        result.height = _positive_int(video.get("height"))
        result.frame_rate = _frame_rate(video.get("avg_frame_rate")) or _frame_rate(video.get("r_frame_rate"))
    if audio is not None:
        result.audio_codec = str(audio["codec_name"])

    seconds = _seconds(format_info.get("duration"))
    if seconds is None:
        stream_seconds = [_seconds(stream.get("duration")) for stream in (video, audio) if stream]
        seconds = max((value for value in stream_seconds if value is not None), default=None)
    if seconds is not None:
        result.duration_ms = int((seconds * _MILLISECONDS).to_integral_value(ROUND_HALF_UP))
    result.chapters = _chapters(report.get("chapters"))
    result.tracks = _tracks(streams)

    if video is None and audio is None:
        result.error = "no audio or video stream in it"
    elif not result.duration_ms:
        result.error = "ffprobe could not tell how long it is"
    else:
        result.playable = True


def _tracks(streams: list[dict]) -> list[ProbedTrack]:
    tracks = []
    for stream in streams:
        kind = stream.get("codec_type")
        index = stream.get("index")
        if kind not in ("audio", "subtitle") or not isinstance(index, int):
            continue
        tags = stream.get("tags") if isinstance(stream.get("tags"), dict) else {}
        disposition = stream.get("disposition") if isinstance(stream.get("disposition"), dict) else {}
        tracks.append(
            ProbedTrack(
                kind=kind,
                index=index,
                codec=str(stream.get("codec_name") or ""),
                language=str(tags.get("language") or ""),
                title=str(tags.get("title") or ""),
                channels=_positive_int(stream.get("channels")),
                default=bool(disposition.get("default")),
                forced=bool(disposition.get("forced")),
                hearing_impaired=bool(disposition.get("hearing_impaired")),
            )
        )
    return tracks


def _chapters(raw) -> list[Chapter]:
    chapters = []
    for chapter in raw or []:
        if not isinstance(chapter, dict):
            continue
        seconds = _seconds(chapter.get("start_time"))
        if seconds is None:
            continue
        title = str((chapter.get("tags") or {}).get("title") or "").strip()
        chapters.append((title, int((seconds * _MILLISECONDS).to_integral_value(ROUND_HALF_UP))))
    return sorted(chapters, key=lambda chapter: chapter[1])


def _container_name(format_name: str, path: str) -> str:
    names = [name for name in format_name.split(",") if name]
    if not names:
        return ""
    extension = os.path.splitext(path)[1].lower().lstrip(".")
    if extension in names:
        return extension
    return _CONTAINER_NAMES.get(names[0], names[0])


def _seconds(value) -> Decimal | None:
    if value in (None, "", "N/A"):
        return None
    try:
        seconds = Decimal(str(value))
    except InvalidOperation:
        return None
    return seconds if seconds.is_finite() and seconds >= 0 else None


def _frame_rate(value) -> Decimal | None:
    try:
        rate = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None
    if rate <= 0:
        return None
    return (Decimal(rate.numerator) / Decimal(rate.denominator)).quantize(_FRAME_RATE_PLACES)


def _positive_int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _readable_failure(error: CommandError) -> str:
    if error.returncode is None:
        return str(error)
    lines = []
    for line in error.stderr_tail.splitlines():
        line = _FFMPEG_CONTEXT.sub("", line.strip())
        # "file:/path/x.mp4: Invalid data found…" — the path is known to whoever reads this.
        if line.startswith("file:"):
            line = line.split(": ", 1)[-1]
        if line and line not in lines:
            lines.append(line)
    detail = "; ".join(lines[-3:]) if lines else f"ffprobe exited with status {error.returncode}"
    return f"not a readable media file: {detail}"
