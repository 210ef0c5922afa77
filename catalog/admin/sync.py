"""Admin pages for running syncs: "Sync now" buttons, a live progress page, the list of sync runs
and the webhook audit log.

The buttons POST (CSRF-protected, staff with change permission only) to a view that queues the sync
through `request_sync` — the same deduplicated path the schedule and the webhook use — and then
shows the run's progress page, which polls a small JSON view once a second.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.cache import never_cache

from catalog.choices import SyncKind, SyncStatus
from catalog.models import Library, MediaSource, SyncRun, WebhookEvent
from catalog.sync.triggers import request_sync
from retrovue.core.admin import ReadOnlyAdminMixin
from retrovue.core.formatting import format_duration_ms

MODES = {value for value, _ in SyncKind.choices}


def _queue(request, source: MediaSource, library: Library | None):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not request.user.has_perm("catalog.change_mediasource"):
        raise PermissionDenied
    mode = request.POST.get("mode", SyncKind.INCREMENTAL)
    if mode not in MODES:
        mode = SyncKind.INCREMENTAL
    if not source.enabled:
        messages.error(request, f"{source} is disabled; enable it before syncing.")
        return redirect(reverse("admin:catalog_mediasource_change", args=[source.pk]))
    if source.needs_sign_in:
        messages.error(request, f"{source} needs sign-in: sign in to Plex again before syncing.")
        return redirect(reverse("admin:catalog_mediasource_change", args=[source.pk]))
    run, queued = request_sync(source, mode, library=library, trigger="button")
    scope = library.title if library else source.name
    if queued:
        messages.success(request, f"{run.get_kind_display()} sync of {scope} queued.")
    else:
        messages.info(
            request, f"A sync of {scope} is already {run.get_status_display().lower()}; showing it."
        )
    return redirect(reverse("admin:catalog_syncrun_progress", args=[run.pk]))


@staff_member_required
def sync_source_now(request, source_id: int):
    return _queue(request, get_object_or_404(MediaSource, pk=source_id), None)


@staff_member_required
def sync_library_now(request, library_id: int):
    library = get_object_or_404(Library.objects.select_related("source"), pk=library_id)
    return _queue(request, library.source, library)


def run_state(run: SyncRun) -> dict:
    percent = (
        round(100 * run.progress_done / run.progress_total)
        if run.progress_total
        else (100 if not run.is_active else 0)
    )
    return {
        "id": run.pk,
        "status": run.status,
        "status_display": run.get_status_display(),
        "active": run.is_active,
        "label": run.progress_label,
        "done": run.progress_done,
        "total": run.progress_total,
        "percent": percent,
        "counts": {
            name: getattr(run, name)
            for name in ("processed", "added", "updated", "removed", "skipped", "failed", "api_calls")
        },
        "seconds": run.duration_seconds,
        "changes": run.changes[-50:],
        "error": run.error,
    }


@staff_member_required
@permission_required("catalog.view_syncrun", raise_exception=True)
@never_cache
def sync_run_progress(request, run_id: int):
    run = get_object_or_404(SyncRun.objects.select_related("source", "library"), pk=run_id)
    context = {
        "title": f"{run}",
        "run": run,
        "state": run_state(run),
        "opts": SyncRun._meta,
        "state_url": reverse("admin:catalog_syncrun_progress_json", args=[run.pk]),
        "terminal_statuses": [
            SyncStatus.SUCCEEDED,
            SyncStatus.PARTIAL,
            SyncStatus.FAILED,
            SyncStatus.CANCELLED,
        ],
    }
    return TemplateResponse(request, "admin/catalog/syncrun/progress.html", context)


@staff_member_required
@permission_required("catalog.view_syncrun", raise_exception=True)
@never_cache
def sync_run_progress_json(request, run_id: int):
    return JsonResponse(run_state(get_object_or_404(SyncRun, pk=run_id)))


def source_urls(admin_site) -> list:
    return [
        path("<int:source_id>/sync/", admin_site.admin_view(sync_source_now), name="catalog_mediasource_sync")
    ]


def library_urls(admin_site) -> list:
    return [
        path("<int:library_id>/sync/", admin_site.admin_view(sync_library_now), name="catalog_library_sync")
    ]


def sync_run_urls(admin_site) -> list:
    return [
        path(
            "<int:run_id>/progress/",
            admin_site.admin_view(sync_run_progress),
            name="catalog_syncrun_progress",
        ),
        path(
            "<int:run_id>/progress.json",
            admin_site.admin_view(sync_run_progress_json),
            name="catalog_syncrun_progress_json",
        ),
    ]


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "progress_link",
        "source",
        "kind",
        "status",
        "trigger",
        "created_at",
        "took",
        "processed",
        "added",
        "updated",
        "removed",
        "skipped",
        "api_calls",
    )
    list_filter = ("status", "kind", "source")
    search_fields = ("source__name", "library__title", "error")
    list_select_related = ("source", "library")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def get_urls(self):
        return sync_run_urls(self.admin_site) + super().get_urls()

    @admin.display(description="progress")
    def progress_link(self, run):
        label = f"{run.progress_done}/{run.progress_total}" if run.is_active else "details"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:catalog_syncrun_progress", args=[run.pk]), label
        )

    @admin.display(description="took")
    def took(self, run):
        seconds = run.duration_seconds
        return "–" if seconds is None else format_duration_ms(int(seconds * 1000))


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The webhook audit log: every call, accepted or not, and what it led to."""

    list_display = (
        "received_at",
        "source",
        "event",
        "section_key",
        "item_title",
        "outcome",
        "calls",
        "remote_address",
        "detail",
    )
    list_filter = ("outcome", "event", "source")
    search_fields = ("item_title", "detail", "remote_address")
    list_select_related = ("source",)
    date_hierarchy = "received_at"
    show_full_result_count = False
