"""Housekeeping tasks (thin shims over plain functions in services)."""

from celery import shared_task

from retrovue.core import services


@shared_task(name="core.purge_old_task_runs")
def purge_old_task_runs(days: int | None = None) -> dict:
    return services.purge_old_task_runs(days)
