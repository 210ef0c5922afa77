"""Live updates in the admin: the listener's state per Plex source, on the source's page and list."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime

from catalog.choices import SourceKind
from catalog.models import ListenerStatus, MediaSource, NotificationListenerState
from catalog.models.live import STALE_AFTER
from retrovue.core.admin import ReadOnlyAdminMixin

# The listener writes its row at least every rescan interval (15 s); much older means it is not running.


def _when(moment) -> str:
    return date_format(localtime(moment), "DATETIME_FORMAT") if moment else "–"


def listener_state_of(source: MediaSource) -> NotificationListenerState | None:
    try:
        return source.listener_state
    except NotificationListenerState.DoesNotExist:
        return None


def status_label(state: NotificationListenerState | None) -> str:
    if state is None:
        return "Listener never ran"
    if state.status != ListenerStatus.STOPPED and timezone.now() - state.seen_at > STALE_AFTER:
        return f"Listener not running (last seen {_when(state.seen_at)})"
    if state.status == ListenerStatus.CONNECTED:
        return f"Connected since {_when(state.connected_since)}"
    return state.get_status_display()


def live_status(source: MediaSource) -> str:
    if source.kind != SourceKind.PLEX:
        return "–"
    return status_label(listener_state_of(source))


def live_updates(source: MediaSource | None) -> str:
    """The change page's summary: connection, counters, last event, last error, last sync."""
    if source is None or source.pk is None or source.kind != SourceKind.PLEX:
        return "–"
    state = listener_state_of(source)
    if state is None:
        return "The live-update listener (python -m retrovue listen) has not watched this source yet."
    rows = [
        ("Status", status_label(state)),
        ("Connections", f"{state.connects} (reconnects: {max(state.connects - 1, 0)})"),
        ("Frames received", f"{state.frames_received:,}"),
        ("Library events", f"{state.events_received:,}"),
        (
            "Last event",
            f"{_when(state.last_event_at)} · {state.last_event_summary}" if state.last_event_at else "–",
        ),
        ("Last error", f"{_when(state.last_error_at)} · {state.last_error}" if state.last_error else "–"),
    ]
    table = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
    run = state.last_sync_run_id
    link = (
        format_html(
            '<p><a href="{}">Last sync it asked for (#{})</a></p>',
            reverse("admin:catalog_syncrun_progress", args=[run]),
            run,
        )
        if run
        else ""
    )
    return format_html("<table>{}</table>{}", table, link)


@admin.register(NotificationListenerState)
class NotificationListenerStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """One row per Plex source the live-update listener watched; written by the listener only."""

    list_display = (
        "source",
        "status",
        "connected_since",
        "events_received",
        "frames_received",
        "connects",
        "last_event_at",
        "last_event_summary",
        "last_error",
        "seen_at",
    )
    list_filter = ("status",)
    search_fields = ("source__name", "last_event_summary", "last_error")
    list_select_related = ("source",)
    readonly_fields = [field.name for field in NotificationListenerState._meta.fields]
