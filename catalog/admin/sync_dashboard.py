"""The sync dashboard (staff): runs per day, durations, changes, error rate, sources that need a new
sign-in and recent failures, over a window of 7 to 365 days.

Everything is aggregated in SQL: one `TruncDay` + `annotate` query for the days, one for the
sources (their latest run through a subquery on the (source, -created_at) index), and two short
lists, so the page costs the same handful of queries with a year of hourly runs as with a week
(bench/sync_dashboard.py measures it). Charts are inline SVG built here: no JavaScript, no CDN.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.decorators import permission_required
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncDay
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache

from catalog.choices import SyncStatus
from catalog.models import MediaSource, SyncItemError, SyncRun

WINDOWS = (7, 30, 90, 365)
DEFAULT_DAYS = 30
RECENT_FAILURES = 15
RECENT_ITEM_ERRORS = 10
CHART_HEIGHT = 100

DURATION = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())


@dataclass
class Day:
    day: datetime
    total: int = 0
    succeeded: int = 0
    partial: int = 0
    failed: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    item_failures: int = 0
    avg_seconds: float | None = None
    max_seconds: float | None = None

    @property
    def changes(self) -> int:
        return self.added + self.updated + self.removed


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _window_rows(since: datetime) -> list[dict]:
    """The window's runs summed per (day, source): the only query that reads every run."""
    finished = Q(started_at__isnull=False, finished_at__isnull=False)
    return list(
        SyncRun.objects.filter(created_at__gte=since)
        .annotate(day=TruncDay("created_at"))
        .values("day", "source_id")
        .annotate(
            total=Count("pk"),
            succeeded=Count("pk", filter=Q(status=SyncStatus.SUCCEEDED)),
            partial=Count("pk", filter=Q(status=SyncStatus.PARTIAL)),
            failed_runs=Count("pk", filter=Q(status=SyncStatus.FAILED)),
            added_sum=Sum("added"),
            updated_sum=Sum("updated"),
            removed_sum=Sum("removed"),
            failed_items=Sum("failed"),
            timed=Count("pk", filter=finished),
            took_sum=Sum(DURATION, filter=finished),
            took_max=Max(DURATION, filter=finished),
        )
        .order_by()
    )


def days_of(rows: list[dict], since: datetime, now: datetime) -> list[Day]:
    """One Day per calendar day (station time zone) since `since`, empty days included."""
    found: dict = {}
    timed: dict = {}
    for row in rows:
        date = timezone.localtime(row["day"]).date()
        day = found.setdefault(date, Day(day=row["day"]))
        day.total += row["total"]
        day.succeeded += row["succeeded"]
        day.partial += row["partial"]
        day.failed += row["failed_runs"]
        day.added += row["added_sum"] or 0
        day.updated += row["updated_sum"] or 0
        day.removed += row["removed_sum"] or 0
        day.item_failures += row["failed_items"] or 0
        count, seconds = timed.get(date, (0, 0.0))
        timed[date] = (count + row["timed"], seconds + (_seconds(row["took_sum"]) or 0.0))
        longest = _seconds(row["took_max"])
        if longest is not None:
            day.max_seconds = max(day.max_seconds or 0.0, longest)
    for date, (count, seconds) in timed.items():
        if count:
            found[date].avg_seconds = seconds / count
    days = []
    day = timezone.localtime(since)
    while day <= now:
        days.append(found.get(day.date()) or Day(day=day))
        day += timedelta(days=1)
    return days


def bar_chart(days: list[Day], series: list[tuple[str, str]], label, description: str) -> dict:
    """Stacked bars, one per day, as inline SVG: `series` is (attribute, css class) bottom-up.

    Built here rather than in a template loop: a year is a thousand rectangles per chart, which
    the template engine takes most of a second to render.
    """
    peak = max((sum(getattr(day, name) or 0 for name, _ in series) for day in days), default=0) or 1
    parts = [
        f'<svg class="rv-chart" viewBox="0 0 {len(days) * 10} {CHART_HEIGHT}" preserveAspectRatio="none" '
        f'role="img" aria-label="{escape(description)}">'
    ]
    for index, day in enumerate(days):
        y = float(CHART_HEIGHT)
        parts.append(f"<g><title>{escape(label(day))}</title>")
        for name, css in series:
            height = (getattr(day, name) or 0) / peak * CHART_HEIGHT
            if height > 0:
                y -= height
                parts.append(
                    f'<rect class="{css}" x="{index * 10}" y="{y:.2f}" width="8" height="{height:.2f}"/>'
                )
        parts.append("</g>")
    parts.append("</svg>")
    return {"svg": mark_safe("".join(parts)), "peak": peak}  # noqa: S308  (every value is escaped or a number)


