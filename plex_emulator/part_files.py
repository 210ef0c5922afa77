"""Part downloads: ``GET /library/parts/<part id>/<stamp>/<name>`` served from real files.

The generated library has no media, so a test registers a real file (made with ffmpeg) as the
content of a Part::

    emulator.parts.register(episode.media[0].parts[0].part_id, "/tmp/clip.mp4")

What a real server does and this one copies (PLEX_LIVE_AND_AUTH_NOTES.md §8):

- the token must come in the ``X-Plex-Token`` *header* here (a token in the query string gets
  401), which is what RetroVue's relay sends and what keeps tokens out of URLs;
- ``Range: bytes=a-b`` / ``a-`` / ``-n`` answers 206 with ``Content-Range``; no Range answers 200;
  ``Accept-Ranges: bytes`` either way; an unsatisfiable range answers 416;
- knobs: ``forbid_downloads()`` answers 403 (the owner forbids downloads), ``fail_with(503)`` or
  ``509`` (no playback decision / bandwidth) until ``fail_with(None)``.

An unknown part, or one with no file registered, is 404. Tokens are logged nowhere: the access log
line is the request line, and the served ranges are recorded without headers (``served``).
"""

from __future__ import annotations

import mimetypes
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

PART_PATH = re.compile(r"/library/parts/(\d+)/\d+/[^/]+")
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")
CHUNK = 64 * 1024
_TITLES = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 416: "Range Not Satisfiable"}
_TITLES |= {503: "Service Unavailable", 509: "Bandwidth Limit Exceeded"}


def part_id_for(path: str) -> int | None:
    """The part id if `path` (no query) is a Part download, else None."""
    match = PART_PATH.fullmatch(path)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Served:
    part_id: int
    range: str  # the Range header as sent, "" for none
    status: int


class PartFiles:
    """Which real file is the content of which Part, plus the failure knobs."""

    def __init__(self) -> None:
        self._files: dict[int, Path] = {}
        self._lock = threading.Lock()
        self.downloads_forbidden = False
        self.failure_status: int | None = None
        self.served: list[Served] = []

    def register(self, part: int | str, path: str | Path) -> None:
        """Serve `path` as the bytes of `part` (a part id, or a Part key)."""
        part_id = part if isinstance(part, int) else part_id_for(str(part).split("?", 1)[0])
        if part_id is None:
            raise ValueError(f"not a Part key: {part!r}")
        with self._lock:
            self._files[part_id] = Path(path)

    def forbid_downloads(self, forbidden: bool = True) -> None:
        self.downloads_forbidden = forbidden

    def fail_with(self, status: int | None) -> None:
        """Answer every Part request with this status (503, 509, …) until called with None."""
        self.failure_status = status

    def file_for(self, part_id: int) -> Path | None:
        with self._lock:
            return self._files.get(part_id)

    def serve(
        self, handler: BaseHTTPRequestHandler, part_id: int, accepts_token: Callable[[str], bool]
    ) -> int:
        """Answer one Part request on `handler`; returns the status sent. `accepts_token` is the
        server's check (its own token, or one plex.tv granted a signed-in account)."""
        range_header = handler.headers.get("Range") or ""

        def record(status: int) -> None:
            # Before the first byte goes out: a client that has its answer finds it recorded.
            with self._lock:
                self.served.append(Served(part_id, range_header, status))

        return self._answer(handler, part_id, accepts_token, range_header, record)

    def _answer(self, handler, part_id: int, accepts_token, range_header: str, record) -> int:
        offered = handler.headers.get("X-Plex-Token") or ""
        if not offered or not accepts_token(offered):
            return _empty(handler, 401, record)
        if self.failure_status is not None:
            return _empty(handler, self.failure_status, record)
        if self.downloads_forbidden:
            return _empty(handler, 403, record)
        path = self.file_for(part_id)
        if path is None or not path.is_file():
            return _empty(handler, 404, record)
        size = path.stat().st_size
        start, stop = 0, size - 1
        status = 200
        if range_header:
            wanted = _parse_range(range_header, size)
            if wanted is None:
                return _empty(handler, 416, record, {"Content-Range": f"bytes */{size}"})
            (start, stop), status = wanted, 206
        record(status)
        handler.send_response(status)
        handler.send_header("Content-Type", mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        handler.send_header("Content-Length", str(stop - start + 1))
        handler.send_header("Accept-Ranges", "bytes")
        if status == 206:
            handler.send_header("Content-Range", f"bytes {start}-{stop}/{size}")
        handler.end_headers()
        if handler.command == "HEAD":
            return status
        try:
            with path.open("rb") as source:
                source.seek(start)
                remaining = stop - start + 1
                while remaining > 0:
                    chunk = source.read(min(CHUNK, remaining))
                    if not chunk:
                        break
                    handler.wfile.write(chunk)
                    remaining -= len(chunk)
        except (BrokenPipeError, ConnectionResetError):  # the client seeked elsewhere and hung up
            handler.close_connection = True
        return status


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single `bytes=` range, or None if it can't be satisfied."""
    match = _RANGE.match(header)
    if not match or size == 0:
        return None
    first, last = match.groups()
    if not first:  # bytes=-n: the last n bytes
        if not last or int(last) == 0:
            return None
        return max(0, size - int(last)), size - 1
    start = int(first)
    stop = min(int(last), size - 1) if last else size - 1
    if start >= size or stop < start:
        return None
    return start, stop


def _empty(handler, status: int, record, headers: dict[str, str] | None = None) -> int:
    body = f"<html><body><h1>{status} {_TITLES.get(status, 'Error')}</h1></body></html>".encode()
    record(status)
    handler.send_response(status)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)
    return status
