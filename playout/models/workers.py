from __future__ import annotations

from django.db import models
from django.utils import timezone


class PlayoutWorker(models.Model):
    """A running playout supervisor (one per playout machine), as of its last heartbeat.

    Supervisors read these rows to share the station: each takes channels up to its fair share of
    the live workers' total capacity (CPU cores), a draining one (SIGTERM) takes nothing and hands
    its channels to the others, and a row whose heartbeat is older than the channel lease belongs
    to a dead worker, whose channels the others take over when their leases expire. `origin` is the
    base URL its HLS is served from on its own machine: the front door looks a channel's lease
    owner up here to route a viewer to the machine airing it.
    """

    worker_id = models.CharField(max_length=120, unique=True)
    hostname = models.CharField(max_length=200, blank=True)
    origin = models.CharField(max_length=300, blank=True, help_text="Base URL of this machine's HLS.")
    capacity = models.FloatField(help_text="CPU cores this worker may spend on channels.")
    load = models.FloatField(default=0.0, help_text="Estimated CPU cores of the channels it holds.")
    channels = models.PositiveIntegerField(default=0)
    draining = models.BooleanField(default=False)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["worker_id"]

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.load:.2f}/{self.capacity:.2f} CPU)"
