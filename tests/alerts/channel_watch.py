"""Watching channels from outside while an alert breaks in: when each segment first appeared in a
channel's live playlist, and when each byte of the channel's MPEG-TS stream arrived.

Each channel gets its own threads, started before the alert, so the moment one channel is seen to
switch never waits on the checks of another (a single loop over twenty channels, each needing a
query, an HTTP request and a parse, sees a channel only every second or two on a loaded box, and
that, not the channels, is what it then measures).

The playlist is read from the HLS root, the file nginx serves as it is renamed into place, every
50 ms; the TS is read over HTTP from `/iptv/channel/<n>.ts`, as a tuner reads it.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import statistics
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import m3u8
from django.conf import settings

TS_PACKET = 188
WIDTH, HEIGHT = 320, 240  # the channel-process tests' profile
STANDBY_RGB = (0x14, 0x28, 0x4B)  # playout's slate colour, which the stand-by card uses
BANNER_YELLOW = (0xFF, 0xD0, 0x00)  # the alert slate's banner


def get_bytes(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


def frame_rgb(url: str, x: int, y: int) -> tuple[int, int, int]:
    """The colour of one pixel of the segment's first frame."""
    decoded = subprocess.run(
        [settings.RETROVUE_FFMPEG, "-v", "error", "-f", "mpegts", "-i", "pipe:0", "-frames:v", "1",
         "-s", f"{WIDTH}x{HEIGHT}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        input=get_bytes(url), capture_output=True, timeout=30,
    )  # fmt: skip
    assert decoded.returncode == 0 and len(decoded.stdout) >= WIDTH * HEIGHT * 3, (url, decoded.stderr[-500:])
    at = (y * WIDTH + x) * 3
    return tuple(decoded.stdout[at : at + 3])


def near(colour, target, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, target, strict=True))


def alert_frame(url: str) -> bool:
    """Whether the segment opens on alert content: the stand-by card or the slate's banner."""
    return near(frame_rgb(url, 8, 120), STANDBY_RGB) or near(frame_rgb(url, 160, 4), BANNER_YELLOW)


@dataclass(frozen=True)
class Listed:
    uri: str
    first_seen: float  # time.monotonic() of the first read that listed it
    program_date_time: datetime
    duration: float
    discontinuity: bool


class PlaylistWatch(threading.Thread):
    """Reads one channel's playlist file every `interval` and notes each segment's first listing."""

    def __init__(self, path: Path, interval: float = 0.05):
        super().__init__(daemon=True, name=f"playlist-watch {path.parent.name}")
        self.path = path
        self.interval = interval
        self.listed: list[Listed] = []
        self._known: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def run(self) -> None:
        changed = None
        while not self._stop.is_set():
            # The playlist is replaced by a rename: a new inode (or time) means a new playlist, and
            # only then is it read and parsed, so twenty watchers cost next to nothing.
            try:
                stat = self.path.stat()
                version = (stat.st_ino, stat.st_mtime_ns)
                text = self.path.read_text() if version != changed else ""
            except FileNotFoundError:
                version, text = None, ""
            now = time.monotonic()
            changed = version
            if text:
                for segment in m3u8.loads(text).segments:
                    if segment.uri in self._known:
                        continue
                    with self._lock:
                        self._known.add(segment.uri)
                        self.listed.append(
                            Listed(
                                segment.uri,
                                now,
                                segment.current_program_date_time,
                                segment.duration,
                                bool(segment.discontinuity),
                            )
                        )
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()

    def segments(self) -> list[Listed]:
        with self._lock:
            return list(self.listed)

    def first_from(self, moment: datetime, slack: timedelta) -> tuple[Listed | None, Listed | None]:
        """The first segment listed whose schedule time is at (or `slack` short of) `moment`, with
        the one listed just before it."""
        listed = self.segments()
        for index, segment in enumerate(listed):
            if segment.program_date_time >= moment - slack:
                return segment, (listed[index - 1] if index else None)
        return None, None


class TsCapture(threading.Thread):
    """Reads a channel's MPEG-TS over HTTP and keeps every byte with the time it arrived."""

    def __init__(self, url: str, timeout: float = 15):
        super().__init__(daemon=True, name=f"ts-capture {url.rsplit('/', 1)[-1]}")
        self.url = url
        self.timeout = timeout
        self.status: int | None = None
        self.content_type = ""
        self.error = ""
        self.ended = False  # the server ended the response (a tuner would have to tune again)
        self._data = bytearray()
        self._arrivals: list[tuple[float, int]] = []  # (monotonic, bytes received so far)
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def run(self) -> None:
        url = urlsplit(self.url)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=self.timeout)
        try:
            connection.request("GET", url.path)
            self._socket = connection.sock
            if self._stop.is_set():
                return
            response = connection.getresponse()
            self.status = response.status
            self.content_type = response.headers.get("Content-Type", "")
            while not self._stop.is_set():
                chunk = response.read1(64 * 1024)
                if not chunk:
                    self.ended = not self._stop.is_set()
                    return
                with self._lock:
                    self._data += chunk
                    self._arrivals.append((time.monotonic(), len(self._data)))
        except Exception as error:  # reported by the test, which knows whether it matters
            if not self._stop.is_set():
                self.error = f"{type(error).__name__}: {error}"
        finally:
            connection.close()

    def stop(self) -> None:
        """Hang up, as a tuner does: the server's next write fails and its stream ends."""
        self._stop.set()
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)

    @property
    def received(self) -> int:
        with self._lock:
            return len(self._data)

    def last_arrival(self) -> float | None:
        with self._lock:
            return self._arrivals[-1][0] if self._arrivals else None

    def arrival_of(self, segment: bytes) -> float | None:
        """When the whole of `segment` (a segment file's bytes, which the stream carries as they
        are) had arrived, or None if the stream does not hold it."""
        probe = segment[: 16 * TS_PACKET]
        with self._lock:
            offset = self._data.find(probe)
            if offset < 0:
                return None
            end = offset + len(segment)
            if self._data[offset:end] != segment:
                return None
            return next((at for at, total in self._arrivals if total >= end), None)

    def bad_sync(self) -> int:
        """Packets, from the first sync byte on, that do not start with one (0 for a clean stream)."""
        with self._lock:
            data = bytes(self._data)
        start = data.find(b"\x47")
        whole = (len(data) - start) // TS_PACKET if start >= 0 else 0
        return sum(data[start + i * TS_PACKET] != 0x47 for i in range(whole))


def distribution(values) -> dict:
    """Median and max (and min), rounded for a report."""
    values = sorted(values)
    return {
        "n": len(values),
        "min": round(values[0], 2),
        "median": round(statistics.median(values), 2),
        "max": round(values[-1], 2),
    }
