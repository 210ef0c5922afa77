"""What `/healthz` checks: the database, the broker, a live worker per queue, and every channel.

Each check gives `ok`, a short `detail` and how long it took. Details come from a fixed vocabulary
plus numbers and exception class names, never from exception messages or URLs: the report is
served anonymously, and a broker URL or an ffmpeg error line would leak hostnames, passwords and
paths.

Worker liveness comes from the WorkerHeartbeat rows workers write (see `worker_heartbeat`), so it
is one query instead of a broadcast `inspect ping` that waits out its whole timeout, and it works
over the embedded filesystem broker, which has no remote control. The `playout` queue has no
Celery task today: channels run in the playout supervisor, a process of its own, so that queue
counts as served while the supervisor beats (its heartbeat file, or a live channel lease when the
supervisor runs on another host).

A report is cached for `CACHE_SECONDS` per process, so a monitoring system, a load balancer and
a curious browser polling together cost one round of checks, and a stopped broker (one connect
timeout) cannot pile up requests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

CACHE_SECONDS = 3.0
BROKER_TIMEOUT_SECONDS = 1.0
# The supervisor touches its heartbeat file every 5 s (LEASE_RENEW_SECONDS).
SUPERVISOR_STALE_SECONDS = 60
# ffmpeg writes a segment every target duration (a few seconds); three missed ones is a stall.
SEGMENT_STALE_SECONDS = 30
# A channel may take this long between claiming its lease and its first segment.
STARTING_GRACE_SECONDS = 60

GROUPS = ("database", "broker", "queues", "channels")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    latency_ms: float = 0.0


@dataclass
class Report:
    ok: bool
    checked_at: datetime
    checks: list[Check]

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "checked_at": self.checked_at.isoformat(),
            "checks": [asdict(check) for check in self.checks],
        }


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


def supervisor_alive(now: datetime) -> bool:
    """The playout supervisor's heartbeat file is fresh, or some supervisor holds a live lease."""
    from playout.models import ChannelRuntime
    from playout.supervisor import heartbeat_path

    try:
        touched = heartbeat_path().stat().st_mtime
    except OSError:
        touched = None
    if touched is not None and time.time() - touched <= SUPERVISOR_STALE_SECONDS:
        return True
    return ChannelRuntime.objects.exclude(lease_owner="").filter(lease_expires_at__gt=now).exists()


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
        elif queue == "playout" and supervisor_alive(now):
            checks.append(Check("queue:playout", True, "the playout supervisor is alive"))
        elif queue == "playout":
            checks.append(Check("queue:playout", False, "no playout supervisor heartbeat"))
        else:
            checks.append(Check(f"queue:{queue}", False, "no live worker consumes it"))
    return checks


def channel_check(channel, runtime, now: datetime, wanted: bool) -> Check:
    from playout.models import RuntimeState

    name = f"channel:{channel.number}"
    if not wanted:
        return Check(name, True, "off the air (on demand, no recent viewer)")
    if runtime is None:
        return Check(name, False, "not claimed by a playout supervisor")
    segment_age = (now - runtime.last_segment_at).total_seconds() if runtime.last_segment_at else None
    if runtime.state == RuntimeState.ON_AIR:
        if segment_age is not None and segment_age <= SEGMENT_STALE_SECONDS:
            return Check(name, True, f"on air, last segment {segment_age:.0f} s ago")
        age = "no segment yet" if segment_age is None else f"last segment {segment_age:.0f} s ago"
        return Check(name, False, f"on air but stalled, {age}")
    if runtime.state == RuntimeState.STARTING:
        leased = runtime.lease_expires_at is not None and runtime.lease_expires_at > now
        started = runtime.started_at
        if leased and (started is None or now - started <= timedelta(seconds=STARTING_GRACE_SECONDS)):
            return Check(name, True, "starting")
        return Check(
            name, False, "starting for too long" if leased else "starting, but no supervisor holds it"
        )
    return Check(name, False, RuntimeState(runtime.state).label.lower())


def check_channels(now: datetime) -> list[Check]:
    from playout.models import ChannelRuntime
    from playout.supervisor import on_demand_idle
    from scheduling.models import Channel

    recently = Q(runtime__last_requested_at__gte=now - on_demand_idle())
    channels = list(Channel.objects.filter(enabled=True).select_related("runtime"))
    wanted = set(
        Channel.objects.filter(Q(always_on=True) | recently, enabled=True).values_list("pk", flat=True)
    )
    channels.sort(key=lambda channel: channel.sort_key)
    checks = []
    for channel in channels:
        try:
            runtime = channel.runtime
        except ChannelRuntime.DoesNotExist:
            runtime = None
        checks.append(channel_check(channel, runtime, now, channel.pk in wanted))
    return checks


# --- The report ------------------------------------------------------------------------------------


def _timed(run: Callable[[], list[Check]]) -> list[Check]:
    started = time.perf_counter()
    checks = run()
    elapsed = round((time.perf_counter() - started) * 1000, 1)
    for check in checks:
        check.latency_ms = elapsed
    return checks


def build_report(groups: Iterable[str] = GROUPS) -> Report:
    groups = set(groups)
    now = timezone.now()
    runs: list[tuple[str, Callable[[], list[Check]]]] = [
        ("database", check_database),
        ("broker", check_broker),
        ("queues", lambda: check_queues(now)),
        ("channels", lambda: check_channels(now)),
    ]
    checks: list[Check] = []
    for group, run in runs:
        if group not in groups:
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

    def get(self, groups: Iterable[str] = GROUPS) -> Report:
        key = tuple(sorted(set(groups)))
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
