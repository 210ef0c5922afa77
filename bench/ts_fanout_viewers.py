"""The load generator of bench/ts_fanout.py, a process of its own so its CPU is counted apart.

Opens `--viewers` HTTP/1.0 connections to one channel's MPEG-TS URL (close-delimited, no chunking
to undo), reads every byte each receives for `--seconds`, and checks each stream's 188-byte sync
all along. The first `--sample` viewers also keep their bytes in `--out` for the packet-by-packet
check against the segments on disk. Prints one JSON line: per viewer status, bytes, sync errors,
whether it was cut off early, and this process's own CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from pathlib import Path
from urllib.parse import urlsplit

PACKET = 188


class Watch:
    def __init__(self, index: int, keep: Path | None):
        self.index = index
        self.keep = keep.open("wb") if keep else None
        self.status = ""
        self.bytes = 0
        self.sync_errors = 0
        self.ended_early = False
        self.first_byte_seconds: float | None = None
        self._phase = 0  # where the next packet starts in the next chunk

    def take(self, chunk: bytes) -> None:
        heads = chunk[self._phase :: PACKET]
        self.sync_errors += len(heads) - heads.count(0x47)
        self._phase = (self._phase - len(chunk)) % PACKET
        self.bytes += len(chunk)
        if self.keep:
            self.keep.write(chunk)


async def watch(url: str, state: Watch, until: float, started: float) -> None:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80, limit=1 << 20)
    writer.write(f"GET {parts.path} HTTP/1.0\r\nHost: {parts.netloc}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    state.status = head.split(b"\r\n", 1)[0].decode()
    loop = asyncio.get_running_loop()
    try:
        while (left := until - loop.time()) > 0:
            try:
                chunk = await asyncio.wait_for(reader.read(1 << 16), left)
            except TimeoutError:
                break
            if not chunk:
                state.ended_early = True
                break
            if state.first_byte_seconds is None:
                state.first_byte_seconds = round(loop.time() - started, 3)
            state.take(chunk)
    finally:
        writer.close()
        if state.keep:
            state.keep.close()


async def main_async(args) -> list[Watch]:
    loop = asyncio.get_running_loop()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    states = [
        Watch(index, out / f"viewer-{index:03d}.ts" if index < args.sample else None)
        for index in range(args.viewers)
    ]
    started = loop.time()
    until = started + args.seconds
    tasks = []
    for state in states:  # all within a second or two, as a crowd tuning in would
        tasks.append(asyncio.create_task(watch(args.url, state, until, started)))
        await asyncio.sleep(args.ramp / max(1, args.viewers))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for state, result in zip(states, results, strict=True):
        if isinstance(result, BaseException):
            state.status = state.status or f"error: {result!r}"
    return states


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--sample", type=int, default=10)
    parser.add_argument("--ramp", type=float, default=2.0, help="seconds over which the viewers connect")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    wall = time.perf_counter()
    states = asyncio.run(main_async(args))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "wall_seconds": round(time.perf_counter() - wall, 1),
                "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
                "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
                "viewers": [
                    {
                        "status": state.status,
                        "bytes": state.bytes,
                        "sync_errors": state.sync_errors,
                        "ended_early": state.ended_early,
                        "first_byte_seconds": state.first_byte_seconds,
                    }
                    for state in states
                ],
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
