import pytest

from retrovue.celery import app


@pytest.mark.parametrize(
    ("task_name", "queue"),
    [
        ("sync.library", "sync"),
        ("pregen.piece", "pregen"),
        ("playout.supervise", "playout"),
        ("core.purge_old_task_runs", "default"),
    ],
)
def test_task_name_prefix_picks_the_queue(task_name, queue):
    route = app.amqp.router.route({}, task_name)
    assert route["queue"].name == queue


def test_the_four_queues_exist():
    assert {queue.name for queue in app.conf.task_queues} == {"sync", "pregen", "playout", "default"}


def test_every_task_ends_before_the_broker_would_hand_it_to_another_worker(settings):
    """Late acks: a task still running after Redis's visibility timeout is delivered again, so two
    machines would run it at once. Every task's time limit must fall short of that timeout."""
    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert len(ours) > 5
    too_long = {
        name: limit
        for name, task in ours.items()
        if (limit := task.time_limit or app.conf.task_time_limit) is None
        or limit >= settings.BROKER_VISIBILITY_SECONDS
    }
    assert too_long == {}


def test_the_redis_broker_waits_longer_than_the_task_time_limit(tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {key: value for key, value in os.environ.items() if not key.startswith(("RETROVUE_", "CELERY_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "retrovue.settings", "RETROVUE_DATA_DIR": str(tmp_path),
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0", "RETROVUE_TASK_TIME_LIMIT_SECONDS": "7200",
    })  # fmt: skip
    shown = subprocess.run(
        [sys.executable, "-c", "import django, json; django.setup(); from retrovue.celery import app; "
         "print(json.dumps([app.conf.task_time_limit, app.conf.broker_transport_options]))"],
        cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    limit, options = json.loads(shown.stdout.strip().splitlines()[-1])
    assert limit == 7200
    assert options["visibility_timeout"] == 7200 + 3600
