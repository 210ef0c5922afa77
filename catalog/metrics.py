"""What catalog adds to `/metrics`: sync runs, their items and durations, open item errors, and the
Plex notification listener's event counters (registered from CatalogConfig.ready)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

# Sync duration histogram buckets, in seconds: an idle incremental run takes about a second, a
# first full sync of a big library tens of minutes.
DURATION_BUCKETS = (1, 5, 15, 60, 300, 900, 1800, 3600)
CHANGE_FIELDS = ("processed", "added", "updated", "removed", "skipped", "failed")


def sync_families(now):
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


def notification_listener_families(now):
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
