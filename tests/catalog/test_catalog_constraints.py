"""Identity rules of the catalog, enforced by the database (these run on PostgreSQL)."""

import pytest
from django.db import IntegrityError, transaction

from catalog.choices import SourceKind
from catalog.models import ExternalId, MediaSource, PlexMarker, Show, primary_external_id
from tests.factories import (
    ChapterMarkFactory,
    EpisodeFactory,
    ExternalIdFactory,
    MovieFactory,
    PlexSourceFactory,
    ShowFactory,
)

pytestmark = pytest.mark.django_db


def test_same_title_different_years_are_two_shows():
    source = PlexSourceFactory()
    classic = ShowFactory(source=source, rating_key="101", title="Battlestar Galactica", year=1978)
    reimagined = ShowFactory(source=source, rating_key="202", title="Battlestar Galactica", year=2003)
    assert Show.objects.filter(title="Battlestar Galactica").count() == 2
    assert Show.objects.get(title="Battlestar Galactica", year=1978) == classic
    assert Show.objects.get(title="Battlestar Galactica", year=2003) == reimagined
    assert {str(classic), str(reimagined)} == {"Battlestar Galactica (1978)", "Battlestar Galactica (2003)"}


def test_episodes_of_same_titled_shows_stay_with_their_show():
    source = PlexSourceFactory()
    classic = ShowFactory(source=source, title="Battlestar Galactica", year=1978)
    reimagined = ShowFactory(source=source, title="Battlestar Galactica", year=2003)
    EpisodeFactory(show=classic, title="Saga of a Star World")
    EpisodeFactory(show=reimagined, title="33")
    assert list(classic.episodes.values_list("title", flat=True)) == ["Saga of a Star World"]
    assert list(reimagined.episodes.values_list("title", flat=True)) == ["33"]


def test_rating_key_is_unique_within_a_source_only():
    first, second = PlexSourceFactory(), PlexSourceFactory()
    ShowFactory(source=first, rating_key="42")
    ShowFactory(source=second, rating_key="42")
    with pytest.raises(IntegrityError), transaction.atomic():
        ShowFactory(source=first, rating_key="42")


def test_playable_rating_key_unique_across_episodes_and_movies_of_one_server():
    source = PlexSourceFactory()
    EpisodeFactory(show=ShowFactory(source=source), source=source, rating_key="777")
    with pytest.raises(IntegrityError), transaction.atomic():
        MovieFactory(source=source, rating_key="777")


def test_items_without_rating_key_do_not_collide():
    source = PlexSourceFactory()
    MovieFactory(source=source, rating_key="")
    MovieFactory(source=source, rating_key="")


def test_external_id_unique_per_provider_and_value_within_a_kind():
    source = PlexSourceFactory()
    ExternalIdFactory(show=ShowFactory(source=source), source=source, provider="tvdb", value="76290")
    with pytest.raises(IntegrityError), transaction.atomic():
        ExternalIdFactory(show=ShowFactory(source=source), source=source, provider="tvdb", value="76290")


def test_same_external_id_value_may_name_a_show_and_a_movie():
    # TMDB numbers series and films separately, so tmdb 1399 can be both.
    source = PlexSourceFactory()
    ExternalIdFactory(show=ShowFactory(source=source), source=source, provider="tmdb", value="1399")
    movie = MovieFactory(source=source)
    ExternalId.objects.create(
        source=source, owner_kind="movie", playable=movie, provider="tmdb", value="1399"
    )
    assert ExternalId.objects.filter(provider="tmdb", value="1399").count() == 2


def test_same_external_id_may_appear_in_two_sources():
    plex, other = PlexSourceFactory(), PlexSourceFactory()
    ExternalIdFactory(show=ShowFactory(source=plex), source=plex, provider="tvdb", value="1")
    ExternalIdFactory(show=ShowFactory(source=other), source=other, provider="tvdb", value="1")


def test_external_id_needs_exactly_one_owner():
    source = PlexSourceFactory()
    show, movie = ShowFactory(source=source), MovieFactory(source=source)
    with pytest.raises(IntegrityError), transaction.atomic():
        ExternalId.objects.create(
            source=source, owner_kind="show", show=show, playable=movie, provider="imdb", value="tt1"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        ExternalId.objects.create(source=source, owner_kind="show", provider="imdb", value="tt2")


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        (
            [("plex", "show/5d9c"), ("imdb", "tt0407362"), ("tmdb", "1972"), ("tvdb", "73545")],
            ("tvdb", "73545"),
        ),
        ([("plex", "show/5d9c"), ("imdb", "tt0407362"), ("tmdb", "1972")], ("tmdb", "1972")),
        ([("plex", "show/5d9c"), ("imdb", "tt0407362")], ("imdb", "tt0407362")),
        ([("plex", "show/5d9c")], ("plex", "show/5d9c")),
        ([("anidb", "1"), ("tvdb", "")], None),
        ([], None),
    ],
)
def test_primary_external_id_follows_provider_priority(ids, expected):
    assert primary_external_id(ids) == expected


def test_plex_source_needs_url_and_folder_source_needs_path():
    with pytest.raises(IntegrityError), transaction.atomic():
        MediaSource.objects.create(name="no url", kind=SourceKind.PLEX)
    with pytest.raises(IntegrityError), transaction.atomic():
        MediaSource.objects.create(name="no path", kind=SourceKind.TMM)
    MediaSource.objects.create(name="commercials", kind=SourceKind.FOLDER, path="/srv/ads")


def test_chapter_mark_is_unique_per_time_and_origin():
    episode = EpisodeFactory()
    ChapterMarkFactory(playable=episode, time_ms=420_000, origin="plex")
    ChapterMarkFactory(playable=episode, time_ms=420_000, origin="manual")
    with pytest.raises(IntegrityError), transaction.atomic():
        ChapterMarkFactory(playable=episode, time_ms=420_000, origin="plex")


def test_marker_cannot_end_before_it_starts():
    episode = EpisodeFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        PlexMarker.objects.create(playable=episode, kind="intro", start_ms=5000, end_ms=1000)


def test_subclass_save_fixes_the_content_kind():
    episode = EpisodeFactory(kind="movie")
    movie = MovieFactory(kind="episode")
    assert (episode.kind, movie.kind) == ("episode", "movie")


def test_sort_title_drops_leading_article():
    assert ShowFactory(title="The Twilight Zone").sort_title == "Twilight Zone"
