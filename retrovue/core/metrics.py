"""Prometheus metrics, read from the database when scraped.

Core knows no app: each app registers its metric families from its AppConfig.ready() with
`register_families` (catalog: syncs and the Plex listener; playout: channels), as it registers
its checks with `health`. Core itself reports the Celery workers per queue.

The web server runs several gunicorn processes and the work happens in Celery workers and the
playout supervisor, so in-process counters would each see a sliver. Everything here is computed
at scrape time from the rows those processes write (SyncRun, SyncItemError, ChannelRuntime,
WorkerHeartbeat, …) by one custom collector, in a handful of aggregate queries whose number does
not grow with the history. Counters are sums over SyncRun rows, which are kept (deleting a source
deletes its runs, which Prometheus reads as a counter reset).

Served at `/metrics` to a bearer API token of a staff user or a staff session; see views.metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from django.utils import timezone
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily

FamilySource = Callable[[datetime], Iterable]

_app_families: dict[str, FamilySource] = {}


def register_families(name: str, families: FamilySource) -> None:
    """`families(now)` yields prometheus metric families; registering a name again replaces it."""
    _app_families[name] = families


def _worker_families(now):
    from django.conf import settings

    from retrovue.core.worker_heartbeat import live_queues

    served = live_queues(now)
    workers = GaugeMetricFamily(
        "retrovue_queue_live_workers", "Celery workers alive and consuming each queue.", labels=["queue"]
    )
    for queue in settings.CELERY_QUEUES:
        workers.add_metric([queue], len(served.get(queue, [])))
    yield workers


class StationCollector:
    """What the apps registered, then the workers, collected on each scrape."""

    def collect(self):
        now = timezone.now()
        for families in list(_app_families.values()):
            yield from families(now)
        yield from _worker_families(now)


registry = CollectorRegistry(auto_describe=False)
registry.register(StationCollector())
