"""Where a channel reader gets its playlist and segments: this machine's disk, or the machine that
airs the channel (the TS half of the front door, docs/playout-machines.md).

`OriginLookup` asks `placement.front_door_origin` (the answer Django gives nginx for `/hls/`) on
the fan-out's database threads, once a second per channel at most; None means this machine's disk
(`LocalSource`, as before), an origin means `OriginSource`: `GET <origin>/hls/<n>/index.m3u8` and
the new segments from there, the way the front door's nginx proxies HLS viewers. The HTTP client is
a small asyncio one: no thread per request, a timeout on every request, a size cap on every body,
and no redirect followed (only a 200 is taken). A source that cannot answer returns None: the reader
waits as for a stalled channel and gives up after `GIVE_UP_SECONDS` if it stays so.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from playout import hls
from playout.hls import LivePlaylist

logger = logging.getLogger(__name__)

LOOKUP_CACHE_SECONDS = 1.0
PLAYLIST_LIMIT = hls.ORIGIN_PLAYLIST_LIMIT
PLAYLIST_TIMEOUT_SECONDS = hls.ORIGIN_TIMEOUT_SECONDS
# A 2 s segment is a few MB even in HD; a body past this is not a segment.
SEGMENT_LIMIT = 32 * 1024 * 1024
SEGMENT_TIMEOUT_SECONDS = 5.0
HEAD_LIMIT = 16 * 1024


class LocalSource:
    """The channel's HLS on this machine's disk (small local reads, as the reader always did)."""

    origin = None

    def __init__(self, number: str):
        self.number = number

    async def playlist(self) -> LivePlaylist | None:
        return hls.read_playlist(self.number)

    async def segment(self, uri: str) -> bytes | None:
        try:
            with (hls.channel_dir(self.number) / uri).open("rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None  # deleted under us: the next playlist read moves on


class OriginSource:
    """The channel's HLS as the airing machine's origin serves it (`deploy/nginx-origin.conf`)."""

    def __init__(self, origin: str, number: str):
        self.origin = origin  # checked by placement.front_door_origin: http(s)://host[:port]
        self.number = number
        self._failing = False

    async def playlist(self) -> LivePlaylist | None:
        body = await self._get(hls.PLAYLIST_NAME, PLAYLIST_LIMIT, PLAYLIST_TIMEOUT_SECONDS)
        return None if body is None else LivePlaylist.parse(body.decode("utf-8", "replace"), 0)

    async def segment(self, uri: str) -> bytes | None:
        if not hls.SEGMENT_NAME.match(uri):  # a name in the channel's folder, nothing else
            logger.warning("Channel %s: its origin's playlist names a segment that is not one", self.number)
            return None
        return await self._get(uri, SEGMENT_LIMIT, SEGMENT_TIMEOUT_SECONDS)

    async def _get(self, name: str, limit: int, timeout: float) -> bytes | None:
        try:
            async with asyncio.timeout(timeout):
                body = await http_get(self.origin, f"/hls/{self.number}/{name}", limit)
        except (
            OSError,
            TimeoutError,
            ValueError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ) as error:
            if not self._failing:  # once per outage, not once per poll
                logger.warning(
                    "Channel %s: its origin %s did not answer (%s)", self.number, self.origin, error
                )
            self._failing = True
            return None
        self._failing = False
        return body


async def http_get(origin: str, path: str, limit: int) -> bytes:
    """The body of a 200 answer to `GET <origin><path>`, at most `limit` bytes; ValueError for any
    other status (a redirect included: it is not followed) or a body too big."""
    parts = urlsplit(origin)
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    reader, writer = await asyncio.open_connection(
        parts.hostname, port, ssl=ssl.create_default_context() if secure else None, limit=HEAD_LIMIT
    )
    try:
        # HTTP/1.0: the answer is close-delimited or has a length, never chunked.
        writer.write(
            f"GET {path} HTTP/1.0\r\nHost: {parts.netloc}\r\nUser-Agent: retrovue-ts-fanout\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)
        if len(status) < 2 or status[1] != "200":
            raise ValueError(f"answered {lines[0][:60]!r}")
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if length is not None:
            if length > limit:
                raise ValueError(f"a body of {length} bytes")
            return await reader.readexactly(length)
        body = bytearray()
        while chunk := await reader.read(65536):
            body += chunk
            if len(body) > limit:
                raise ValueError(f"a body over {limit} bytes")
        return bytes(body)
    finally:
        writer.close()


def airing_origin(number: str) -> str | None:
    """Django's answer (runs on a database thread): the airing machine's origin, None for here."""
    from django.db import close_old_connections
    from django.utils import timezone

    from playout.placement import front_door_origin

    close_old_connections()
    return front_door_origin(number, timezone.now())


class OriginLookup:
    """channel → its airing origin, asked on the database threads and kept `cache_seconds`;
    concurrent askers share one question. While the database cannot answer, the last answer holds
    (a reader keeps following where it was)."""

    def __init__(
        self, executor: ThreadPoolExecutor, ask=airing_origin, cache_seconds: float = LOOKUP_CACHE_SECONDS
    ):
        self.executor = executor
        self.ask = ask
        self.cache_seconds = cache_seconds
        self._answers: dict[str, tuple[float, asyncio.Future]] = {}
        self._last: dict[str, str | None] = {}
        self.questions_asked = 0

    async def origin(self, number: str) -> str | None:
        now = time.monotonic()
        cached = self._answers.get(number)
        if cached is None or now - cached[0] > self.cache_seconds:
            self.questions_asked += 1
            future = asyncio.get_running_loop().run_in_executor(self.executor, self.ask, number)
            cached = self._answers[number] = (now, future)
        try:
            answer = await asyncio.shield(cached[1])
        except Exception:
            logger.exception("Channel %s: could not ask where it airs", number)
            self._answers.pop(number, None)
            return self._last.get(number)
        self._last[number] = answer
        return answer


def source_for(number: str, origin: str | None) -> LocalSource | OriginSource:
    return OriginSource(origin, number) if origin else LocalSource(number)
