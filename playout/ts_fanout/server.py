"""The TS fan-out server's network side: a minimal HTTP/1.1 endpoint for the tuner URLs, and the
UDP endpoint where nginx reports HLS segment requests (for viewer counts).

Only `GET`/`HEAD` of `/iptv/channel/<number>.ts` and `/hdhr/<token>/iptv/channel/<number>.ts` are
answered, as Django's TS view answers them: 403 without a valid token (when required), 404 for an
unknown or disabled channel, 503 while the channel has no playlist yet (on this machine's disk, or
at the origin of the machine airing it: `sources`), else 200 video/mp2t that
runs until the viewer leaves, the channel stops, or a re-check every `RECHECK_SECONDS` says the
viewer may no longer watch. The body is close-delimited (nginx re-chunks it for its clients).

Tuners. A stream on the HDHomeRun tuner path (`/hdhr/<token>/…`) holds one of `TunerCount` tuner
files (an `flock`, `playout.ts_stream.acquire_tuner`, so Django's lineup status sees it) and gets
503 when all are held, as a real HDHomeRun answers. A plain `/iptv/channel/` stream holds none: the
tuner limit protected web threads, one per stream, and a fan-out viewer costs a socket and a
bounded buffer; `max_viewers` per server bounds those instead. (Plex on a station without tokens
tunes the plain path, and keeps to the advertised TunerCount itself.)
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

from playout import hls, ts_stream
from playout.ts_fanout.access import AccessCache
from playout.ts_fanout.fanout import DEFAULT_MAX_BACKLOG, Hub, Viewer
from playout.ts_fanout.sources import OriginSource
from playout.viewer_counts import RecentClients, client_key

logger = logging.getLogger(__name__)

TS_PATH = re.compile(
    r"^/(?:hdhr/(?P<path_token>[A-Za-z0-9_-]{1,100})/)?iptv/channel/(?P<number>[0-9]{1,4}(?:\.[0-9]{1,3})?)\.ts$"
)
HEADER_LIMIT = 16 * 1024
# Each viewer costs a socket and at most its backlog; past this many the server answers 503.
DEFAULT_MAX_VIEWERS = 4000
HEADER_TIMEOUT_SECONDS = 10.0
REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}


class BadRequest(Exception):
    pass


async def read_request(reader: asyncio.StreamReader) -> tuple[str, str]:
    """(method, target) of the request; its headers are read and ignored."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEADER_TIMEOUT_SECONDS)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as error:
        raise BadRequest from error
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest
    return parts[0], parts[1]


def plain_response(status: int, message: str = "", retry_after: int | None = None) -> bytes:
    body = (message or REASONS[status]).encode() + b"\n"
    head = [
        f"HTTP/1.1 {status} {REASONS[status]}",
        "Content-Type: text/plain; charset=utf-8",
        f"Content-Length: {len(body)}",
        "Cache-Control: no-store",
        "Connection: close",
    ]
    if retry_after is not None:
        head.append(f"Retry-After: {retry_after}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nCache-Control: no-store\r\n"
    b"X-Accel-Buffering: no\r\nConnection: close\r\n\r\n"
)


