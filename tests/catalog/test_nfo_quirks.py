"""Reading .nfo files as people really write them (issue 13, item 4): ids by root and scraper,
sets, tags, ratings with a decimal comma, season.nfo, URL-only files, and text that is not quite
XML. The files are in tests/fixtures/nfo/."""

from decimal import Decimal
from pathlib import Path

import pytest

from catalog.folders.nfo import NfoSet, parse_nfo, parse_nfo_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "nfo"


def only_item(name: str):
    [item] = parse_nfo(FIXTURES / name).items
    return item


def test_a_kodi17_tvshow_id_is_thetvdb_and_its_episode_guide_url_agrees():
    show = only_item("kodi17_tvshow.nfo")

    assert show.ids == [("tvdb", "78020")]
    assert show.primary_guid == "tvdb://78020"
    assert show.warnings == []


def test_a_tvshow_id_repeating_a_tmdb_uniqueid_is_not_taken_for_thetvdb():
    show = only_item("tmdb_tvshow.nfo")

    assert dict(show.ids) == {"tmdb": "1939", "imdb": "tt0088571"}  # no invented tvdb://1939
    assert show.primary_guid == "tmdb://1939"
    assert show.tags == ["Detectives", "80s"]


def test_a_movie_with_a_set_tags_and_a_decimal_comma_rating():
    movie = only_item("tmdb_movie_in_set.nfo")

    assert dict(movie.ids) == {"tmdb": "165", "imdb": "tt0096874"}
    assert movie.primary_guid == "tmdb://165"
    assert movie.collection == NfoSet(
        name="Back to the Future Collection",
        overview="An American science fiction comedy film series.",
        tmdb_collection_id="264",
    )
    assert movie.tags == ["time travel", "sequel"]
    assert movie.rating == Decimal("7.8")


def test_legacy_id_elements_a_set_by_name_and_a_community_rating():
    movie = only_item("legacy_elements_movie.nfo")

    assert dict(movie.ids) == {"tmdb": "679", "imdb": "tt0090605"}
    assert movie.collection == NfoSet(name="Alien Collection")
    assert movie.collection.key == "set:alien collection"
    assert movie.rating == Decimal("8.4")


def test_bom_entities_cdata_mixed_case_and_junk_after_the_root_are_read_with_a_warning():
    movie = only_item("messy_movie.nfo")

    assert movie.kind == "movie"
    assert movie.title == "Amélie"
    assert movie.plot == "A shy waitress <b>decides</b> to change lives & find love."
    assert movie.year == 2001
    assert movie.ids == [("imdb", "tt0211915")] and movie.default_id == ("imdb", "tt0211915")
    assert movie.warnings == ["text outside the XML was skipped (saved by MediaElch)"]


def test_junk_that_breaks_the_xml_after_the_closing_root_is_skipped_with_a_warning():
    [movie], _ = parse_nfo_text("<movie><title>Alien</title></movie>\n</movie><<garbage")

    assert movie.title == "Alien"
    assert movie.warnings == ["text after </movie> is not XML and was skipped (</movie><<garbage)"]


def test_a_url_only_nfo_is_an_item_with_the_ids_its_urls_carry():
    document = parse_nfo(FIXTURES / "url_only.nfo")

    [item] = document.items
    assert item.url_only and item.kind == ""
    assert item.ids == [("tmdb", "348"), ("imdb", "tt0078748")]


def test_a_wrapping_root_around_several_episodes_is_looked_through():
    items = parse_nfo(FIXTURES / "wrapped_double_episode.nfo").items

    assert [(item.kind, item.episode, item.title) for item in items] == [
        ("episodedetails", 1, "A.L.F."),
        ("episodedetails", 2, "Strangers in the Night"),
    ]
    assert [item.primary_guid for item in items] == ["tvdb://174291", "tvdb://174292"]


def test_season_nfo_gives_the_season_title_number_and_ids():
    season = only_item("season.nfo")

    assert (season.kind, season.season, season.title) == ("season", 1, "The First Season")
    assert season.ids == [("tvdb", "8213")]


@pytest.mark.parametrize(
    ("xml", "ids", "warning"),
    [
        ("<movie><id>105</id></movie>", [], "<id> 105 does not say which provider's id it is; skipped"),
        ("<episodedetails><id>4242</id></episodedetails>", [], "<id> 4242 does not say which provider"),
        ('<tvshow><id>111</id><uniqueid type="tvdb">222</uniqueid></tvshow>', [("tvdb", "222")], "<id> 111"),
        ("<movie><imdbid>12345</imdbid></movie>", [], "<imdbid> '12345' is not a IMDb id; skipped"),
    ],
)
def test_an_id_that_names_no_provider_is_never_guessed(xml, ids, warning):
    [item], _ = parse_nfo_text(xml)

    assert item.ids == ids
    assert any(line.startswith(warning) for line in item.warnings)


def test_a_shows_episode_guide_carries_its_ids_as_json_or_as_a_scraper_url():
    [kodi19], _ = parse_nfo_text(
        '<tvshow><title>ALF</title><episodeguide>{"tvdb": "78020", "imdb": "tt0090390"}</episodeguide></tvshow>'
    )
    [kodi17], _ = parse_nfo_text(
        "<tvshow><title>ALF</title><episodeguide><url>https://thetvdb.com/api/KEY/series/78020/all/en.zip"
        '</url></episodeguide><uniqueid type="imdb">tt0090390</uniqueid></tvshow>'
    )

    assert kodi19.ids == [("tvdb", "78020"), ("imdb", "tt0090390")]
    assert kodi17.ids == [("tvdb", "78020"), ("imdb", "tt0090390")]
