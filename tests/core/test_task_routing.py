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
