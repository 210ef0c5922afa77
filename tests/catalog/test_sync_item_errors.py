"""Items a sync can't take in are recorded with their attempts and cleared once they sync fine."""

import re

import pytest

from catalog.models import Episode, Show, SyncItemError
from plex_emulator import PlexEmulator
from tests.catalog.plex_helpers import SMALL_LIBRARY, source_for, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def emulator():
    with PlexEmulator(SMALL_LIBRARY) as running:
        yield running


def list_without_rating_key(library, item) -> None:
    """Make the emulator list `item` as a broken server would: no ratingKey attribute."""
    for include_guids in (True, False):
        fragment = library.listing_fragment(item, include_guids)
        library._fragments[(item.rating_key, include_guids)] = re.sub(
            r' ratingKey="[^"]*"', "", fragment, count=1
        )


def repair(library, item) -> None:
    library.touch(item.rating_key)  # forgets the cached XML and bumps updatedAt


def test_a_malformed_movie_is_recorded_counted_per_run_and_resolved_when_it_syncs(emulator):
    source = source_for(emulator)
    movie = emulator.library.movies()[3]
    list_without_rating_key(emulator.library, movie)

    first = sync(source, "full")
    assert first.status == "partial"
    error = SyncItemError.objects.get(source=source)
    assert (error.item_kind, error.item_key, error.title) == ("movie", f"title:{movie.title}", movie.title)
    assert (error.error_kind, error.attempts, error.resolved_at) == ("malformed", 1, None)
    assert "has no ratingKey" in error.message
    assert error.library.kind == "movie" and error.last_run == first

    second = sync(source, "full")
    error.refresh_from_db()
    assert error.attempts == 2
    assert error.last_seen_at > error.first_seen_at
    assert error.last_run == second
    assert error.resolved_at is None

    repair(emulator.library, movie)
    third = sync(source)  # incremental: the repaired movie comes back under its ratingKey
    assert third.status == "succeeded", third.error
    error.refresh_from_db()
    assert error.resolved_at is not None
    assert error.attempts == 2


def test_a_show_that_fails_leaves_its_episodes_as_orphans_until_it_syncs(emulator):
    source = source_for(emulator)
    show = emulator.library.shows()[0]
    list_without_rating_key(emulator.library, show)

    sync(source, "full")
    open_errors = SyncItemError.objects.filter(source=source, resolved_at__isnull=True)
    kinds = {
        kind: count
        for kind in ("show", "season", "episode")
        if (count := open_errors.filter(item_kind=kind).count())
    }
    episodes = [episode for season in show.seasons for episode in season.episodes]
    assert kinds == {"show": 1, "season": len(show.seasons), "episode": len(episodes)}
    orphan = open_errors.get(item_kind="episode", item_key=episodes[0].rating_key)
    assert (orphan.error_kind, orphan.title) == ("orphan", episodes[0].title)
    assert not Episode.objects.filter(source=source, rating_key=episodes[0].rating_key).exists()

    repair(emulator.library, show)
    run = sync(source, "full")
    assert run.status == "succeeded", run.error
    assert Show.objects.filter(source=source, rating_key=show.rating_key).exists()
    assert not SyncItemError.objects.filter(source=source, resolved_at__isnull=True).exists()
    assert SyncItemError.objects.filter(source=source).count() == 1 + len(show.seasons) + len(episodes)


def test_a_one_show_sync_records_and_resolves_its_own_items_only(emulator):
    from catalog.models import Library
    from catalog.sync.show_sync import sync_plex_show
    from tests.catalog.plex_helpers import fast_client

    source = source_for(emulator)
    sync(source, "full")
    show = emulator.library.shows()[0]
    episode = show.seasons[0].episodes[0]
    library = Library.objects.get(source=source, kind="show")
    elsewhere = SyncItemError.objects.create(
        source=source,
        library=library,
        item_kind="episode",
        item_key="title:Elsewhere",
        error_kind="malformed",
    )
    list_without_rating_key(emulator.library, episode)

    run = sync_plex_show(source, library, show.rating_key, mode="full", client_factory=fast_client)
    assert run.status == "partial"
    error = SyncItemError.objects.get(source=source, item_key=f"title:{episode.title}")
    assert (error.item_kind, error.error_kind, error.resolved_at) == ("episode", "malformed", None)

    repair(emulator.library, episode)
    run = sync_plex_show(source, library, show.rating_key, mode="full", client_factory=fast_client)
    assert run.status == "succeeded", run.error
    error.refresh_from_db()
    elsewhere.refresh_from_db()
    assert error.resolved_at is not None
    assert elsewhere.resolved_at is None, "a one-show listing says nothing about the rest of the library"
