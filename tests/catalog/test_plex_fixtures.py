"""The sync reads every real Plex capture (tests/fixtures/plex_captures/xml) without error."""

from xml.etree import ElementTree

import pytest

from catalog.models import Episode, MediaFile, MediaSource, Movie, Show
from catalog.plex.parse import parse_item
from tests.catalog.fixture_server import FIXTURES, TOKEN, FixtureServer
from tests.catalog.plex_helpers import sync

ITEM_TYPES = {"movie", "show", "season", "episode"}


@pytest.mark.parametrize("fixture", sorted(path.name for path in FIXTURES.glob("*.xml")))
def test_every_item_in_every_capture_parses(fixture):
    root = ElementTree.parse(FIXTURES / fixture).getroot()
    items = [element for element in root if element.get("type") in ITEM_TYPES and element.get("ratingKey")]
    for element in items:
        item = parse_item(element)
        assert item.rating_key and item.title


@pytest.mark.django_db
def test_full_sync_of_the_replayed_captures_succeeds():
    with FixtureServer() as server:
        source = MediaSource.objects.create(name="captures", kind="plex", base_url=server.url, token=TOKEN)
        run = sync(source, "full")
    assert run.status == "succeeded", run.error
    assert Movie.objects.filter(source=source).count() == 5
    assert Show.objects.get(source=source).rating_key == "30"
    assert Episode.objects.filter(source=source, show__rating_key="30").count() == 10
    # The legacy guids carry the ids (show tvdb, movie imdb); all five movies share one imdb id.
    assert Show.objects.get(source=source).primary_guid == "tvdb://12345"
    assert set(Movie.objects.filter(source=source).values_list("primary_guid", flat=True)) == {
        "imdb://tt0123456"
    }
    # Parts written beside Media (not inside it) in this capture still become media files.
    episode_file = MediaFile.objects.filter(playable__source=source, playable__kind="episode").first()
    assert episode_file.plex_path and episode_file.video_codec == "h264"
    source.refresh_from_db()
    assert source.machine_identifier == "unique_id_123"


@pytest.mark.django_db
def test_replayed_captures_sync_again_without_changes():
    with FixtureServer() as server:
        source = MediaSource.objects.create(name="captures", kind="plex", base_url=server.url, token=TOKEN)
        sync(source, "full")
        again = sync(source, "full")
    assert again.status == "succeeded"
    assert (again.added, again.updated, again.removed) == (0, 0, 0)
