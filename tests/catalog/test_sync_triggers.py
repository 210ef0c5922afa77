"""Triggers: one queued sync at a time per scope, stale runs closed, a run carried out exactly once."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from catalog.models import Library, SyncRun
from catalog.sync import triggers
from plex_emulator import PlexEmulator
from tests.catalog.plex_helpers import SMALL_LIBRARY, source_for
from tests.factories import PlexSourceFactory


@pytest.fixture
def queued_tasks(monkeypatch):
    sent = []
    monkeypatch.setattr("catalog.tasks.run_sync.delay", lambda run_id: sent.append(run_id))
    return sent


@pytest.mark.django_db(transaction=True)
def test_request_queues_one_run_and_enqueues_it_after_commit(queued_tasks):
    source = PlexSourceFactory()
    run, queued = triggers.request_sync(source, trigger="button")
    assert queued
    assert (run.status, run.trigger, run.kind) == ("queued", "button", "incremental")
    assert queued_tasks == [run.pk]


@pytest.mark.django_db(transaction=True)
def test_repeated_requests_join_the_active_run(queued_tasks):
    source = PlexSourceFactory()
    first, _ = triggers.request_sync(source)
    results = [triggers.request_sync(source, trigger="webhook") for _ in range(50)]
    assert {run.pk for run, _ in results} == {first.pk}
    assert not any(queued for _, queued in results)
    assert queued_tasks == [first.pk]


@pytest.mark.django_db(transaction=True)
def test_a_library_request_joins_a_whole_source_run_but_not_the_reverse(queued_tasks):
    source = PlexSourceFactory()
    tv = Library.objects.create(source=source, section_key="2", title="TV", kind="show")
    movies = Library.objects.create(source=source, section_key="1", title="Movies", kind="movie")
    tv_run, _ = triggers.request_sync(source, library=tv)
    assert triggers.request_sync(source, library=tv)[0] == tv_run
    movies_run, queued = triggers.request_sync(source, library=movies)
    assert queued and movies_run != tv_run
    whole, queued = triggers.request_sync(source)
    assert queued
    SyncRun.objects.filter(pk__in=[tv_run.pk, movies_run.pk]).update(status="succeeded")
    assert triggers.request_sync(source, library=tv)[0] == whole


@pytest.mark.django_db(transaction=True)
def test_a_dead_run_does_not_block_new_ones(queued_tasks):
    source = PlexSourceFactory()
    dead = SyncRun.objects.create(
        source=source, status="running", started_at=timezone.now() - timedelta(hours=1),
        heartbeat_at=timezone.now() - timedelta(minutes=30),
    )  # fmt: skip
    run, queued = triggers.request_sync(source)
    assert queued and run != dead
    dead.refresh_from_db()
    assert dead.status == "failed"
    assert "Interrupted" in dead.error


@pytest.mark.django_db(transaction=True)
def test_queued_run_is_carried_out_once_even_if_delivered_twice(queued_tasks):
    with PlexEmulator(SMALL_LIBRARY) as emulator:
        source = source_for(emulator)
        run, _ = triggers.request_sync(source, "full", trigger="button")
        first = triggers.run_queued_sync(run.pk)
        second = triggers.run_queued_sync(run.pk)
    assert first["status"] == "succeeded" and first["added"] > 0
    assert second == {"skipped": 1}


@pytest.mark.django_db
def test_each_source_gets_a_beat_entry_that_follows_its_interval():
    source = PlexSourceFactory(sync_interval_minutes=45)
    entry = PeriodicTask.objects.get(name=f"Sync source #{source.pk}")
    assert (entry.task, entry.interval.every, entry.interval.period, entry.enabled) == (
        "sync.scheduled",
        45,
        "minutes",
        True,
    )
    source.sync_interval_minutes = 15
    source.enabled = False
    source.save()
    entry.refresh_from_db()
    assert (entry.interval.every, entry.enabled) == (15, False)
    source.delete()
    assert not PeriodicTask.objects.filter(name=f"Sync source #{source.pk}").exists()


@pytest.mark.django_db(transaction=True)
def test_scheduled_task_requests_an_incremental_sync(queued_tasks):
    from catalog.tasks import scheduled_sync

    source = PlexSourceFactory()
    result = scheduled_sync(source.pk)
    run = SyncRun.objects.get(pk=result["sync_run"])
    assert (run.trigger, run.kind, run.status) == ("schedule", "incremental", "queued")


@pytest.mark.django_db(transaction=True)
def test_a_library_request_does_not_join_a_one_show_sync(queued_tasks):
    source = PlexSourceFactory()
    tv = Library.objects.create(source=source, section_key="2", title="TV", kind="show")
    show_run = SyncRun.objects.create(source=source, library=tv, status="running", trigger="cli show 123")
    run, queued = triggers.request_sync(source, library=tv, trigger="webhook")
    assert queued and run != show_run
