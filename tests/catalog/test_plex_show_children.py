"""A show's `/children` as Plex serves it, with the "All episodes" shortcut; items an item sync can't place."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest

from catalog.models import Episode, Library, Season
from catalog.sync.items import sync_plex_items
from catalog.sync.progress import Progress
from catalog.sync.show_sync import ShowSync, sync_plex_show
from plex_emulator import PlexEmulator
from tests.catalog.plex_helpers import SMALL_LIBRARY, fast_client, source_for, sync
from tests.factories import LibraryFactory

CAPTURE = (
    Path(__file__).resolve().parents[1]
    / "fixtures/plex_captures/xml/library_metadata_22_children__seasons_all_episodes__plexapirs_as_xml.xml"
)


class CaptureClient:
    """Answers a show's `/children` with the captured body, whatever the query asked for."""

    api_calls = 0

    def get(self, path, params=None, headers=None):
        assert path == "/library/metadata/22/children", path
        return ElementTree.parse(CAPTURE).getroot()


@pytest.mark.django_db
def test_the_captured_all_episodes_entry_is_not_read_as_a_season():
    library = LibraryFactory(section_key="2")
    progress = Progress(library.source.sync_runs.create(kind="full"))
    job = ShowSync(library, "full", CaptureClient(), None, progress, "22")
    seasons = job.fetch_changed("season")
    assert [(season.rating_key, season.title) for season in seasons] == [
        ("89", "Season 1"),
        ("33", "Season 2"),
    ]
    assert job.problems == [] and job.item_failures == [] and progress.stats.failed == 0


@pytest.fixture
def plex_ignoring_exclude_all_leaves(monkeypatch):
    """Ask for a show's seasons the way plain clients do, so the emulator (like Plex) lists "All episodes"."""
    monkeypatch.setitem(ShowSync.LISTINGS, "season", ("/children", {}))


@pytest.mark.django_db(transaction=True)
def test_show_children_with_all_episodes_sync_as_complete(plex_ignoring_exclude_all_leaves):
    with PlexEmulator(SMALL_LIBRARY) as emulator:
        source = source_for(emulator)
        assert sync(source, "full").status == "succeeded"
        library = Library.objects.get(source=source, kind="show")
        show = emulator.library.shows()[3]
        kept, dropped = show.seasons[0], show.seasons[-1]
        emulator.library.delete(dropped.rating_key)

        run = sync_plex_show(source, library, show.rating_key, mode="full", client_factory=fast_client)

    assert run.status == "succeeded", run.error
    assert run.failed == 0
    # The listing was complete, so the season Plex no longer has is marked removed, and only it.
    states = dict(Season.objects.filter(show__rating_key=show.rating_key).values_list("rating_key", "state"))
    assert states[kept.rating_key] == "active"
    assert states[dropped.rating_key] == "removed"
    assert len(states) == len(show.seasons) + 1
    assert not Season.objects.filter(show__rating_key=show.rating_key, title="All episodes").exists()
    assert Episode.objects.filter(show__rating_key=show.rating_key, state="active").count() == sum(
        len(season.episodes) for season in show.seasons
    )


def _without_section(client, rating_key: str):
    """The client, with `librarySectionID` taken off one item (and its container) in every answer."""
    get = client.get

    def get_without_section(path, params=None, headers=None):
        root = get(path, params, headers)
        for element in root:
            if element.get("ratingKey") == rating_key:
                element.attrib.pop("librarySectionID", None)
                root.attrib.pop("librarySectionID", None)
        return root

    client.get = get_without_section
    return client


@pytest.mark.django_db(transaction=True)
def test_an_item_sync_records_a_problem_for_an_item_it_cannot_place_in_a_library():
    with PlexEmulator(SMALL_LIBRARY) as emulator:
        source = source_for(emulator)
        assert sync(source, "full").status == "succeeded"
        movie = emulator.library.add_movie("Homeless Film", 1988)
        placed = emulator.library.add_movie("Placed Film", 1989)
        run = sync_plex_items(
            source,
            [movie.rating_key, placed.rating_key],
            trigger="test",
            client_factory=lambda src: _without_section(fast_client(src), movie.rating_key),
        )

    assert run.status == "partial"
    assert run.failed == 1
    assert "Homeless Film" in run.error and movie.rating_key in run.error
    assert "library section" in run.error
    assert not source.playables.filter(rating_key=movie.rating_key).exists()
    assert source.playables.filter(rating_key=placed.rating_key, title="Placed Film").exists()