def _sources(rows: list[dict]) -> list[dict]:
    latest = SyncRun.objects.filter(source=OuterRef("pk")).order_by("-created_at")
    sources = MediaSource.objects.annotate(last_status=Subquery(latest.values("status")[:1])).order_by("name")
    window: dict[int, dict] = {}
    for row in rows:
        stats = window.setdefault(
            row["source_id"], {"total": 0, "failed": 0, "partial": 0, "timed": 0, "took": 0.0}
        )
        stats["total"] += row["total"]
        stats["failed"] += row["failed_runs"]
        stats["partial"] += row["partial"]
        stats["timed"] += row["timed"]
        stats["took"] += _seconds(row["took_sum"]) or 0.0
    result = []
    for source in sources:
        stats = window.get(source.pk, {"total": 0, "failed": 0, "partial": 0, "timed": 0, "took": 0.0})
        total = stats["total"]
        result.append(
            {
                "source": source,
                "runs": total,
                "failed": stats["failed"],
                "partial": stats["partial"],
                "error_rate": (stats["failed"] + stats["partial"]) / total if total else None,
                "avg_seconds": stats["took"] / stats["timed"] if stats["timed"] else None,
                "last_status": source.last_status,
                # Set when Plex refused the token (catalog.plex.auth); syncs wait for a new sign-in.
                "needs_sign_in": source.needs_sign_in,
            }
        )
    return result


def dashboard_data(days: int = DEFAULT_DAYS, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - timedelta(days=days - 1)
    rows = _window_rows(since)
    per_day = days_of(rows, since, now)
    total = sum(day.total for day in per_day)
    bad = sum(day.failed + day.partial for day in per_day)
    durations = [(day.avg_seconds, day.total) for day in per_day if day.avg_seconds is not None]
    sources = _sources(rows)
    open_errors = SyncItemError.objects.filter(resolved_at__isnull=True)
    return {
        "days": days,
        "since": since,
        "per_day": per_day,
        "totals": {
            "runs": total,
            "failed": sum(day.failed for day in per_day),
            "partial": sum(day.partial for day in per_day),
            "error_rate": bad / total if total else None,
            "added": sum(day.added for day in per_day),
            "updated": sum(day.updated for day in per_day),
            "removed": sum(day.removed for day in per_day),
            "item_failures": sum(day.item_failures for day in per_day),
            "avg_seconds": (
                sum(seconds * count for seconds, count in durations) / sum(count for _, count in durations)
                if durations
                else None
            ),
            "max_seconds": max((day.max_seconds or 0 for day in per_day), default=0) or None,
        },
        "runs_chart": bar_chart(
            per_day,
            [("succeeded", "ok"), ("partial", "partial"), ("failed", "failed")],
            lambda day: f"{day.day:%Y-%m-%d}: {day.total} runs, {day.partial} partial, {day.failed} failed",
            "Sync runs per day",
        ),
        "duration_chart": bar_chart(
            per_day,
            [("avg_seconds", "duration")],
            lambda day: (
                f"{day.day:%Y-%m-%d}: average {day.avg_seconds or 0:.1f} s, longest {day.max_seconds or 0:.1f} s"
            ),
            "Average sync duration per day",
        ),
        "changes_chart": bar_chart(
            per_day,
            [("added", "added"), ("updated", "updated"), ("removed", "removed")],
            lambda day: (
                f"{day.day:%Y-%m-%d}: {day.added} added, {day.updated} updated, {day.removed} removed"
            ),
            "Items changed per day",
        ),
        "sources": sources,
        "sign_in": [row["source"] for row in sources if row["needs_sign_in"]],
        "recent_failures": list(
            SyncRun.objects.filter(status__in=[SyncStatus.FAILED, SyncStatus.PARTIAL])
            .select_related("source", "library__source")
            .order_by("-created_at")[:RECENT_FAILURES]
        ),
        "open_item_errors": open_errors.count(),
        "recent_item_errors": list(
            open_errors.select_related("source", "library__source").order_by("-last_seen_at")[
                :RECENT_ITEM_ERRORS
            ]
        ),
    }


@permission_required("catalog.view_syncrun", raise_exception=True)
@never_cache
def sync_dashboard(request, admin_site):
    try:
        days = int(request.GET.get("days", DEFAULT_DAYS))
    except ValueError:
        days = DEFAULT_DAYS
    if days not in WINDOWS:
        days = DEFAULT_DAYS
    context = {
        **admin_site.each_context(request),
        "title": "Sync dashboard",
        "windows": WINDOWS,
        **dashboard_data(days),
    }
    return TemplateResponse(request, "catalog/sync_dashboard.html", context)


def sync_dashboard_urls(admin_site) -> list:
    """The dashboard's URL, relative to the admin's root; it belongs in the admin's URL namespace."""
    return [
        path(
            "catalog/sync-dashboard/",
            admin_site.admin_view(sync_dashboard),
            {"admin_site": admin_site},
            name="catalog_sync_dashboard",
        )
    ]
