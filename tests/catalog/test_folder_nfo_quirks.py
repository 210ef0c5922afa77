"""What real-world .nfo files put in the catalog through a folder scan (issue 13, items 2 and 4):
sets as collections a schedule slot can draw from, tags, season.nfo, URL-only files, episode
ranges in file names, and rescans that change nothing. The .nfo files are in tests/fixtures/nfo/."""

import shutil
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from catalog.folders.scan import scan_tmm_source
from catalog.models import Collection, Episode, ExternalId, Movie, Season, Show
from scheduling.builder import build_channel
from scheduling.models import ProgramEntry
from tests.catalog.test_folder_sources import episode_nfo, put, tmm_source
from tests.catalog.test_probe import MediaSamples, make_media_samples
from tests.scheduling.station import channel_with_slot, short_form_library

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "nfo"
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> MediaSamples:
    return make_media_samples(tmp_path_factory.mktemp("nfo-quirk-media"))


def fixture(name: str) -> Path:
    return FIXTURES / name


def copy(path: Path, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(fixture(name), path)


def movies_tree(root: Path, media: MediaSamples) -> None:
    put(root / "Back to the Future (1985)" / "Back to the Future (1985).mp4", media.clip)
    put(
        root / "Back to the Future (1985)" / "Back to the Future (1985).nfo",
        "<movie><title>Back to the Future</title><premiered>1985-07-03</premiered>"
        '<uniqueid type="tmdb" default="true">105</uniqueid>'
        '<set tmdbcolid="264"><name>Back to the Future Collection</name></set></movie>',
    )
    put(root / "Back to the Future Part II (1989)" / "movie.mp4", media.clip)
    copy(root / "Back to the Future Part II (1989)" / "movie.nfo", "tmdb_movie_in_set.nfo")
    put(root / "Alien (1979)" / "Alien (1979).mp4", media.clip)
    copy(root / "Alien (1979)" / "Alien (1979).nfo", "url_only.nfo")
    put(root / "Aliens" / "Aliens.mp4", media.clip)
    copy(root / "Aliens" / "Aliens.nfo", "legacy_elements_movie.nfo")
    put(root / "Amelie" / "Amelie.mp4", media.clip)
    copy(root / "Amelie" / "Amelie.nfo", "messy_movie.nfo")


def test_movie_sets_become_collections_in_release_order_with_tags_and_ratings(tmp_path, media):
    movies_tree(tmp_path / "movies", media)
    source = tmm_source(tmp_path / "movies")

    summary = scan_tmm_source(source)

    assert summary["failed"] == 0, summary["errors"]
    collections = {c.title: c for c in Collection.objects.filter(source=source)}
    assert set(collections) == {"Back to the Future Collection", "Alien Collection"}
    future = collections["Back to the Future Collection"]
    assert future.rating_key == "set:tmdb:264"
    assert future.summary == "An American science fiction comedy film series."
    assert [member.playable.title for member in future.members.order_by("position")] == [
        "Back to the Future",
        "Back to the Future Part II",
    ]
    sequel = Movie.objects.get(source=source, title="Back to the Future Part II")
    assert sequel.tags == ["time travel", "sequel"]
    assert str(sequel.audience_rating) == "7.8"
    assert sequel.primary_guid == "tmdb://165"
    aliens = Movie.objects.get(source=source, title="Aliens")
    assert str(aliens.audience_rating) == "8.4"
    assert set(ExternalId.objects.filter(playable=aliens).values_list("provider", "value")) == {
        ("tmdb", "679"),
        ("imdb", "tt0090605"),
    }


def test_a_url_only_nfo_imports_its_movie_named_from_the_file_with_the_urls_ids(tmp_path, media):
    movies_tree(tmp_path / "movies", media)
    source = tmm_source(tmp_path / "movies")

    scan_tmm_source(source)

    alien = Movie.objects.get(source=source, rating_key="Alien (1979)/Alien (1979).mp4")
    assert (alien.title, alien.year) == ("Alien", 1979)
    assert set(ExternalId.objects.filter(playable=alien).values_list("provider", "value")) == {
        ("imdb", "tt0078748"),
        ("tmdb", "348"),
    }
    assert alien.primary_guid == "tmdb://348"


def test_messy_xml_is_imported_and_its_skipped_text_is_reported(tmp_path, media):
    movies_tree(tmp_path / "movies", media)
    source = tmm_source(tmp_path / "movies")

    summary = scan_tmm_source(source)

    amelie = Movie.objects.get(source=source, rating_key="Amelie/Amelie.mp4")
    assert (amelie.title, amelie.year, amelie.primary_guid) == ("Amélie", 2001, "imdb://tt0211915")
    assert "Amelie/Amelie.nfo: text outside the XML was skipped (saved by MediaElch)" in summary["errors"]


def test_a_set_collection_is_a_schedule_pool(tmp_path, media):
    movies_tree(tmp_path / "movies", media)
    source = tmm_source(tmp_path / "movies")
    scan_tmm_source(source)
    short_form_library()
    channel, _, slot = channel_with_slot(start=time(20), end=time(22), content="collection", order="in_order")
    slot.collection = Collection.objects.get(source=source, rating_key="set:tmdb:264")
    slot.save()

    build_channel(channel, MONDAY, MONDAY + timedelta(days=1), fine_until=MONDAY + timedelta(days=1))

    aired = ProgramEntry.objects.filter(channel=channel, slot=slot).order_by("start")
    titles = [program.playable.title for program in aired]
    assert titles and set(titles) == {"Back to the Future", "Back to the Future Part II"}


def test_a_movie_leaving_its_set_leaves_the_collection_and_an_empty_set_is_removed(tmp_path, media):
    root = tmp_path / "movies"
    movies_tree(root, media)
    source = tmm_source(root)
    scan_tmm_source(source)
    put(root / "Aliens" / "Aliens.nfo", "<movie><title>Aliens</title><tmdb>679</tmdb></movie>")

    scan_tmm_source(source)

    alien_set = Collection.objects.get(source=source, rating_key="set:alien collection")
    assert alien_set.state == "removed" and not alien_set.members.exists()


def show_tree(root: Path, media: MediaSamples) -> None:
    show = root / "ALF"
    copy(show / "tvshow.nfo", "kodi17_tvshow.nfo")
    copy(show / "Season 1" / "season.nfo", "season.nfo")
    put(show / "Season 1" / "ALF - S01E01E02.mkv", media.clip)
    copy(show / "Season 1" / "ALF - S01E01E02.nfo", "wrapped_double_episode.nfo")
    put(show / "Season 1" / "ALF 1x03-04.mkv", media.clip)
    put(
        show / "Season 1" / "ALF 1x03-04.nfo",
        "<episodedetails><title>Help Me, Rhonda</title></episodedetails>",
    )
    put(show / "Season 1" / "ALF - S01E05.mkv", media.clip)
    put(show / "Season 1" / "ALF - S01E05.nfo", "https://www.imdb.com/title/tt0642287/\n")
    moonlighting = root / "Moonlighting"
    copy(moonlighting / "tvshow.nfo", "tmdb_tvshow.nfo")
    put(moonlighting / "Moonlighting - S01E01.mkv", media.clip)
    put(moonlighting / "Moonlighting - S01E01.nfo", episode_nfo(1, 1, "Pilot"))


def test_shows_seasons_and_episode_ranges_from_real_world_nfo_files(tmp_path, media):
    show_tree(tmp_path / "tv", media)
    source = tmm_source(tmp_path / "tv")

    summary = scan_tmm_source(source)

    assert summary["failed"] == 0, summary["errors"]
    alf = Show.objects.get(source=source, title="ALF")
    assert alf.primary_guid == "tvdb://78020"
    season = Season.objects.get(show=alf, season_number=1)
    assert (season.title, season.summary) == ("The First Season", "ALF crash-lands.")
    assert list(ExternalId.objects.filter(season=season).values_list("provider", "value")) == [
        ("tvdb", "8213")
    ]
    episodes = Episode.objects.filter(show=alf).order_by("episode_number")
    assert [(episode.episode_number, episode.title) for episode in episodes] == [
        (1, "A.L.F."),
        (2, "Strangers in the Night"),
        (3, "Help Me, Rhonda"),
        (4, "Episode 4"),  # the name says 1x03-04; the .nfo described only the first
        (5, "ALF - S01E05"),  # a URL-only .nfo: named from its file, with the URL's id
    ]
    fifth = episodes.get(episode_number=5)
    assert list(ExternalId.objects.filter(playable=fifth).values_list("provider", "value")) == [
        ("imdb", "tt0642287")
    ]
    moonlighting = Show.objects.get(source=source, title="Moonlighting")
    assert moonlighting.tags == ["Detectives", "80s"]
    assert set(ExternalId.objects.filter(show=moonlighting).values_list("provider", "value")) == {
        ("tmdb", "1939"),
        ("imdb", "tt0088571"),
    }


def test_a_rescan_of_an_unchanged_tree_of_quirky_nfo_files_changes_nothing(tmp_path, media):
    movies_tree(tmp_path / "library" / "Movies", media)
    show_tree(tmp_path / "library" / "TV", media)
    source = tmm_source(tmp_path / "library")
    first = scan_tmm_source(source)
    collections = list(Collection.objects.filter(source=source).values_list("pk", "updated_at"))

    for _ in range(2):
        again = scan_tmm_source(source)
        assert (again["added"], again["updated"], again["removed"], again["failed"]) == (0, 0, 0, 0)
        assert again["errors"] == first["errors"]
    assert list(Collection.objects.filter(source=source).values_list("pk", "updated_at")) == collections


def test_tags_from_nfo_files_are_in_the_catalog_api(tmp_path, media, client, django_user_model):
    from django.contrib.auth.models import Permission

    movies_tree(tmp_path / "movies", media)
    source = tmm_source(tmp_path / "movies")
    scan_tmm_source(source)
    sequel = Movie.objects.get(source=source, title="Back to the Future Part II")
    staff = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_movie", "view_playable"]))
    client.force_login(staff)

    response = client.get(f"/api/catalog/movies/{sequel.pk}")

    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["time travel", "sequel"]


def test_an_nfo_that_numbers_its_episodes_wins_over_the_range_in_the_file_name(tmp_path, media):
    show = tmp_path / "tv" / "ALF"
    put(show / "tvshow.nfo", "<tvshow><title>ALF</title></tvshow>")
    put(show / "ALF - S01E01-E03.mkv", media.clip)  # a misnamed file: the .nfo says 5 and 6
    put(show / "ALF - S01E01-E03.nfo", episode_nfo(1, 5, "Going Out of My Mind") + episode_nfo(1, 6, "Jump"))
    source = tmm_source(tmp_path / "tv")

    scan_tmm_source(source)

    assert list(Episode.objects.filter(source=source).order_by("episode_number").values_list("episode_number", flat=True)) == [5, 6]  # fmt: skip
