"""Artwork the emulator serves at Plex's image paths: small, real PNGs made with the stdlib.

``/library/metadata/<key>/<thumb|art|banner>/<version>`` answers with an image drawn from the
item's ratingKey and version, so the same URL always gives the same bytes, and a touched item
(new version in its URLs) gives new ones. Shows, movies and seasons get a 2:3 poster, episodes a
16:9 still; a season shows its show's poster, as Plex does for seasons without their own, so the
same bytes arrive under two URLs (what a cache that dedups by content hash should notice).

The fault knob ``corrupt(path, mode)`` breaks images whose path matches: ``garbage`` (a PNG header
and then noise), ``truncated`` (a real PNG cut in half) or ``html`` (200 with an HTML error page,
as a misbehaving proxy sends).
"""

from __future__ import annotations

import hashlib
import re
import struct
import threading
import zlib
from dataclasses import dataclass, field

from .model import Episode, Season

POSTER_SIZE = (200, 300)
STILL_SIZE = (240, 135)
ART_SIZE = (320, 180)
BANNER_SIZE = (400, 74)
CORRUPT_MODES = ("garbage", "truncated", "html")
_IMAGE_PATH = re.compile(r"/library/metadata/(\d+)/(thumb|art|banner)(?:/(\d+))?")
_CACHE_LIMIT = 2048


def png(width: int, height: int, rows: list[bytes]) -> bytes:
    """An 8-bit RGB PNG from `height` rows of `width * 3` bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def _palette(seed: str) -> list[bytes]:
    digest = hashlib.sha256(seed.encode()).digest()
    return [
        bytes((40 + digest[i] % 180, 40 + digest[i + 1] % 180, 40 + digest[i + 2] % 180))
        for i in (0, 3, 6, 9)
    ]


def draw(seed: str, width: int, height: int) -> bytes:
    """A retro test-card look: a frame, colour bars in the middle, a band near the top."""
    background, bars_a, bars_b, band = _palette(seed)
    frame = width // 16 or 1
    bar = max(1, (width - 2 * frame) // 6)
    middle = bytearray()
    for index in range(width - 2 * frame):
        middle += bars_a if (index // bar) % 2 == 0 else bars_b
    plain = background * width
    framed_band = background * frame + band * (width - 2 * frame) + background * frame
    framed_bars = background * frame + bytes(middle) + background * frame
    rows = []
    for y in range(height):
        if frame <= y < height // 5:
            rows.append(framed_band)
        elif height * 2 // 5 <= y < height * 4 // 5:
            rows.append(framed_bars)
        else:
            rows.append(plain)
    return png(width, height, rows)


@dataclass
class CorruptRule:
    path: str
    mode: str = "garbage"
    times: int = 0  # 0: forever
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.mode not in CORRUPT_MODES:
            raise ValueError(f"unknown corrupt mode {self.mode!r}; choose from {CORRUPT_MODES}")
        self._pattern = re.compile(self.path)

    def applies(self, path: str) -> bool:
        return bool(self._pattern.search(path)) and (self.times == 0 or self.fired < self.times)


class ArtworkImages:
    """Answers image requests for one library; `corrupt()` and `clear()` are the fault knob."""

    def __init__(self, library) -> None:
        self.library = library
        self._lock = threading.Lock()
        self._rules: list[CorruptRule] = []
        self._cache: dict[tuple[str, str, int, int], bytes] = {}
        self.served = 0

    def corrupt(self, path: str = ".*", mode: str = "garbage", times: int = 0) -> CorruptRule:
        rule = CorruptRule(path=path, mode=mode, times=times)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def image_for(self, path: str) -> bytes | None:
        """The PNG a Plex image path shows, or None when no such item exists."""
        match = _IMAGE_PATH.fullmatch(path)
        if match is None:
            return draw(path, *POSTER_SIZE)  # section and collection composites
        key, kind = match.group(1), match.group(2)
        with self.library.locked():
            item = self.library.get(key)
            if item is None:
                return None
            if isinstance(item, Season) and kind == "thumb":
                item = item.parent  # seasons without their own poster show the show's
            seed, version = item.rating_key, item.image_version
            size = {"art": ART_SIZE, "banner": BANNER_SIZE}.get(kind) or (
                STILL_SIZE if isinstance(item, Episode) else POSTER_SIZE
            )
        cache_key = (seed, kind, version, size[0])
        with self._lock:
            cached = self._cache.get(cache_key)
        if cached is None:
            cached = draw(f"{seed}:{kind}:{version}", *size)
            with self._lock:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[cache_key] = cached
        return cached

    def response(self, path: str):
        """(status, body, content type) for an image request."""
        body = self.image_for(path)
        if body is None:
            return (
                404,
                b"<html><head><title>Not Found</title></head><body><h1>404 Not Found</h1></body></html>",
                "text/html",
            )
        with self._lock:
            rule = next((rule for rule in self._rules if rule.applies(path)), None)
            if rule is not None:
                rule.fired += 1
            self.served += 1
        if rule is None:
            return 200, body, "image/png"
        if rule.mode == "html":
            return 200, b"<html><body><h1>Something went wrong</h1></body></html>", "text/html"
        if rule.mode == "truncated":
            return 200, body[: len(body) // 2], "image/png"
        return 200, body[:16] + hashlib.sha256(path.encode()).digest() * 8, "image/png"
