"""The fan-out process put together: HTTP and UDP endpoints, readers (each following its channel on
this machine's disk or at the origin of the machine airing it), the viewer-count publisher, and a
clean stop on SIGTERM (open streams end, this machine's counts are withdrawn)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from django.utils import timezone

from playout import viewer_counts
from playout.models import ViewerKind
from playout.ts_fanout.access import AccessCache, shut_down
from playout.ts_fanout.fanout import DEFAULT_MAX_BACKLOG, ChannelReader, Hub
from playout.ts_fanout.server import DEFAULT_MAX_VIEWERS, FanoutServer, HlsRequestLog
from playout.ts_fanout.sources import OriginLookup

logger = logging.getLogger("playout.ts_fanout")

DATABASE_THREADS = 4  # access checks, origin look-ups, count publishing; each holds one connection


def channel_reader(origins: OriginLookup, number: str) -> ChannelReader:
    return ChannelReader(number, timezone.now, origin_of=origins.origin)


def publish_counts(source: str, server: FanoutServer) -> None:
    viewer_counts.publish(source, ViewerKind.TS, server.hub.viewer_counts())
    viewer_counts.publish(source, ViewerKind.HLS, server.hls_clients.counts())


async def run(
    http_bind: tuple[str, int],
    hls_log_bind: tuple[str, int] | None,
    max_backlog: int = DEFAULT_MAX_BACKLOG,
    max_viewers: int = DEFAULT_MAX_VIEWERS,
    stop: asyncio.Event | None = None,
) -> None:
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(RuntimeError, ValueError):  # not the main thread (a test's)
            loop.add_signal_handler(signum, stop.set)
    executor = ThreadPoolExecutor(DATABASE_THREADS, thread_name_prefix="ts-fanout-db")
    origins = OriginLookup(executor)
    server = FanoutServer(
        Hub(partial(channel_reader, origins)),
        AccessCache(executor),
        max_backlog=max_backlog,
        max_viewers=max_viewers,
        origin_of=origins.origin,
    )
    http = await asyncio.start_server(server.handle, *http_bind, limit=64 * 1024, backlog=1024)
    udp = None
    if hls_log_bind:
        udp, _ = await loop.create_datagram_endpoint(
            lambda: HlsRequestLog(server.hls_clients), local_addr=hls_log_bind
        )
    source = viewer_counts.source_name("ts-fanout")
    logger.info("TS fan-out listening on %s:%s", *http_bind)
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), viewer_counts.PUBLISH_SECONDS)
            try:
                await loop.run_in_executor(executor, publish_counts, source, server)
            except Exception:
                logger.exception("TS fan-out: publishing viewer counts failed")
    finally:
        http.close()
        server.hub.end_all("server stopping")
        if udp is not None:
            udp.close()
        try:
            await loop.run_in_executor(executor, viewer_counts.withdraw, source)
        except Exception:
            logger.exception("TS fan-out: withdrawing viewer counts failed")
        await asyncio.sleep(0.2)  # let the stream handlers see their end and free their tuners
        await loop.run_in_executor(None, shut_down, executor, DATABASE_THREADS)
