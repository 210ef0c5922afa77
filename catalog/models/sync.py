from __future__ import annotations

from django.db import models
from django.utils import timezone

from catalog.choices import SyncItemErrorKind, SyncKind, SyncStatus
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
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last progress write; a running sync that stops beating has died."
    )
    changes = models.JSONField(
        default=list,
        blank=True,
        help_text="Status lines for real changes (Added movie: …), newest last, capped.",
    )
    start_after = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A run queued with a delay (a webhook's follow-up) starts after this.",
    )
    item_keys = models.JSONField(
        default=list,
        blank=True,
        help_text="Plex ratingKeys of an item-scoped sync (live updates); empty for library syncs.",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["source", "-created_at"], name="sync_run_source_idx"),
            models.Index(fields=["status"], name="sync_run_status_idx"),
            # The sync dashboard and /metrics aggregate runs by day over a window of created_at.
            models.Index(fields=["created_at"], name="sync_run_created_idx"),
        ]

    def __str__(self) -> str:
        scope = self.library.title if self.library_id else self.source.name
        if self.item_keys:
            scope = f"{len(self.item_keys)} item{'s' if len(self.item_keys) != 1 else ''} of {scope}"
        return f"{self.get_kind_display()} sync of {scope} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in (SyncStatus.QUEUED, SyncStatus.RUNNING)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class SyncItemError(models.Model):
    """An item a sync could not take in, kept until a later run takes it in fine.

    One row per source, item kind and item key (Plex's ratingKey, or `title:<title>` for an item
    Plex listed without one). Each failing run bumps `attempts` and `last_seen_at`; a run that
    syncs the item, or a complete listing that no longer has it failing, sets `resolved_at`. A
    resolved item that fails again is reopened. Messages are redacted: they never carry a token.
    """

    source = models.ForeignKey(MediaSource, on_delete=models.CASCADE, related_name="item_errors")
    library = models.ForeignKey(
        Library, on_delete=models.SET_NULL, null=True, blank=True, related_name="item_errors"
    )
    item_kind = models.CharField(max_length=12, help_text="show, season, episode or movie")
    item_key = models.CharField(max_length=120)
    title = models.CharField(max_length=300, blank=True)
    error_kind = models.CharField(max_length=12, choices=SyncItemErrorKind.choices)
    message = models.TextField(blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=1, help_text="Runs in which the item failed.")
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_run = models.ForeignKey(SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(fields=["source", "item_kind", "item_key"], name="sync_item_error_unique")
        ]
        indexes = [models.Index(fields=["resolved_at", "-last_seen_at"], name="sync_item_error_open_idx")]

    def __str__(self) -> str:
        return f"{self.item_kind} {self.title or self.item_key}: {self.get_error_kind_display()}"


class WebhookOutcome(models.TextChoices):
    TRIGGERED = "triggered", "Sync triggered"
    DEDUPLICATED = "deduplicated", "Joined a sync already queued"
    RATE_LIMITED = "rate_limited", "Rate-limited"
    IGNORED = "ignored", "Ignored event"
    REJECTED = "rejected", "Rejected"


class WebhookEvent(models.Model):
    """One call to the Plex webhook endpoint and what RetroVue did about it (the audit log)."""

    source = models.ForeignKey(
        MediaSource, on_delete=models.CASCADE, null=True, blank=True, related_name="webhook_events"
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    event = models.CharField(max_length=60, blank=True)
    section_key = models.CharField(max_length=40, blank=True)
    item_title = models.CharField(max_length=300, blank=True)
    remote_address = models.GenericIPAddressField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=WebhookOutcome.choices)
    detail = models.CharField(max_length=300, blank=True)
    sync_run = models.ForeignKey(SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # Refused calls from strangers (a wrong secret) and floods are counted on one row per source,
    # outcome and window instead of a row each, so nobody can grow the table by calling.
    calls = models.PositiveIntegerField(
        default=1, help_text="Calls this row stands for (repeats are counted here)."
    )

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event or 'webhook'} → {self.get_outcome_display()}"
