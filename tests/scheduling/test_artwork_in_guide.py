"""Acceptance: a poster appears in the XMLTV (<icon>), the guide and the admin.

End to end: the emulator serves images over HTTP, the sync and the artwork task cache them, the
program log points at the synced items, and every viewer-facing output shows their posters.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from catalog.artwork.fetch import refresh_artwork
from catalog.models import Episode, Movie, Show
from plex_emulator import EmulatorConfig, PlexEmulator
from scheduling.xmltv import render_xmltv
from tests.catalog.plex_helpers import source_for, sync
from tests.factories import EpisodeFactory, MovieFactory, ShowFactory
from tests.scheduling.listings import make_channel, program
from tests.scheduling.test_xmltv import validate_with_xmltv_tools

pytestmark = pytest.mark.django_db

LIBRARY = EmulatorConfig(
    shows=2, seasons_per_show=1, episodes_per_season=2, specials_per_show=0, movies=2, seed=11
)
BASE = "http://tv.example.com"


@pytest.fixture
def artwork_root(settings, tmp_path):
    settings.ARTWORK_ROOT = tmp_path / "artwork"
    return settings.ARTWORK_ROOT


@pytest.fixture
def station(artwork_root):
    """Channel 7 airing a synced episode now, then a synced movie; posters fetched from the emulator."""
    with PlexEmulator(LIBRARY) as emulator:
        source = source_for(emulator)
        assert sync(source, "full").status == "succeeded"
        assert refresh_artwork(source.pk)["failed"] == 0
    episode = Episode.objects.filter(source=source).select_related("show").order_by("pk").first()
    movie = Movie.objects.filter(source=source).order_by("pk").first()
    channel = make_channel("7", "Classic TV")
    # On the air now, whatever the clock says: the guide's window starts at the current half hour.
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=5)
    program(channel, start, 30, title=episode.show.title, playable=episode, season_number=1, episode_number=1)
    program(channel, start + timedelta(minutes=30), 120, title=movie.title, playable=movie, category="Movie")
    return channel, episode, movie


def _programmes(document: bytes) -> dict[str, ET.Element]:
    return {element.findtext("title"): element for element in ET.fromstring(document).iter("programme")}


def test_xmltv_programmes_carry_the_poster_as_an_absolute_icon_that_serves_a_jpeg(client, station, settings):
    settings.ALLOWED_HOSTS = ["tv.example.com", "testserver"]  # the hosts the XMLTV's URLs are written with
    _, episode, movie = station
    response = client.get("/iptv/xmltv.xml", HTTP_HOST="tv.example.com")
    listed = _programmes(response.content)

    episode_icon = listed[episode.show.title].find("icon").get("src")
    movie_icon = listed[movie.title].find("icon").get("src")
    # An episode's icon is its show's poster; a movie's its own.
    assert episode_icon == f"http://tv.example.com{episode.show.artwork_url()}"
    assert movie_icon == f"http://tv.example.com{movie.artwork_url()}"
    for url in (episode_icon, movie_icon):
        image = client.get(urlparse(url).path)
        assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
        assert Image.open(io.BytesIO(b"".join(image.streaming_content))).format == "JPEG"


def test_xmltv_with_icons_still_validates_against_the_dtd(station, tmp_path):
    channel, _, _ = station
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    document = render_xmltv([channel], start, start + timedelta(hours=6), BASE)
    assert b"<icon src=" in document
    assert validate_with_xmltv_tools(document, tmp_path) == "Validated ok."


def test_programmes_without_artwork_and_placeholders_have_no_icon():
    channel = make_channel("5")
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    program(channel, start, 30, title="No Poster", playable=MovieFactory())
    program(channel, start + timedelta(minutes=60), 30, title="No Item")
    listed = _programmes(render_xmltv([channel], start, start + timedelta(hours=2), BASE))
    assert all(element.find("icon") is None for element in listed.values())


def test_episode_icon_falls_back_to_its_own_still_when_the_show_has_no_poster():
    show = ShowFactory(artwork_hash="")
    episode = EpisodeFactory(show=show, artwork_hash="e" * 64)
    channel = make_channel("5")
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    program(channel, start, 30, title="Still Only", playable=episode)
    listed = _programmes(render_xmltv([channel], start, start + timedelta(hours=1), BASE, fill_gaps=False))
    assert listed["Still Only"].find("icon").get("src") == f"{BASE}/artwork/ee/{'e' * 64}-w300.jpg"


def test_the_guide_shows_each_programmes_poster_lazily(client, station):
    _, episode, movie = station
    response = client.get("/guide?tz=UTC")
    page = response.content.decode()
    small = episode.show.artwork_url(160)
    assert f'<img class="poster" src="{small}" alt="" loading="lazy"' in page
    assert f'data-poster="{movie.artwork_url(300)}"' in page


def test_the_guide_needs_no_extra_queries_for_posters(client, station):
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/guide?tz=UTC").status_code == 200
    assert len(queries) <= 2


@pytest.mark.parametrize("model", ["show", "episode", "movie", "season"])
def test_admin_lists_show_poster_thumbnails_without_a_query_per_row(staff_client, station, model):
    url = f"/admin/catalog/{model}/"
    staff_client.get(url)
    with CaptureQueriesContext(connection) as few:
        response = staff_client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('class="rv-artwork"') >= 2
    assert 'loading="lazy"' in page
    # Twenty more rows, each with a poster: the page costs the same number of queries.
    show = Show.objects.first()
    for index in range(20):
        EpisodeFactory(show=show, source=show.source, artwork_hash=f"{index:064x}")
        MovieFactory(artwork_hash=f"{index:064x}")
        ShowFactory(artwork_hash=f"{index:064x}")
    with CaptureQueriesContext(connection) as many:
        staff_client.get(url)
    assert len(many) == len(few)


def test_admin_change_page_previews_the_poster(staff_client, station):
    _, _, movie = station
    page = staff_client.get(f"/admin/catalog/movie/{movie.pk}/change/").content.decode()
    assert movie.artwork_url(300) in page
