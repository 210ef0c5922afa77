"""Item-scoped syncs: the named items (and their parents) only, removals confirmed by Plex."""

from __future__ import annotations

import pytest

from catalog.models import Episode, Library, Movie, Season, Show, SyncRun
from catalog.sync import triggers
from catalog.sync.items import sync_plex_items
from plex_emulator import PlexEmulator
from tests.catalog.plex_helpers import SMALL_LIBRARY, fast_client, snapshot, source_for, sync
from tests.factories import PlexSourceFactory


@pytest.fixture
def queued_tasks(monkeypatch):
    sent = []
    monkeypatch.setattr("catalog.tasks.run_sync.delay", lambda run_id: sent.append(run_id))
    return sent


@pytest.fixture
def synced():
    with PlexEmulator(SMALL_LIBRARY) as emulator:
        source = source_for(emulator)
        assert sync(source, "full").status == "succeeded"
        yield emulator, source


def item_sync(source, keys):
    return sync_plex_items(source, keys, trigger="test", client_factory=fast_client)


@pytest.mark.django_db(transaction=True)
def test_item_sync_adds_a_new_movie_and_a_new_show_with_its_seasons(synced):
    emulator, source = synced
    movie = emulator.library.add_movie("Brand New Film", 1987)
    show = emulator.library.add_show("Brand New Show", 1990, seasons=1, episodes_per_season=2)
    episode = show.seasons[0].episodes[1]
    run = item_sync(source, [movie.rating_key, episode.rating_key])
    assert run.status == "succeeded", run.error
    assert Movie.objects.get(source=source, rating_key=movie.rating_key).title == "Brand New Film"
    stored = Episode.objects.get(source=source, rating_key=episode.rating_key)
    assert stored.show.rating_key == show.rating_key
    assert stored.season.rating_key == show.seasons[0].rating_key
    # Only what was named: the show's other episode waits for its own event (or a library sync).
    assert not Episode.objects.filter(rating_key=show.seasons[0].episodes[0].rating_key).exists()
    assert (run.added, run.removed) == (4, 0)  # movie, show, season, episode


@pytest.mark.django_db(transaction=True)
def test_item_sync_skips_unchanged_items_and_updates_changed_ones(synced):
    emulator, source = synced
    episode = emulator.library.episodes()[3]
    untouched = emulator.library.movies()[0]
    emulator.library.touch(episode.rating_key, title="A New Title")
    run = item_sync(source, [episode.rating_key, untouched.rating_key])
    assert Episode.objects.get(rating_key=episode.rating_key).title == "A New Title"
    assert run.updated == 1
    assert run.skipped >= 3  # the movie, and the episode's season and show


@pytest.mark.django_db(transaction=True)
def test_a_deleted_show_is_removed_with_its_seasons_and_episodes_once_plex_confirms(synced):
    emulator, source = synced
    show = emulator.library.shows()[0]
    episode_keys = [episode.rating_key for season in show.seasons for episode in season.episodes]
    emulator.library.delete(show.rating_key)
    run = item_sync(source, [show.rating_key])
    assert Show.objects.get(rating_key=show.rating_key).state == "removed"
    assert set(Season.objects.filter(show__rating_key=show.rating_key).values_list("state", flat=True)) == {
        "removed"
    }
    assert set(Episode.objects.filter(rating_key__in=episode_keys).values_list("state", flat=True)) == {
        "removed"
    }
    assert run.removed == 1 + len(show.seasons) + len(episode_keys)


@pytest.mark.django_db(transaction=True)
def test_an_item_plex_still_has_is_not_removed_whatever_the_event_said(synced):
    emulator, source = synced
    movie = emulator.library.movies()[2]
    run = item_sync(source, [movie.rating_key])
    assert Movie.objects.get(rating_key=movie.rating_key).state == "active"
    assert run.removed == 0


@pytest.mark.django_db(transaction=True)
def test_a_rekeyed_movie_keeps_its_row(synced):
    emulator, source = synced
    movie = emulator.library.movies()[1]
    old_key = movie.rating_key
    row = Movie.objects.get(rating_key=old_key)
    new_key = emulator.library.rekey(old_key)[old_key]
    item_sync(source, [old_key, new_key])
    row.refresh_from_db()
    assert (row.rating_key, row.state) == (new_key, "active")


