"""One reader per channel, its segments written to every viewer of the channel.

A `ChannelReader` exists while a channel has at least one viewer. It follows the channel's live
playlist (every `POLL_SECONDS`, as Django's TS view did per viewer) and reads each new segment
once; the bytes go to each viewer's transport. The playlist and segments come from where the
channel airs (`sources`): this machine's disk, or the origin of the machine that airs it, asked
again each step (cached a second). The media sequence continues across machines, so a reader whose
channel moves (a takeover, a drain) simply continues with the next media sequence number from the
new place: its viewers see a gap of the takeover's length and a discontinuity, not an end. The reader keeps the segments still in
the playlist window in memory, so a new viewer gets today's tune-in burst, from the segment on air
now to the newest (`playout.ts_stream.tune_in_segment`), out of that memory, and joins the shared
stream right after it: at a segment boundary, with nothing repeated or skipped. Both happen in one
step of the event loop (a segment is held and sent in one too), so no segment can fall between
the burst and the live feed.

A viewer that cannot keep up (its unsent bytes pass `max_backlog`) is dropped instead of being
waited for: one slow client never holds back the others, and memory stays bounded at about
`max_backlog` plus one segment per viewer. asyncio transports already keep a per-connection send
buffer, so fanning out is one `transport.write` per viewer and segment: no thread, no task per
segment.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from playout.hls import PlaylistSegment
from playout.ts_fanout.sources import LocalSource, OriginSource, source_for
from playout.ts_stream import GIVE_UP_SECONDS, POLL_SECONDS, tune_in_segment

logger = logging.getLogger(__name__)

DEFAULT_MAX_BACKLOG = 8 * 1024 * 1024  # a few segments at SD bit rates; RETROVUE_TS_VIEWER_BACKLOG


class Viewer:
    """One open TS response: where its bytes go, and how it ends."""

    def __init__(self, transport: asyncio.WriteTransport, max_backlog: int = DEFAULT_MAX_BACKLOG):
        self.transport = transport
        self.max_backlog = max_backlog
        self.ended = asyncio.Event()
        self.end_reason = ""
        self.bytes_sent = 0

    def send(self, data: bytes) -> None:
        if self.ended.is_set():
            return
        if self.transport.is_closing():
            self.end("client gone")
            return
        if self.transport.get_write_buffer_size() > self.max_backlog:
            self.end("too slow", abort=True)
            return
        self.transport.write(data)
        self.bytes_sent += len(data)

    def end(self, reason: str, *, abort: bool = False) -> None:
        """Stop sending. `abort` drops what is still buffered (a slow viewer's backlog) at once."""
        if self.ended.is_set():
            return
        self.end_reason = reason
        self.ended.set()
        if abort:
            self.transport.abort()


@dataclass
class HeldSegment:
    segment: PlaylistSegment
    data: bytes


class ChannelReader:
    """Follows one channel's playlist and fans its new segments out (see the module docstring)."""

    def __init__(
        self,
        number: str,
        now: Callable[[], datetime],
        origin_of: Callable[[str], Awaitable[str | None]] | None = None,
        poll_seconds: float = POLL_SECONDS,
        give_up_seconds: float = GIVE_UP_SECONDS,
    ):
        self.number = number
        self.now = now
        self.origin_of = origin_of  # None: always this machine's disk
        self.poll_seconds = poll_seconds
        self.give_up_seconds = give_up_seconds
        self.viewers: set[Viewer] = set()
        self.held: OrderedDict[int, HeldSegment] = OrderedDict()
        self.next_msn: int | None = None
        self.files_opened = 0
        self.source: LocalSource | OriginSource = LocalSource(number)
        self.task: asyncio.Task | None = None

    def join(self, viewer: Viewer) -> None:
        """The tune-in burst from memory, then the live feed from the next new segment."""
        if self.held:
            start = tune_in_segment([held.segment for held in self.held.values()], self.now()).msn
            for msn, held in self.held.items():
                if msn >= start:
                    viewer.send(held.data)
        self.viewers.add(viewer)

    def leave(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)

    async def step(self) -> bool:
        """Read what the playlist added since the last step and send it; False once nothing new
        has come for `give_up_seconds` (the channel stopped, or its origin stopped answering)."""
        await self._follow_the_channel()
        playlist = await self.source.playlist()
        segments = playlist.segments if playlist else []
        if segments:
            if self.next_msn is None or self.next_msn < segments[0].msn:
                if self.next_msn is not None:
                    logger.info(
                        "Channel %s: the TS reader fell behind the window; jumping ahead", self.number
                    )
                self.next_msn = tune_in_segment(segments, self.now()).msn
            source = self.source
            for segment in segments:
                if segment.msn >= self.next_msn:
                    data = await source.segment(segment.uri)
                    if data is None:
                        break  # gone or unreachable: the next step tries again from here
                    self._deliver(segment, data)
            oldest = segments[0].msn
            while self.held and next(iter(self.held)) < oldest:
                self.held.popitem(last=False)
        return time.monotonic() - self._last_progress <= self.give_up_seconds

    async def _follow_the_channel(self) -> None:
        """Read from where the channel airs now; the next media sequence number stays the same."""
        if self.origin_of is None:
            return
        origin = await self.origin_of(self.number)
        if origin != self.source.origin:
            logger.info("Channel %s: the TS reader now follows %s", self.number, origin or "this machine")
            self.source = source_for(self.number, origin)

    def _deliver(self, segment: PlaylistSegment, data: bytes) -> None:
        """Hold and send one segment: in one step of the event loop (see `join`)."""
        if self.next_msn is not None and segment.msn < self.next_msn:
            return  # sent already (a step that overlapped another): never twice
        self.files_opened += 1
        self.held[segment.msn] = HeldSegment(segment, data)
        self.next_msn = segment.msn + 1
        self._last_progress = time.monotonic()
        for viewer in list(self.viewers):
            viewer.send(data)
            if viewer.ended.is_set():
                self.viewers.discard(viewer)

    async def run(self, on_exit: Callable[[ChannelReader], None]) -> None:
        self._last_progress = time.monotonic()
        try:
            while self.viewers:
                try:
                    alive = await self.step()
                except Exception:  # an unreadable file, say: try again; GIVE_UP ends a lasting one
                    logger.exception("Channel %s: the TS reader failed a step", self.number)
                    alive = time.monotonic() - self._last_progress <= self.give_up_seconds
                if not alive:
                    logger.warning(
                        "Channel %s: no new segment for %s s; ending its TS streams",
                        self.number,
                        self.give_up_seconds,
                    )
                    for viewer in list(self.viewers):
                        viewer.end("channel stopped")
                    break
                await asyncio.sleep(self.poll_seconds)
        finally:
            for viewer in list(self.viewers):  # however the loop ended, nobody waits on a dead reader
                viewer.end("reader stopped")
            on_exit(self)


class Hub:
    """The channels with viewers on this server, one reader each."""

    def __init__(self, make_reader: Callable[[str], ChannelReader]):
        self.make_reader = make_reader
        self.readers: dict[str, ChannelReader] = {}
        self.readers_started = 0

    async def join(self, number: str, viewer: Viewer) -> ChannelReader:
        reader = self.readers.get(number)
        if reader is None:
            reader = self.readers[number] = self.make_reader(number)
            self.readers_started += 1
            logger.info("Channel %s: TS reader started", number)
            reader._last_progress = time.monotonic()
            try:
                await reader.step()  # the first viewer's burst is read now, not a poll later
            except Exception:
                if self.readers.get(number) is reader:
                    del self.readers[number]
                for other in list(reader.viewers):  # viewers who joined during that step
                    other.end("reader failed")
                raise
            reader.join(viewer)
            reader.task = asyncio.get_running_loop().create_task(reader.run(self._reader_exited))
        else:
            reader.join(viewer)
        return reader

    def leave(self, number: str, viewer: Viewer) -> None:
        reader = self.readers.get(number)
        if reader is not None:
            reader.leave(viewer)

    def _reader_exited(self, reader: ChannelReader) -> None:
        if self.readers.get(reader.number) is reader:
            del self.readers[reader.number]
            logger.info(
                "Channel %s: TS reader stopped (%s segments read)", reader.number, reader.files_opened
            )

    def viewer_total(self) -> int:
        return sum(len(reader.viewers) for reader in self.readers.values())

    def viewer_counts(self) -> dict[str, int]:
        return {number: len(reader.viewers) for number, reader in self.readers.items() if reader.viewers}

    def end_all(self, reason: str) -> None:
        for reader in self.readers.values():
            for viewer in list(reader.viewers):
                viewer.end(reason)
