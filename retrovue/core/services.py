from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from retrovue.core.models import TaskRun, TaskRunState


def purge_old_task_runs(days: int | None = None) -> dict:
    """Delete finished task records and webhook audit rows older than the retention period."""
    keep_days = days if days is not None else settings.RETROVUE_TASK_RUN_RETENTION_DAYS
    cutoff = timezone.now() - timedelta(days=keep_days)
    deleted, _ = TaskRun.objects.filter(started_at__lt=cutoff).exclude(state=TaskRunState.RUNNING).delete()
    from catalog.models import WebhookEvent  # the webhook audit log ages out on the same schedule

    webhook_events, _ = WebhookEvent.objects.filter(received_at__lt=cutoff).delete()
    return {"deleted": deleted, "webhook_events_deleted": webhook_events, "retention_days": keep_days}