class FanoutServer:
    def __init__(
        self,
        hub: Hub,
        access: AccessCache,
        acquire_tuner: Callable[[], ts_stream.TunerSlot | None] = ts_stream.acquire_tuner,
        max_backlog: int = DEFAULT_MAX_BACKLOG,
        max_viewers: int = DEFAULT_MAX_VIEWERS,
        recheck_seconds: float | None = None,
        origin_of: Callable[[str], Awaitable[str | None]] | None = None,
    ):
        self.hub = hub
        self.access = access
        self.acquire_tuner = acquire_tuner
        self.max_backlog = max_backlog
        self.max_viewers = max_viewers
        self.recheck_seconds = recheck_seconds
        self.origin_of = origin_of  # None: every channel is read from this machine's disk
        self.hls_clients = RecentClients()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        except (ConnectionError, BadRequest):
            pass
        except Exception:
            logger.exception("TS fan-out: a request failed")
            if not writer.transport.is_closing():
                writer.write(plain_response(503, "Try again in a moment.", retry_after=5))
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, target = await read_request(reader)
        except BadRequest:
            writer.write(plain_response(400))
            raise
        url = urlsplit(target)
        match = TS_PATH.match(url.path)
        if match is None:
            writer.write(plain_response(404))
            return
        if method not in ("GET", "HEAD"):
            writer.write(plain_response(405))
            return
        number = match["number"]
        token = parse_qs(url.query).get("token", [None])[0] or match["path_token"]
        decision = await self.access.check(number, token)
        if decision.status != 200:
            writer.write(plain_response(decision.status, decision.message))
            return
        if method == "HEAD":
            writer.write(STREAM_HEAD)
            return
        if not await self._wait_for_playlist(number):
            writer.write(plain_response(503, "The channel is not on air yet.", retry_after=5))
            return
        if self.hub.viewer_total() >= self.max_viewers:
            writer.write(plain_response(503, "This server is full.", retry_after=10))
            return
        slot = None
        if match["path_token"]:  # an HDHomeRun tuner URL: it holds one of TunerCount tuners
            slot = self.acquire_tuner()
            if slot is None:
                writer.write(plain_response(503, "All tuners are in use.", retry_after=10))
                return
        viewer = Viewer(writer.transport, self.max_backlog)
        # A client that hangs up frees its tuner now, not at the next segment written to it.
        hang_up = asyncio.ensure_future(reader.read(1))
        hang_up.add_done_callback(lambda _: viewer.end("client gone"))
        try:
            writer.write(STREAM_HEAD)
            await self.hub.join(number, viewer)
            await self._watch(viewer, number, token)
        finally:
            hang_up.cancel()
            self.hub.leave(number, viewer)
            if slot is not None:
                slot.release()

    async def _watch(self, viewer: Viewer, number: str, token: str | None) -> None:
        """Until the stream ends, ask every `RECHECK_SECONDS` whether the viewer may still watch."""
        while not viewer.ended.is_set():
            recheck = ts_stream.RECHECK_SECONDS if self.recheck_seconds is None else self.recheck_seconds
            try:
                await asyncio.wait_for(viewer.ended.wait(), recheck)
            except TimeoutError:
                if (await self.access.check(number, token)).status != 200:
                    logger.info("Channel %s: a TS viewer may no longer watch; ending the stream", number)
                    viewer.end("no longer allowed")

    async def _wait_for_playlist(self, number: str) -> bool:
        """Whether the channel has a playlist, where it airs, within `WAIT_FOR_PLAYLIST_SECONDS`."""
        reader = self.hub.readers.get(number)
        if reader is not None and reader.held:
            return True  # on air and followed already: no question for each viewer tuning in
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ts_stream.WAIT_FOR_PLAYLIST_SECONDS
        while True:
            origin = await self.origin_of(number) if self.origin_of else None
            if origin is None:
                if hls.playlist_path(number).is_file():
                    return True
            elif await OriginSource(origin, number).playlist() is not None:
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.1)


# --- HLS segment requests reported by nginx -------------------------------------------------------

HLS_LINE = re.compile(rb"hls-viewer (?P<number>[0-9]{1,4}(?:\.[0-9]{1,3})?) (?P<client>.*)$")


class HlsRequestLog(asyncio.DatagramProtocol):
    """nginx's `access_log syslog:…` lines for served segments: one datagram per request,
    `… hls-viewer <channel> <address> <user agent>`. A client is its address and player, hashed
    (nothing is kept or logged in the clear)."""

    def __init__(self, clients: RecentClients):
        self.clients = clients

    def datagram_received(self, data: bytes, addr) -> None:
        match = HLS_LINE.search(data.rstrip(b"\n"))
        if match:
            address, _, user_agent = match["client"].decode("latin-1").partition(" ")
            self.clients.saw(match["number"].decode(), client_key(address, user_agent))
