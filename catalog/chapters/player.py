"""The chapter editor's `<video>` source: an item's local file as it is, with byte ranges so the
player can seek, when the browser can decode it (MP4/WebM with the usual codecs); anything else
transcoded live to fragmented MP4 from a start offset, with ffmpeg killed when the browser lets go
of the response. The file's path comes only from its MediaFile row; the request never names one.
"""

from __future__ import annotations

import logging
import math
import os
import re
import subprocess
import tempfile

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse

from catalog.models import MediaFile
from retrovue.subprocesses import kill_process_group, start_process

logger = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024
# Containers and codecs every current browser plays from a plain <video src>.
DIRECT_PLAY = {
    "mp4": ("video/mp4", {"h264"}, {"aac", "mp3", ""}),
    "m4v": ("video/mp4", {"h264"}, {"aac", "mp3", ""}),
    "webm": ("video/webm", {"vp8", "vp9", "av1"}, {"opus", "vorbis", ""}),
}


def direct_content_type(media_file: MediaFile) -> str | None:
    """The MIME type to send the file as it is, or None when the browser needs it transcoded."""
    container = (media_file.container or os.path.splitext(media_file.local_path)[1].lstrip(".")).lower()
    if container not in DIRECT_PLAY:
        return None
    content_type, video_codecs, audio_codecs = DIRECT_PLAY[container]
    if (
        media_file.video_codec.lower() not in video_codecs
        or media_file.audio_codec.lower() not in audio_codecs
    ):
        return None
    return content_type


class RangeNotSatisfiable(Exception):
    pass


_SINGLE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) bytes a `Range` header asks for, or None to send the whole file.

    Several ranges, other units or a malformed header are ignored (RFC 9110 lets a server send
    the whole file); a range entirely past the end raises RangeNotSatisfiable.
    """
    match = _SINGLE_RANGE.match((header or "").strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = (_bounded(part) if part else None for part in match.groups())
    if first is None:  # the last N bytes
        wanted = last
        if wanted == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(0, size - wanted), size - 1
    start = first
    end = last if last is not None else size - 1
    if start >= size:
        raise RangeNotSatisfiable
    if end < start:
        return None
    return start, min(end, size - 1)


# Past any file's size; a longer number would also be past Python's int() digit limit (a 500).
_BEYOND_ANY_FILE = 10**18


def _bounded(digits: str) -> int:
    """A byte position from a Range header: 5,000 digits mean "past the end", not a crash."""
    return int(digits) if len(digits) < 18 else _BEYOND_ANY_FILE


class FileSlice:
    """Part of an open file, read in chunks; Django calls `close` when the response is done."""

    def __init__(self, handle, start: int, length: int):
        self.handle, self.start, self.remaining = handle, start, length

    def __iter__(self):
        self.handle.seek(self.start)
        while self.remaining > 0:
            chunk = self.handle.read(min(CHUNK_BYTES, self.remaining))
            if not chunk:
                return
            self.remaining -= len(chunk)
            yield chunk

    def close(self) -> None:
        self.handle.close()


def serve_file(request, file_path: str, content_type: str):
    try:
        handle = open(file_path, "rb")  # noqa: SIM115 — FileSlice.close closes it with the response
    except OSError as error:
        return HttpResponse(
            f"Cannot read the file ({error.strerror or error}).",
            status=409,
            content_type="text/plain; charset=utf-8",
        )
    size = os.fstat(handle.fileno()).st_size
    try:
        wanted = byte_range(request.headers.get("Range"), size)
    except RangeNotSatisfiable:
        handle.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    start, end = wanted if wanted else (0, size - 1)
    length = max(0, end - start + 1)
    if request.method == "HEAD":
        handle.close()
        body = []
    else:
        body = FileSlice(handle, start, length)
    response = StreamingHttpResponse(body, status=206 if wanted else 200, content_type=content_type)
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if wanted:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Cache-Control"] = "private, max-age=0"
    response["X-Accel-Buffering"] = "no"
    return response


def transcode_argv(path: str, start_seconds: float = 0.0) -> list[str]:
    """ffmpeg turning a file into fragmented H.264/AAC MP4 on stdout, small and quick to start.

    A keyframe every 2 s starts a fragment, so the first frames reach the browser within moments.
    """
    argv = [settings.RETROVUE_FFMPEG, "-hide_banner", "-nostdin", "-v", "error"]
    if start_seconds > 0:
        argv += ["-ss", f"{start_seconds:.3f}"]
    return [
        *argv,
        "-i",
        f"file:{os.path.abspath(path)}",
        "-map",
        "0:V:0",
        "-map",
        "0:a:0?",
        "-sn",
        "-dn",
        "-vf",
        "scale=-2:'min(480,trunc(ih/2)*2)'",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-tune",
        "zerolatency",
        "-crf",
        "26",
        "-pix_fmt",
        "yuv420p",
        "-force_key_frames",
        "expr:gte(t,n_forced*2)",
        "-c:a",
        "aac",
        "-ac",
        "2",
        "-b:a",
        "128k",
        "-movflags",
        "frag_keyframe+empty_moov+default_base_moof",
        "-f",
        "mp4",
        "pipe:1",
    ]


class TranscodeStream:
    """ffmpeg's output as a response body: started on the first read, killed on `close`.

    The WSGI server closes the response when the browser disconnects (seeking, leaving the
    page), so no transcode outlives its viewer.
    """

    def __init__(self, argv: list[str]):
        self.argv = argv
        self.process: subprocess.Popen | None = None
        self.stderr = None

    def __iter__(self):
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 — closed in close(), with the response
        self.process = start_process(
            self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr
        )
        while chunk := self.process.stdout.read1(CHUNK_BYTES):
            yield chunk
        if self.process.wait() != 0:
            self.stderr.seek(0)
            logger.warning(
                "Transcode for the chapter editor failed (status %s): %s",
                self.process.returncode,
                self.stderr.read()[-1000:].decode("utf-8", "replace").strip(),
            )

    def close(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                kill_process_group(self.process)
            self.process.wait()
            self.process.stdout.close()
        if self.stderr is not None:
            self.stderr.close()


def serve_transcode(request, media_file: MediaFile, start_seconds: float):
    body = (
        []
        if request.method == "HEAD"
        else TranscodeStream(transcode_argv(media_file.local_path, start_seconds))
    )
    response = StreamingHttpResponse(body, content_type="video/mp4")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"
    return response


def requested_start(raw: str | None, media_file: MediaFile) -> float:
    try:
        seconds = float(raw or 0)
    except ValueError:
        return 0.0
    if not math.isfinite(seconds) or seconds < 0:
        return 0.0
    if media_file.duration_ms:
        seconds = min(seconds, max(0.0, media_file.duration_ms / 1000 - 1))
    return seconds
