from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


class TaskRunState(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    RETRYING = "retrying", "Retrying"


class TaskRun(models.Model):
    """One execution of a background task: what ran, with which (secret-free) arguments, how it ended.

    Rows are written by Celery signal handlers in the worker, so every task is recorded without
    each task having to remember to do it.
    """

    task_id = models.CharField(max_length=64, unique=True)
    task_name = models.CharField(max_length=200, db_index=True)
    queue = models.CharField(max_length=40, blank=True)
    arguments = models.JSONField(
        default=dict, blank=True, help_text="Positional and keyword arguments, secrets redacted."
    )
    state = models.CharField(max_length=16, choices=TaskRunState.choices, default=TaskRunState.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(
        default=dict, blank=True, help_text="Counters the task reported (items processed, …)."
    )
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at"]
        permissions = [("view_metrics", "Can read /metrics (Prometheus)")]
        indexes = [
            models.Index(fields=["-started_at"], name="taskrun_started_idx"),
            models.Index(fields=["state", "-started_at"], name="taskrun_state_started_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task_name} ({self.state})"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token a script uses for the API on behalf of a staff user.

    Only the SHA-256 of the token is stored; the token itself is shown once, when it is issued.
    """

    TOKEN_PREFIX = "rv_"  # noqa: S105  (a marker, not a secret)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'backup script'.")
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        help_text="Who issued it: the user themselves, or a superuser issuing for them.",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_hint = models.CharField(
        max_length=12, editable=False, help_text="First characters, to tell tokens apart."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.token_hint}…)"

    @classmethod
    def issue(cls, user, name: str, expires_at=None, issued_by=None) -> tuple[ApiToken, str]:
        plaintext = cls.TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = cls.objects.create(
            user=user,
            name=name,
            issued_by=issued_by or user,
            token_hash=hash_api_token(plaintext),
            token_hint=plaintext[:8],
            expires_at=expires_at,
        )
        return row, plaintext

    @property
    def is_usable(self) -> bool:
        if self.revoked or not self.user.is_active or not self.user.is_staff:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class StreamToken(models.Model):
    """A token a viewer's player puts in stream URLs (`?token=`) when the station requires one.

    Like API tokens, only the SHA-256 is stored and the token is shown once. A token may belong to
    a user (per-user tokens) or just have a name ("living-room TV").
    """

    TOKEN_PREFIX = "st_"  # noqa: S105  (a marker, not a secret)

    name = models.CharField(max_length=100, help_text="Who or what uses it, e.g. 'living-room TV'.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="stream_tokens",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_hint = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_hint}…)"

    @classmethod
    def issue(cls, name: str, user=None) -> tuple[StreamToken, str]:
        plaintext = cls.TOKEN_PREFIX + secrets.token_urlsafe(18)
        row = cls.objects.create(
            name=name, user=user, token_hash=hash_api_token(plaintext), token_hint=plaintext[:8]
        )
        return row, plaintext


class NoticeLevel(models.TextChoices):
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


class StaffNotice(models.Model):
    """Something staff must look at (a channel crash-looping, a source needing sign-in), raised by
    background processes that have no one to tell.

    One open row per `key`: raising it again while it is open counts and refreshes it instead of
    piling up rows or e-mails; clearing it (the condition went away) closes it. Every admin page
    shows the open ones.
    """

    key = models.CharField(max_length=200, help_text="What the notice is about, e.g. playout:channel:7.")
    level = models.CharField(max_length=10, choices=NoticeLevel.choices, default=NoticeLevel.ERROR)
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    occurrences = models.PositiveIntegerField(default=1)
    raised_at = models.DateTimeField(default=timezone.now)
    last_raised_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True, help_text="When the condition went away.")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-last_raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=models.Q(cleared_at__isnull=True), name="one_open_notice_per_key"
            )
        ]
        indexes = [models.Index(fields=["cleared_at", "acknowledged_at"], name="notice_open_idx")]

    def __str__(self) -> str:
        return self.title


class WorkerHeartbeat(models.Model):
    """A running Celery worker and the queues it consumes, as of its last beat.

    Each worker's main process writes its row every few seconds and deletes it on a clean shutdown;
    `/healthz` reads these rows, which works the same over Redis and over the embedded filesystem
    broker (which has no remote control to ping workers with).
    """

    hostname = models.CharField(max_length=200, unique=True)
    queues = models.JSONField(default=list, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return f"{self.hostname} ({', '.join(self.queues)})"


# Reading /metrics is a permission of its own (held on TaskRun, granted like any other): the
# metrics name sources and channels and count the station's activity, so a scraper's token gets
# exactly this, not the run of every staff account.
METRICS_PERMISSION = "core.view_metrics"
