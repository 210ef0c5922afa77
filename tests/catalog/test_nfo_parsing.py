from datetime import date
from decimal import Decimal

import pytest

from catalog.folders.nfo import NfoError, parse_nfo, parse_nfo_text

MOVIE = """<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>
<!-- created on 2024-01-01 - tinyMediaManager 4.3 -->
<movie>
  <title>Back to the Future</title>
  <originaltitle>Back to the Future</originaltitle>
  <sorttitle>Back to the Future 1</sorttitle>
  <year>1985</year>
  <premiered>1985-07-03</premiered>
  <plot>Marty McFly is sent back in time.</plot>
  <outline>Short version.</outline>
  <runtime>116</runtime>
  <mpaa>US:PG / DE:12</mpaa>
  <genre>Adventure</genre>
  <genre>Comedy</genre>
  <genre>Science Fiction</genre>
  <studio>Amblin Entertainment</studio>
  <studio>Universal Pictures</studio>
  <ratings>
    <rating name="imdb" max="10"><value>8.5</value><votes>1200000</votes></rating>
    <rating name="themoviedb" max="10" default="true"><value>8.3</value><votes>18000</votes></rating>
  </ratings>
  <uniqueid type="imdb" default="true">tt0088763</uniqueid>
  <uniqueid type="tmdb">105</uniqueid>
</movie>
"""

TVSHOW = """<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>
<tvshow>
  <title>The Wonder Years</title>
  <year>1988</year>
  <premiered>1988-01-31</premiered>
  <plot>Growing up in the suburbs.</plot>
  <mpaa>TV-PG</mpaa>
  <genre>Comedy / Drama</genre>
  <studio>ABC</studio>
  <rating>8.3</rating>
  <id>72394</id>
  <imdbid>tt0094582</imdbid>
</tvshow>
"""

EPISODE = """<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>
<episodedetails>
  <title>Pilot</title>
  <showtitle>The Wonder Years</showtitle>
  <season>1</season>
  <episode>1</episode>
  <aired>1988-01-31</aired>
  <plot>Kevin starts junior high.</plot>
  <runtime>23 min</runtime>
  <uniqueid type="tvdb" default="true">175501</uniqueid>
  <uniqueid type="imdb">tt0667497</uniqueid>
</episodedetails>
"""


def test_movie_nfo_reads_every_field():
    [movie], urls = parse_nfo_text(MOVIE)

    assert movie.kind == "movie"
    assert movie.title == "Back to the Future"
    assert movie.original_title == "Back to the Future"
    assert movie.sort_title == "Back to the Future 1"
    assert movie.year == 1985
    assert movie.premiered == date(1985, 7, 3)
    assert movie.plot == "Marty McFly is sent back in time."
    assert movie.runtime_minutes == 116
    assert movie.content_rating == "PG"
    assert movie.genres == ["Adventure", "Comedy", "Science Fiction"]
    assert movie.studio == "Amblin Entertainment"
    assert movie.rating == Decimal("8.3")
    assert movie.ids == [("tmdb", "105"), ("imdb", "tt0088763")]
    assert movie.default_id == ("imdb", "tt0088763")
    assert movie.warnings == []
    assert urls == []


def test_tvshow_nfo_reads_legacy_ids_and_a_combined_genre_tag():
    [show], _ = parse_nfo_text(TVSHOW)

    assert show.kind == "tvshow"
    assert (show.title, show.year, show.content_rating, show.studio) == (
        "The Wonder Years",
        1988,
        "TV-PG",
        "ABC",
    )
    assert show.genres == ["Comedy", "Drama"]
    assert show.rating == Decimal("8.3")
    assert show.ids == [("tvdb", "72394"), ("imdb", "tt0094582")]
    assert show.primary_guid == "tvdb://72394"


def test_episode_nfo_reads_numbers_air_date_and_runtime():
    [episode], _ = parse_nfo_text(EPISODE)

    assert episode.kind == "episodedetails"
    assert (episode.season, episode.episode) == (1, 1)
    assert episode.show_title == "The Wonder Years"
    assert episode.premiered == date(1988, 1, 31)
    assert episode.year == 1988
    assert episode.runtime_minutes == 23
    assert episode.primary_guid == "tvdb://175501"


