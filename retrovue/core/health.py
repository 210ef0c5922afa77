"""What `/healthz` checks: the database, the broker, a live worker per queue, the beat scheduler,
and what the apps register (playout: every channel; catalog: the Plex live-update listener).

Each check gives `ok`, a short `detail` and how long it took. Details come from a fixed vocabulary
plus numbers and exception class names, never from exception messages or URLs: the report is
served anonymously, and a broker URL or an ffmpeg error line would leak hostnames, passwords and
paths.

Worker liveness comes from the WorkerHeartbeat rows workers write (see `worker_heartbeat`), so it
is one query instead of a broadcast `inspect ping` that waits out its whole timeout, and it works
over the embedded filesystem broker, which has no remote control. The `playout` queue has no
Celery task today: channels run in the playout supervisor, a process of its own, so that queue
counts as served while the supervisor beats (playout registers that check). The beat scheduler
beats in the same table under the role `beat`.

A report is cached for `CACHE_SECONDS` per process, so a monitoring system, a load balancer and
a curious browser polling together cost one round of checks, and a stopped broker (one connect
timeout) cannot pile up requests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone

CACHE_SECONDS = 3.0
BROKER_TIMEOUT_SECONDS = 1.0


@dataclass
class Check:
    """One line of the report. `ok` False is failing (the station, or this part of it, is down);
    `degraded` is ok-but-not-right (airing the slate, a dead beat, a silent listener): the report
    stays 200 so a load balancer keeps the machine, while monitoring sees the status.
    `machine` names the worker or supervisor concerned; only users allowed to read the metrics
    see it (hostnames are not for the public)."""

    name: str
    ok: bool
    detail: str
    latency_ms: float = 0.0
    degraded: bool = False
    machine: str = ""

    @property
    def status(self) -> str:
        return "failing" if not self.ok else "degraded" if self.degraded else "ok"

    def as_dict(self, *, with_machines: bool = False) -> dict:
        fields = {"name": self.name, "ok": self.ok, "status": self.status, "detail": self.detail}
        fields["latency_ms"] = self.latency_ms
        if with_machines and self.machine:
            fields["machine"] = self.machine
        return fields


@dataclass
class Report:
    ok: bool
    checked_at: datetime
    checks: list[Check]

    @property
    def status(self) -> str:
        statuses = {check.status for check in self.checks}
        return "failing" if "failing" in statuses else "degraded" if "degraded" in statuses else "ok"

    def as_dict(self, *, with_machines: bool = False) -> dict:
        return {
            "ok": self.ok,
            "status": self.status,
            "checked_at": self.checked_at.isoformat(),
            "checks": [check.as_dict(with_machines=with_machines) for check in self.checks],
        }


# --- What the apps add ---------------------------------------------------------------------------
# Core knows no app: an app that has something to report registers a group of checks (playout its
# channels, catalog its live-update listener) from its AppConfig.ready(), and may stand in for a
# queue that no Celery worker consumes (playout's supervisor serves the `playout` queue).

_app_groups: dict[str, Callable[[datetime], list[Check]]] = {}
_queue_servers: dict[str, Callable[[datetime], Check]] = {}


def register_group(name: str, run: Callable[[datetime], list[Check]]) -> None:
    _app_groups[name] = run


def register_queue_server(queue: str, check: Callable[[datetime], Check]) -> None:
    """`check(now)` reports the queue when no Celery worker consumes it."""
    _queue_servers[queue] = check


def groups() -> tuple[str, ...]:
    return ("database", "broker", "queues", "beat", *_app_groups)


def _failure(error: Exception) -> str:
    return f"unreachable ({type(error).__name__})"


# --- The checks ------------------------------------------------------------------------------------


def check_database() -> list[Check]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return [Check("database", False, _failure(error))]
    return [Check("database", True, "reachable")]


def check_broker(url: str | None = None, transport_options: dict | None = None) -> list[Check]:
    """Connect to the broker the workers use, once, with a short timeout (no retries)."""
    from kombu import Connection

    url = url or settings.CELERY_BROKER_URL
    options = dict(
        settings.CELERY_BROKER_TRANSPORT_OPTIONS if transport_options is None else transport_options
    )
    options.update(socket_timeout=BROKER_TIMEOUT_SECONDS, socket_connect_timeout=BROKER_TIMEOUT_SECONDS)
    scheme = url.split("://", 1)[0]
    try:
        with Connection(url, connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=options) as broker:
            broker.ensure_connection(max_retries=0)
    except Exception as error:
        return [Check("broker", False, f"{scheme} {_failure(error)}")]
    return [Check("broker", True, f"{scheme} reachable")]


def check_queues(now: datetime, queues: Iterable[str] | None = None) -> list[Check]:
    from retrovue.core.worker_heartbeat import live_queues

    queues = list(queues or settings.CELERY_QUEUES)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return [Check(f"queue:{queue}", True, "tasks run eagerly in the calling process") for queue in queues]
    served = live_queues(now)
    checks = []
    for queue in queues:
        workers = len(served.get(queue, []))
        if workers:
            checks.append(Check(f"queue:{queue}", True, f"{workers} live worker{'s' if workers > 1 else ''}"))
        elif queue in _queue_servers:
            checks.append(_queue_servers[queue](now))
        else:
            checks.append(Check(f"queue:{queue}", False, "no live worker consumes it"))
    return checks


def check_beat(now: datetime) -> list[Check]:
    """The Celery beat scheduler rolls the program and break logs forward and plans pre-generation:
    without it the station airs on for a while, then runs dry, so a missing beat is `degraded`."""
    from retrovue.core.worker_heartbeat import BEAT_ROLE, live_queues

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return [Check("beat", True, "tasks run eagerly in the calling process")]
    if live_queues(now).get(BEAT_ROLE):
        return [Check("beat", True, "the scheduler is alive")]
    return [
        Check(
            "beat",
            True,
            "no beat heartbeat: schedules stop rolling forward and channels run dry",
            degraded=True,
        )
    ]


# --- The report ------------------------------------------------------------------------------------


def _timed(run: Callable[[], list[Check]]) -> list[Check]:
    started = time.perf_counter()
    checks = run()
    elapsed = round((time.perf_counter() - started) * 1000, 1)
    for check in checks:
        check.latency_ms = elapsed
    return checks


def build_report(asked: Iterable[str] | None = None) -> Report:
    asked = set(asked or groups())
    now = timezone.now()
    runs: list[tuple[str, Callable[[], list[Check]]]] = [
        ("database", check_database),
        ("broker", check_broker),
        ("queues", lambda: check_queues(now)),
        ("beat", lambda: check_beat(now)),
        *((name, lambda run=run: run(now)) for name, run in _app_groups.items()),
    ]
    checks: list[Check] = []
    for group, run in runs:
        if group not in asked:
            continue
        try:
            checks.extend(_timed(run))
        except Exception as error:
            # With the database down the queue and channel checks fail too: one line for each group.
            checks.append(Check(group, False, _failure(error)))
    return Report(ok=all(check.ok for check in checks), checked_at=now, checks=checks)


class ReportCache:
    """The last report per selection of groups, reused for `max_age` seconds; one builder at a time."""

    def __init__(self, max_age: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.max_age = max_age
        self.clock = clock
        self._lock = threading.Lock()
        self._reports: dict[tuple[str, ...], tuple[float, Report]] = {}

    def get(self, asked: Iterable[str] | None = None) -> Report:
        key = tuple(sorted(set(asked or groups())))
        with self._lock:
            cached = self._reports.get(key)
            if cached is not None and self.clock() - cached[0] < self.max_age:
                return cached[1]
            report = build_report(key)
            self._reports[key] = (self.clock(), report)
            return report

    def clear(self) -> None:
        with self._lock:
            self._reports.clear()


report_cache = ReportCache()
