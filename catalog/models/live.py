from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone

from catalog.models.sources import MediaSource
from catalog.models.sync import SyncRun

# The listener writes its row every few seconds while it runs; a row older than this means it stopped.
STALE_AFTER = timedelta(minutes=2)


class ListenerStatus(models.TextChoices):
    CONNECTING = "connecting", "Connecting"
    CONNECTED = "connected", "Connected"
    DISCONNECTED = "disconnected", "Disconnected (reconnecting)"
    STOPPED = "stopped", "Stopped"


class NotificationListenerState(models.Model):
    """What the live-update listener (`python -m retrovue listen`) last knew about one Plex source.

    One row per Plex source the listener has watched, written by the listener only: whether its
    notification socket is connected and since when, how many library events it heard, the last
    one, the last error, and the last sync those events asked for. A listener that stops writing
    (`seen_at` goes stale) has died or was stopped.
    """

    source = models.OneToOneField(MediaSource, on_delete=models.CASCADE, related_name="listener_state")
    status = models.CharField(
        max_length=12, choices=ListenerStatus.choices, default=ListenerStatus.CONNECTING
    )
    connected_since = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(default=timezone.now, help_text="Last time the listener wrote this row.")
    frames_received = models.PositiveBigIntegerField(default=0, help_text="Every notification frame.")
    events_received = models.PositiveBigIntegerField(
        default=0, help_text="Library events (added, changed, deleted) that asked for a sync."
    )
    connects = models.PositiveIntegerField(default=0, help_text="Successful connections, the first included.")
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_event_summary = models.CharField(max_length=300, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_sync_run = models.ForeignKey(
        SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "live-update listener"

    def __str__(self) -> str:
        return f"Live updates of {self.source.name}: {self.get_status_display()}"
