"""Prometheus metrics, read from the database when scraped.

The web server runs several gunicorn processes and the work happens in Celery workers and the
playout supervisor, so in-process counters would each see a sliver. Everything here is computed
at scrape time from the rows those processes write (SyncRun, SyncItemError, ChannelRuntime,
WorkerHeartbeat, …) by one custom collector, in a handful of aggregate queries whose number does
not grow with the history. Counters are sums over SyncRun rows, which are kept (deleting a source
deletes its runs, which Prometheus reads as a counter reset).

Served at `/metrics` to a bearer API token of a staff user or a staff session; see views.metrics.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)

# Sync duration histogram buckets, in seconds: an idle incremental run takes about a second, a
# first full sync of a big library tens of minutes.
DURATION_BUCKETS = (1, 5, 15, 60, 300, 900, 1800, 3600)
CHANGE_FIELDS = ("processed", "added", "updated", "removed", "skipped", "failed")


def _sync_families():
    from catalog.choices import SyncStatus
    from catalog.models import MediaSource, SyncItemError, SyncRun

    names = dict(MediaSource.objects.values_list("pk", "name"))

    runs = CounterMetricFamily(
        "retrovue_sync_runs", "Sync runs by source, kind and status.", labels=["source", "kind", "status"]
    )
    for source_id, kind, status, count in (
        SyncRun.objects.values_list("source_id", "kind", "status").annotate(count=Count("pk")).order_by()
    ):
        runs.add_metric([names.get(source_id, str(source_id)), kind, status], count)
    yield runs

    totals = SyncRun.objects.values("source_id").annotate(
        **{name: Sum(name) for name in (*CHANGE_FIELDS, "api_calls")}
    )
    items = CounterMetricFamily(
        "retrovue_sync_items",
        "Items handled by syncs, by source and what happened to them (failed: could not be taken in).",
        labels=["source", "change"],
    )
    api_calls = CounterMetricFamily(
        "retrovue_plex_api_calls", "Requests syncs made to Plex.", labels=["source"]
    )
    for row in totals.order_by():
        source = names.get(row["source_id"], str(row["source_id"]))
        for name in CHANGE_FIELDS:
            items.add_metric([source, name], row[name] or 0)
        api_calls.add_metric([source], row["api_calls"] or 0)
    yield items
    yield api_calls

    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    buckets = {
        f"le_{seconds}": Count("pk", filter=Q(took__lte=timedelta(seconds=seconds)))
        for seconds in DURATION_BUCKETS
    }
    finished = (
        SyncRun.objects.filter(started_at__isnull=False, finished_at__isnull=False)
        .annotate(took=duration)
        .values("source_id", "kind")
        .annotate(count=Count("pk"), total=Sum("took"), **buckets)
        .order_by()
    )
    histogram = HistogramMetricFamily(
        "retrovue_sync_duration_seconds", "How long finished sync runs took.", labels=["source", "kind"]
    )
    for row in finished:
        histogram.add_metric(
            [names.get(row["source_id"], str(row["source_id"])), row["kind"]],
            [(str(float(seconds)), row[f"le_{seconds}"]) for seconds in DURATION_BUCKETS]
            + [("+Inf", row["count"])],
            sum_value=row["total"].total_seconds() if row["total"] else 0.0,
        )
    yield histogram

    open_errors = GaugeMetricFamily(
        "retrovue_sync_item_errors_open",
        "Items that failed to sync and have not synced since, by source and error kind.",
        labels=["source", "error_kind"],
    )
    for source_id, error_kind, count in (
        SyncItemError.objects.filter(resolved_at__isnull=True)
        .values_list("source_id", "error_kind")
        .annotate(count=Count("pk"))
        .order_by()
    ):
        open_errors.add_metric([names.get(source_id, str(source_id)), error_kind], count)
    yield open_errors

    running = GaugeMetricFamily("retrovue_sync_running", "Sync runs queued or running.", labels=["status"])
    active = dict(
        SyncRun.objects.filter(status__in=[SyncStatus.QUEUED, SyncStatus.RUNNING])
        .values_list("status")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for status in (SyncStatus.QUEUED, SyncStatus.RUNNING):
        running.add_metric([status], active.get(status, 0))
    yield running

    last_success = GaugeMetricFamily(
        "retrovue_sync_last_success_timestamp_seconds",
        "When each source last synced without failing (Unix time).",
        labels=["source"],
    )
    for name, at in MediaSource.objects.filter(last_successful_sync_at__isnull=False).values_list(
        "name", "last_successful_sync_at"
    ):
        last_success.add_metric([name], at.timestamp())
    yield last_success


def notification_listener_families():
    """The Plex notification (websocket) listener's event counters, one per source."""
    from catalog.models import NotificationListenerState

    events = CounterMetricFamily(
        "retrovue_plex_notification_events",
        "Events received from Plex's notification websocket, by source.",
        labels=["source"],
    )
    for name, received in NotificationListenerState.objects.values_list("source__name", "events_received"):
        events.add_metric([name], received)
    yield events


def _playout_families(now):
    from playout import pregen
    from playout.models import ChannelRuntime, RuntimeState
    from scheduling.models import Channel

    channels = list(Channel.objects.filter(enabled=True).values_list("pk", "number"))
    runtimes = {
        row["channel_id"]: row
        for row in ChannelRuntime.objects.filter(channel__enabled=True).values(
            "channel_id", "state", "viewers", "restarts"
        )
    }
    states = GaugeMetricFamily("retrovue_channels", "Enabled channels by playout state.", labels=["state"])
    counts = {state: 0 for state in RuntimeState.values}
    for pk, _ in channels:
        counts[runtimes.get(pk, {}).get("state", RuntimeState.STOPPED)] += 1
    for state, count in counts.items():
        states.add_metric([state], count)
    yield states
    yield GaugeMetricFamily(
        "retrovue_channels_on_air", "Enabled channels on the air now.", value=counts[RuntimeState.ON_AIR]
    )

    viewers = GaugeMetricFamily("retrovue_channel_viewers", "Viewers per channel.", labels=["channel"])
    restarts = CounterMetricFamily(
        "retrovue_channel_restarts", "ffmpeg restarts per channel since it was created.", labels=["channel"]
    )
    coverage = GaugeMetricFamily(
        "retrovue_pregen_coverage_seconds",
        "How far ahead each channel's schedule is pre-generated without a gap.",
        labels=["channel"],
    )
    ahead = pregen.coverage_by_channel(now)
    for pk, number in channels:
        runtime = runtimes.get(pk, {})
        viewers.add_metric([number], runtime.get("viewers", 0))
        restarts.add_metric([number], runtime.get("restarts", 0))
        coverage.add_metric([number], ahead.get(pk, timedelta(0)).total_seconds())
    yield viewers
    yield restarts
    yield coverage


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
    """Everything above, collected on each scrape."""

    def collect(self):
        now = timezone.now()
        yield from _sync_families()
        yield from notification_listener_families()
        yield from _playout_families(now)
        yield from _worker_families(now)


registry = CollectorRegistry(auto_describe=False)
registry.register(StationCollector())