@pytest.mark.django_db(transaction=True)
def test_item_syncs_converge_on_what_a_full_sync_sees(synced):
    emulator, source = synced
    library = emulator.library
    keys = [library.add_movie("Converge", 2001).rating_key]
    keys += library.delete(library.movies()[4].rating_key)
    keys.append(library.touch(library.episodes()[7].rating_key, title="Converged").rating_key)
    keys += [
        episode.rating_key
        for season in library.add_show("Whole Show", 1999).seasons
        for episode in season.episodes
    ]
    item_sync(source, keys)
    after_items = snapshot(source)
    check = sync(source, "full")
    assert (check.added, check.updated, check.removed) == (0, 0, 0)
    assert snapshot(source) == after_items


@pytest.mark.django_db(transaction=True)
def test_item_requests_merge_into_the_queued_item_run(queued_tasks):
    source = PlexSourceFactory()
    first, queued = triggers.request_sync(source, trigger="websocket", item_keys=["5", "3"])
    assert queued and first.item_keys == ["3", "5"]
    again, queued = triggers.request_sync(source, trigger="websocket", item_keys=["7", "3"])
    assert (again.pk, queued) == (first.pk, False)
    first.refresh_from_db()
    assert first.item_keys == ["3", "5", "7"]
    assert queued_tasks == [first.pk]


@pytest.mark.django_db(transaction=True)
def test_item_requests_never_join_a_running_run_nor_does_a_library_request_join_an_item_run(queued_tasks):
    source = PlexSourceFactory()
    running, _ = triggers.request_sync(source, trigger="websocket", item_keys=["1"])
    SyncRun.objects.filter(pk=running.pk).update(status="running")
    waiting, queued = triggers.request_sync(source, trigger="websocket", item_keys=["2"])
    assert queued and waiting.pk != running.pk and waiting.item_keys == ["2"]
    whole, queued = triggers.request_sync(source, trigger="button")
    assert queued and whole.pk not in (running.pk, waiting.pk) and whole.item_keys == []
    # A queued whole-source sync sees every item, so later item requests ride along with it...
    SyncRun.objects.filter(pk=waiting.pk).update(status="succeeded")
    assert triggers.request_sync(source, trigger="websocket", item_keys=["9"]) == (whole, False)


@pytest.mark.django_db(transaction=True)
def test_a_queued_item_run_is_carried_out_by_the_worker_function(queued_tasks):
    with PlexEmulator(SMALL_LIBRARY) as emulator:
        source = source_for(emulator)
        sync(source, "full")
        movie = emulator.library.add_movie("Queued Film", 1970)
        run, _ = triggers.request_sync(source, trigger="websocket", item_keys=[movie.rating_key])
        result = triggers.run_queued_sync(run.pk)
    assert result["status"] == "succeeded" and result["added"] == 1
    assert Movie.objects.filter(source=source, rating_key=movie.rating_key).exists()


@pytest.mark.django_db(transaction=True)
def test_item_requests_of_one_library_join_a_queued_sync_of_that_library(queued_tasks):
    source = PlexSourceFactory()
    tv = Library.objects.create(source=source, section_key="2", title="TV", kind="show")
    movies = Library.objects.create(source=source, section_key="1", title="Movies", kind="movie")
    webhook_run, _ = triggers.request_sync(source, library=tv, trigger="webhook")
    assert triggers.request_sync(source, trigger="websocket", item_keys=["4"], library=tv) == (
        webhook_run,
        False,
    )
    movie_items, queued = triggers.request_sync(source, trigger="websocket", item_keys=["8"], library=movies)
    assert queued and movie_items.item_keys == ["8"]


@pytest.mark.django_db(transaction=True)
def test_item_requests_do_not_wait_for_a_held_back_follow_up(queued_tasks, monkeypatch):
    monkeypatch.setattr(
        "catalog.tasks.run_sync.apply_async", lambda args, countdown: queued_tasks.append(args[0])
    )
    source = PlexSourceFactory()
    tv = Library.objects.create(source=source, section_key="2", title="TV", kind="show")
    follow_up, _ = triggers.request_sync(source, library=tv, trigger="webhook", countdown=25)
    assert follow_up.start_after is not None
    items, queued = triggers.request_sync(source, trigger="websocket", item_keys=["4"], library=tv)
    assert queued and items.pk != follow_up.pk
