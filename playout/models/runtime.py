from __future__ import annotations

from django.db import models

from catalog.models import Playable
from scheduling.models import Channel, Piece


class RuntimeState(models.TextChoices):
    STOPPED = "stopped", "Stopped"
    STARTING = "starting", "Starting"
    ON_AIR = "on_air", "On air"
    BACKING_OFF = "backing_off", "Backing off after crashes"
    FAILED = "failed", "Failed"


class ChannelRuntime(models.Model):
    """A channel's on-air state, shared by playout workers.

    A supervisor claims a channel by taking its lease with a conditional UPDATE (only when the
    lease is free or expired) and renews it by heartbeat; another worker takes over when it
    expires. The media sequence and the last segment live here so whoever runs the channel next
    continues the same playlist.
    """

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="runtime")
    state = models.CharField(max_length=12, choices=RuntimeState.choices, default=RuntimeState.STOPPED)
    lease_owner = models.CharField(max_length=120, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    restarts = models.PositiveIntegerField(default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)
    media_sequence = models.PositiveBigIntegerField(default=0)
    discontinuity_sequence = models.PositiveIntegerField(default=0)
    last_segment_at = models.DateTimeField(null=True, blank=True)
    # Where the last published segment ends on the schedule, and its discontinuity number: a worker
    # taking the channel over on another machine (no window on its disk) resumes the schedule
    # there and starts a new discontinuity after it, so a client following the channel sees one.
    resume_at = models.DateTimeField(null=True, blank=True)
    tail_discontinuity = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_requested_at = models.DateTimeField(
        null=True, blank=True, help_text="Last viewer request (on-demand channels run while this is recent)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.channel} ({self.get_state_display()})"


class AsRunEntry(models.Model):
    """What actually aired: a piece, when it was scheduled and when it really played, from what."""

    class Origin(models.TextChoices):
        PREGEN = "pregen", "Pre-generated"
        LIVE = "live", "Live transcode"
        SLATE = "slate", "Slate"
        EVENT = "event", "Live event"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="as_run")
    piece = models.ForeignKey(Piece, on_delete=models.SET_NULL, null=True, blank=True, related_name="as_run")
    playable = models.ForeignKey(
        Playable, on_delete=models.SET_NULL, null=True, blank=True, related_name="as_run"
    )
    scheduled_start = models.DateTimeField()
    scheduled_stop = models.DateTimeField()
    actual_start = models.DateTimeField()
    actual_stop = models.DateTimeField(null=True, blank=True)
    origin = models.CharField(max_length=8, choices=Origin.choices)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=120, blank=True, help_text="The playout worker that aired it.")

    class Meta:
        verbose_name = "as-run entry"
        verbose_name_plural = "as-run entries"
        ordering = ["channel", "-actual_start"]
        indexes = [models.Index(fields=["channel", "-actual_start"], name="as_run_channel_idx")]

    def __str__(self) -> str:
        return f"{self.channel.number} {self.actual_start:%H:%M:%S} {self.get_origin_display()}"