def test_several_episodedetails_in_one_file_are_several_episodes():
    text = EPISODE + EPISODE.replace("<episode>1</episode>", "<episode>2</episode>").replace(
        "<title>Pilot</title>", "<title>Swingers</title>"
    ).replace('<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>', "")

    items, _ = parse_nfo_text(text)

    assert [(item.title, item.season, item.episode) for item in items] == [
        ("Pilot", 1, 1),
        ("Swingers", 1, 2),
    ]


@pytest.mark.parametrize(
    ("ids_xml", "expected"),
    [
        (
            '<uniqueid type="imdb" default="true">tt1</uniqueid><uniqueid type="tmdb">2</uniqueid>'
            '<uniqueid type="tvdb">3</uniqueid>',
            "imdb://tt1",
        ),
        ('<uniqueid type="imdb">tt1</uniqueid><uniqueid type="tmdb">2</uniqueid>', "tmdb://2"),
        ('<uniqueid type="imdb">tt1</uniqueid><uniqueid type="trakt">99</uniqueid>', "imdb://tt1"),
        ("<id>tt0088763</id>", "imdb://tt0088763"),
        ("<tmdbid>105</tmdbid><imdbid>tt0088763</imdbid>", "tmdb://105"),
        ("<id>105</id>", ""),  # a bare number names no provider: never guessed
        ("", ""),
    ],
)
def test_primary_guid_is_the_default_uniqueid_else_tvdb_then_tmdb_then_imdb(ids_xml, expected):
    [movie], _ = parse_nfo_text(f"<movie><title>X</title>{ids_xml}</movie>")

    assert movie.primary_guid == expected


def test_uniqueid_wins_over_a_legacy_id_tag_for_the_same_provider():
    [show], _ = parse_nfo_text('<tvshow><id>111</id><uniqueid type="tvdb">222</uniqueid></tvshow>')

    assert show.ids == [("tvdb", "222")]


def test_rating_on_another_scale_is_brought_to_ten():
    [movie], _ = parse_nfo_text(
        '<movie><ratings><rating name="x" max="5"><value>4</value></rating></ratings></movie>'
    )

    assert movie.rating == Decimal("8.0")


@pytest.mark.parametrize(
    ("mpaa", "expected"), [("Rated PG-13", "PG-13"), ("US:TV-14", "TV-14"), ("TV-Y7", "TV-Y7"), ("", "")]
)
def test_content_rating_drops_country_and_rated_prefix(mpaa, expected):
    [movie], _ = parse_nfo_text(f"<movie><mpaa>{mpaa}</mpaa></movie>")

    assert movie.content_rating == expected


def test_custom_fields_in_a_retrovue_block_map_to_scheduling_metadata():
    [spot], _ = parse_nfo_text(
        """<movie><title>Cabbage Patch Kids</title>
        <retrovue>
          <daypart>Saturday morning</daypart>
          <season_preference>Christmas</season_preference>
          <category>toys</category>
          <company>Coleco</company>
          <expires>1986-12-31</expires>
          <demographic>kids</demographic>
          <warnings>loud</warnings>
          <warnings>flashing lights</warnings>
          <notes>Air only before 10am.</notes>
        </retrovue></movie>"""
    )

    assert spot.scheduling == {
        "daypart": "saturday_morning",
        "seasonal_preference": "christmas",
        "category": "toys",
        "commercial_company": "Coleco",
        "expires_on": date(1986, 12, 31),
        "target_demographic": "kids",
        "content_warnings": "loud, flashing lights",
        "notes": "Air only before 10am.",
    }
    assert spot.warnings == []


def test_top_level_custom_tags_work_and_the_block_wins_over_them():
    [movie], _ = parse_nfo_text(
        "<movie><daypart>prime time</daypart><company>Kenner</company><season_preference>fall</season_preference>"
        "<retrovue><daypart>late-night</daypart></retrovue></movie>"
    )

    assert movie.scheduling == {
        "daypart": "late_night",
        "commercial_company": "Kenner",
        "seasonal_preference": "autumn",
    }


