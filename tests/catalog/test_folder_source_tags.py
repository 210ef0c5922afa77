"""TMM .nfo cast, crew, genres and studio land in the shared tag tables; rescans converge."""

import pytest

from catalog.folders.scan import scan_tmm_source
from catalog.models import Credit, Episode, Genre, Movie, Person, Show
from tests.catalog.test_folder_sources import media, put, tmm_source  # noqa: F401  (media is a fixture)

pytestmark = pytest.mark.django_db

WARGAMES = """<movie>
  <title>WarGames</title><year>1983</year>
  <genre>Thriller</genre><genre>Science Fiction</genre>
  <studio>MGM</studio>
  <actor><name>Ally Sheedy</name><role>Jennifer Mack</role><order>1</order></actor>
  <actor><name>Matthew Broderick</name><role>David Lightman</role><order>0</order></actor>
  <director>John Badham</director>
  <credits>Lawrence Lasker / Walter F. Parkes</credits>
</movie>"""

SHOW = """<tvshow><title>Cheers</title><year>1982</year><studio>NBC</studio><genre>Sitcom</genre>
  <actor><name>Ted Danson</name><role>Sam Malone</role></actor></tvshow>"""

EPISODE = """<episodedetails><title>Give Me a Ring Sometime</title><season>1</season><episode>1</episode>
  <director>James Burrows</director><credits>Glen Charles</credits></episodedetails>"""


def credits_of(**owner):
    return list(
        Credit.objects.filter(**owner)
        .order_by("role", "position")
        .values_list("role", "person__name", "character")
    )


def test_movie_nfo_cast_crew_genres_and_studio(tmp_path, media):  # noqa: F811
    folder = tmp_path / "movies" / "WarGames (1983)"
    put(folder / "WarGames (1983).mp4", media.clip)
    put(folder / "WarGames (1983).nfo", WARGAMES)
    source = tmm_source(tmp_path / "movies")
    scan_tmm_source(source)
    movie = Movie.objects.get(source=source)
    assert movie.production_studio.name == "MGM"
    assert list(movie.genre_tags.order_by("playable_links__position").values_list("name", flat=True)) == [
        "Thriller",
        "Science Fiction",
    ]
    assert credits_of(playable=movie) == [
        ("actor", "Matthew Broderick", "David Lightman"),
        ("actor", "Ally Sheedy", "Jennifer Mack"),
        ("director", "John Badham", ""),
        ("writer", "Lawrence Lasker", ""),
        ("writer", "Walter F. Parkes", ""),
    ]
    counts = (Person.objects.count(), Credit.objects.count(), Genre.objects.count())
    again = scan_tmm_source(source)
    assert (Person.objects.count(), Credit.objects.count(), Genre.objects.count()) == counts
    assert again["updated"] == 0


def test_an_nfo_edit_that_only_adds_an_actor_updates_the_credits(tmp_path, media):  # noqa: F811
    folder = tmp_path / "movies" / "WarGames (1983)"
    put(folder / "WarGames (1983).mp4", media.clip)
    put(folder / "WarGames (1983).nfo", WARGAMES)
    source = tmm_source(tmp_path / "movies")
    scan_tmm_source(source)
    put(
        folder / "WarGames (1983).nfo",
        WARGAMES.replace(
            "<director>", "<actor><name>Dabney Coleman</name><role>McKittrick</role></actor><director>"
        ),
    )
    summary = scan_tmm_source(source)
    assert summary["updated"] == 1
    movie = Movie.objects.get(source=source)
    assert ("actor", "Dabney Coleman", "McKittrick") in credits_of(playable=movie)


def test_show_and_episode_nfo_credits_and_network(tmp_path, media):  # noqa: F811
    show_dir = tmp_path / "tv" / "Cheers (1982)"
    put(show_dir / "tvshow.nfo", SHOW)
    put(show_dir / "Season 01" / "Cheers - S01E01.mkv", media.clip)
    put(show_dir / "Season 01" / "Cheers - S01E01.nfo", EPISODE)
    source = tmm_source(tmp_path / "tv")
    scan_tmm_source(source)
    show = Show.objects.get(source=source)
    assert show.network.name == "NBC"
    assert list(show.genre_tags.values_list("name", flat=True)) == ["Sitcom"]
    assert credits_of(show=show) == [("actor", "Ted Danson", "Sam Malone")]
    episode = Episode.objects.get(source=source)
    assert credits_of(playable=episode) == [("director", "James Burrows", ""), ("writer", "Glen Charles", "")]
