from __future__ import annotations

from django.db import models
from django.utils import timezone

from catalog.choices import SyncKind, SyncStatus
from catalog.models.sources import Library, MediaSource


class SyncRun(models.Model):
    """One sync of a source (or of one library of it): what kind, how it went, what it changed."""

    source = models.ForeignKey(MediaSource, on_delete=models.CASCADE, related_name="sync_runs")
    library = models.ForeignKey(
        Library, on_delete=models.SET_NULL, null=True, blank=True, related_name="sync_runs"
    )
    kind = models.CharField(max_length=12, choices=SyncKind.choices, default=SyncKind.INCREMENTAL)
    status = models.CharField(max_length=12, choices=SyncStatus.choices, default=SyncStatus.QUEUED)
    trigger = models.CharField(max_length=40, blank=True, help_text="schedule, button, webhook, …")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    processed = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    progress_done = models.PositiveIntegerField(default=0)
    progress_label = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    changes = models.JSONField(
        default=list,
        blank=True,
        help_text="Status lines for real changes (Added movie: …), newest last, capped.",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["source", "-created_at"], name="sync_run_source_idx"),
            models.Index(fields=["status"], name="sync_run_status_idx"),
        ]

    def __str__(self) -> str:
        scope = self.library.title if self.library_id else self.source.name
        return f"{self.get_kind_display()} sync of {scope} ({self.get_status_display()})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
