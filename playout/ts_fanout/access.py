"""Who may watch, asked of Django's own code from the fan-out server, and cached for a second.

The checks are the ones Django's TS view makes (`retrovue.core.stream_access`): a valid,
unrevoked stream token of an active user when the station requires tokens (403 otherwise), then an
enabled channel (404 otherwise). They run on a few executor threads with their own database
connections, and one answer per (channel, token) serves every request for about a second: 200
tuners tuning one channel at once cost one query, not 200. An open stream asks again every
`RECHECK_SECONDS` (`playout.ts_stream`), which also keeps an on-demand channel's demand stamp fresh.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import close_old_connections, connections

CACHE_SECONDS = 1.0


@dataclass(frozen=True)
class Decision:
    status: int  # 200 may watch, 403 token refused, 404 no such (enabled) channel
    message: str = ""


def decide(number: str, token: str | None) -> Decision:
    """Django's answer (runs on an executor thread)."""
    from playout.demand import note_demand
    from retrovue.core.stream_access import tokens_required, valid_token
    from scheduling.models import Channel

    close_old_connections()  # a connection the database dropped (a restart) is replaced, not reused
    if tokens_required() and not valid_token(token):
        return Decision(
            403, "This station requires a stream token: add ?token=… from Admin → System → Stream tokens."
        )
    channel = Channel.objects.filter(number=number, enabled=True).only("pk", "always_on").first()
    if channel is None:
        return Decision(404, "No such channel.")
    if not channel.always_on:
        note_demand(channel)
    return Decision(200)


class AccessCache:
    """(channel, token) → Decision for `CACHE_SECONDS`; concurrent askers share one question."""

    def __init__(self, executor: ThreadPoolExecutor, ask=decide, cache_seconds: float = CACHE_SECONDS):
        self.executor = executor
        self.ask = ask
        self.cache_seconds = cache_seconds
        self._answers: dict[tuple[str, str], tuple[float, asyncio.Future]] = {}
        self.questions_asked = 0

    async def check(self, number: str, token: str | None) -> Decision:
        key = (number, token or "")
        now = time.monotonic()
        cached = self._answers.get(key)
        if cached is None or now - cached[0] > self.cache_seconds:
            if len(self._answers) > 10_000:  # forged tokens must not grow this without bound
                self._answers = {k: v for k, v in self._answers.items() if now - v[0] <= self.cache_seconds}
            loop = asyncio.get_running_loop()
            self.questions_asked += 1
            future = loop.run_in_executor(self.executor, self.ask, number, token)
            cached = self._answers[key] = (now, future)
        try:
            return await asyncio.shield(cached[1])
        except Exception:
            self._answers.pop(key, None)  # an error (the database away) is not remembered
            raise


def shut_down(executor: ThreadPoolExecutor, threads: int) -> None:
    """Stop the executor after each of its threads has closed its database connections (a
    connection left open outlives the thread on the server, and keeps a test database in use)."""
    barrier = threading.Barrier(threads)

    def close_mine() -> None:
        barrier.wait(timeout=10)  # one job per thread: none can take a second one
        connections.close_all()

    for future in [executor.submit(close_mine) for _ in range(threads)]:
        future.result(timeout=15)
    executor.shutdown(wait=True)
