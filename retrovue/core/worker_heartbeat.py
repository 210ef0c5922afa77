"""Each Celery worker writes a WorkerHeartbeat row every few seconds (a thread of its main process);
so does the beat scheduler, under the role `beat`.

The thread starts when the worker is ready to consume and stops, deleting the row, on a clean
shutdown; a worker killed outright leaves a row that simply goes stale. The main process keeps
beating while every pool process is busy with a long encode: the beat says "this worker is
alive and consuming these queues", not "it is idle".
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from celery import signals
from django.db import close_old_connections, connection
from django.utils import timezone

logger = logging.getLogger(__name__)

BEAT_SECONDS = 10
# A row older than this belongs to a dead (or wedged) worker; three missed beats and a margin.
STALE_SECONDS = 35
# The beat scheduler beats in the same table, under this role in place of queues.
BEAT_ROLE = "beat"
# Rows of workers that vanished without a clean shutdown are dropped after this long.
FORGET_AFTER = timedelta(days=1)


def beat(hostname: str, queues: list[str], pid: int | None = None, started_at=None) -> None:
    from retrovue.core.models import WorkerHeartbeat

    now = timezone.now()
    defaults = {"queues": sorted(queues), "pid": pid, "last_seen_at": now}
    if started_at is not None:
        defaults["started_at"] = started_at
    WorkerHeartbeat.objects.update_or_create(hostname=hostname, defaults=defaults)


def forget(hostname: str) -> None:
    from retrovue.core.models import WorkerHeartbeat

    WorkerHeartbeat.objects.filter(hostname=hostname).delete()
    WorkerHeartbeat.objects.filter(last_seen_at__lt=timezone.now() - FORGET_AFTER).delete()


def live_queues(now=None) -> dict[str, list[str]]:
    """Queue name → hostnames of workers that consumed it within STALE_SECONDS (one query)."""
    from retrovue.core.models import WorkerHeartbeat

    now = now or timezone.now()
    served: dict[str, list[str]] = {}
    rows = WorkerHeartbeat.objects.filter(last_seen_at__gte=now - timedelta(seconds=STALE_SECONDS))
    for hostname, queues in rows.values_list("hostname", "queues"):
        for queue in queues:
            served.setdefault(queue, []).append(hostname)
    return served


class HeartbeatThread(threading.Thread):
    """Beats every `interval` seconds until `stop()`; a failed beat is logged and retried next time."""

    def __init__(self, hostname: str, queues: list[str], interval: float = BEAT_SECONDS):
        super().__init__(name="retrovue-heartbeat", daemon=True)
        self.hostname = hostname
        self.queues = queues
        self.interval = interval
        self.started_at = timezone.now()
        self._stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                self.beat_once()
                self._stopping.wait(self.interval)
        finally:
            connection.close()

    def beat_once(self) -> None:
        close_old_connections()
        try:
            beat(self.hostname, self.queues, os.getpid(), self.started_at)
        except Exception:
            logger.exception("Worker heartbeat of %s failed", self.hostname)

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout=5)
        try:
            forget(self.hostname)
        except Exception:
            logger.exception("Could not remove the heartbeat of %s", self.hostname)


_thread: HeartbeatThread | None = None


@signals.worker_ready.connect
def start_heartbeat(sender=None, **_):
    global _thread
    queues = list(sender.app.amqp.queues.consume_from or {})
    _thread = HeartbeatThread(sender.hostname, queues)
    _thread.start()


@signals.worker_shutdown.connect
def stop_heartbeat(sender=None, **_):
    global _thread
    if _thread is not None:
        _thread.stop()
        _thread = None


_beat_thread: HeartbeatThread | None = None


@signals.beat_init.connect
@signals.beat_embedded_init.connect
def start_beat_heartbeat(sender=None, **_):
    """The beat process (or a worker running beat embedded) says it is alive; beat has no shutdown
    signal, so its row simply goes stale when it stops, and `/healthz` reports it."""
    global _beat_thread
    if _beat_thread is None:
        _beat_thread = HeartbeatThread(f"beat@{socket.gethostname()}", [BEAT_ROLE])
        _beat_thread.start()
