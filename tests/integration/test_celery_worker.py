"""A task published to a real Redis broker runs in a real worker process and is recorded."""

from datetime import timedelta

import pytest
from django.utils import timezone

from retrovue.core.models import TaskRun, TaskRunState
from retrovue.core.tasks import purge_old_task_runs
from tests.integration.celery_worker import redis_is_up, running_worker, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not redis_is_up(), reason="Redis is not running on 127.0.0.1:6379 (bin/test starts it)"
    ),
]


def _old_run(task_id, days_ago, state=TaskRunState.SUCCEEDED):
    return TaskRun.objects.create(
        task_id=task_id,
        task_name="example",
        state=state,
        started_at=timezone.now() - timedelta(days=days_ago),
    )


def _finished(task_id):
    run = TaskRun.objects.filter(task_id=task_id).first()
    return run if run and run.state != TaskRunState.RUNNING else None


def test_task_runs_in_a_worker_through_redis_and_is_recorded(tmp_path):
    _old_run("old-1", 90)
    _old_run("old-2", 45)
    _old_run("still-running", 90, state=TaskRunState.RUNNING)
    _old_run("recent", 2)
    with running_worker("default", tmp_path / "worker.log") as broker:
        result = purge_old_task_runs.apply_async(kwargs={"days": 30}, connection=broker)
        run = wait_for(lambda: _finished(result.id), timeout=60, describe="the worker to run the task")
    assert run.state == TaskRunState.SUCCEEDED, (tmp_path / "worker.log").read_text()[-3000:]
    assert run.task_name == "core.purge_old_task_runs"
    assert run.queue == "default"
    assert run.arguments == {"args": [], "kwargs": {"days": 30}}
    assert run.counts == {"deleted": 2, "webhook_events_deleted": 0, "retention_days": 30}
    assert run.finished_at >= run.started_at
    assert set(TaskRun.objects.values_list("task_id", flat=True)) == {"still-running", "recent", result.id}


def test_failing_task_is_recorded_with_its_error(tmp_path):
    with running_worker("default", tmp_path / "worker.log") as broker:
        result = purge_old_task_runs.apply_async(kwargs={"days": "not-a-number"}, connection=broker)
        run = wait_for(lambda: _finished(result.id), timeout=60, describe="the worker to run the task")
    assert run.state == TaskRunState.FAILED
    assert "TypeError" in run.error