def test_bad_custom_values_are_reported_and_dropped_not_fatal():
    [movie], _ = parse_nfo_text(
        "<movie><title>Spot</title><retrovue><daypart>brunch</daypart><demographic>martians</demographic>"
        "<expires>someday</expires><season_preference>monsoon</season_preference>"
        "<category>toys</category></retrovue></movie>"
    )

    assert movie.title == "Spot"
    assert movie.scheduling == {"category": "toys"}
    assert len(movie.warnings) == 4
    assert any("daypart 'brunch' is not one of" in warning for warning in movie.warnings)
    assert any("'someday' is not a date" in warning for warning in movie.warnings)


def test_bad_numbers_and_dates_are_warnings():
    [episode], _ = parse_nfo_text(
        "<episodedetails><season>one</season><episode>2</episode><aired>31/01/1988</aired></episodedetails>"
    )

    assert (episode.season, episode.episode, episode.premiered) == (None, 2, None)
    assert len(episode.warnings) == 2


def test_xml_followed_by_a_scraper_url_line_parses_and_keeps_the_url_id():
    [movie], urls = parse_nfo_text(
        "<movie><title>Alien</title><year>1979</year></movie>\nhttps://www.imdb.com/title/tt0078748/\n"
    )

    assert movie.title == "Alien"
    assert urls == ["https://www.imdb.com/title/tt0078748/"]
    assert movie.ids == [("imdb", "tt0078748")]


def test_scraper_url_with_a_query_string_is_not_an_xml_error():
    [show], _ = parse_nfo_text(
        "<tvshow><title>ALF</title></tvshow>\nhttps://thetvdb.com/?tab=series&id=78020\n"
    )

    assert show.ids == [("tvdb", "78020")]


def test_a_url_with_no_id_in_it_is_a_clear_error():
    with pytest.raises(NfoError, match="names no IMDb, TMDB or TheTVDB id"):
        parse_nfo_text("https://www.example.com/movies/105\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("   \n", "empty file"),
        ("<movie><title>Alien</movie>", "not well-formed XML"),
        ("<movie><title>Alien</title>", "not well-formed XML"),
        ("<musicvideo><title>Thriller</title></musicvideo>", "is not <movie>, <tvshow> or <episodedetails>"),
        ("just some notes", "no XML metadata"),
        (
            '<!DOCTYPE movie [<!ENTITY lol "lol">]><movie><title>&lol;</title></movie>',
            "DOCTYPE or entity declarations",
        ),
    ],
)
def test_malformed_nfo_is_an_nfo_error_with_a_reason(text, message):
    with pytest.raises(NfoError, match=message):
        parse_nfo_text(text)


def test_xml_error_says_where():
    with pytest.raises(NfoError, match=r"line 3, column \d+"):
        parse_nfo_text("<movie>\n<title>Alien</title>\n<year>1979</yr>\n</movie>")


def test_a_bare_ampersand_in_a_title_is_tolerated():
    [movie], _ = parse_nfo_text("<movie><title>Tom & Jerry &amp; Friends</title></movie>")

    assert movie.title == "Tom & Jerry & Friends"


def test_files_in_latin1_and_with_a_bom_are_read(tmp_path):
    latin = tmp_path / "latin.nfo"
    latin.write_bytes(
        '<?xml version="1.0" encoding="ISO-8859-1"?><movie><title>Amélie</title></movie>'.encode("latin-1")
    )
    bom = tmp_path / "bom.nfo"
    bom.write_bytes(b"\xef\xbb\xbf" + "<movie><title>Léon</title></movie>".encode())

    assert parse_nfo(latin).items[0].title == "Amélie"
    assert parse_nfo(bom).items[0].title == "Léon"


def test_unreadable_file_is_an_nfo_error(tmp_path):
    with pytest.raises(NfoError, match="cannot read the file"):
        parse_nfo(tmp_path / "missing.nfo")
