"""Celery signal handlers that record every task execution as a TaskRun row.

They run in the worker process around each task. A database hiccup while recording must never
fail the task itself, so each handler logs and carries on.
"""

from __future__ import annotations

import logging

from celery import signals
from django.db import close_old_connections
from django.utils import timezone

from retrovue.core.redaction import redact_arguments
from retrovue.log_redaction import redact

logger = logging.getLogger(__name__)


def _counts_from(result) -> dict:
    if isinstance(result, dict):
        return {
            str(key): value for key, value in result.items() if isinstance(value, int | float | str | bool)
        }
    return {}


@signals.task_prerun.connect
def record_task_started(task_id=None, task=None, args=None, kwargs=None, **_):
    from retrovue.core.models import TaskRun, TaskRunState

    close_old_connections()
    try:
        delivery = getattr(task.request, "delivery_info", None) or {}
        TaskRun.objects.update_or_create(
            task_id=task_id,
            defaults={
                "task_name": task.name,
                "queue": delivery.get("routing_key") or "",
                "arguments": redact_arguments({"args": list(args or ()), "kwargs": dict(kwargs or {})}),
                "state": TaskRunState.RUNNING,
                "started_at": timezone.now(),
                "finished_at": None,
                "error": "",
                "worker": getattr(task.request, "hostname", "") or "",
            },
        )
    except Exception:
        logger.exception("Could not record the start of task %s", task_id)


@signals.task_postrun.connect
def record_task_finished(task_id=None, task=None, retval=None, state=None, **_):
    from retrovue.core.models import TaskRun, TaskRunState

    outcome = {
        "SUCCESS": TaskRunState.SUCCEEDED,
        "FAILURE": TaskRunState.FAILED,
        "RETRY": TaskRunState.RETRYING,
    }.get(state, TaskRunState.FAILED)
    fields = {"state": outcome, "finished_at": timezone.now()}
    if outcome == TaskRunState.SUCCEEDED:
        fields["counts"] = _counts_from(retval)
    elif retval is not None:
        fields["error"] = redact(f"{type(retval).__name__}: {retval}")[:4000]
    try:
        TaskRun.objects.filter(task_id=task_id).update(**fields)
    except Exception:
        logger.exception("Could not record the end of task %s", task_id)
    finally:
        close_old_connections()
