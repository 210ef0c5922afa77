import pytest

from catalog.identity import external_ids_from_plex, parse_guid, primary_guid


@pytest.mark.parametrize(
    ("guid", "expected"),
    [
        ("com.plexapp.agents.thetvdb://76290?lang=en", ("tvdb", "76290")),
        ("com.plexapp.agents.thetvdb://76290/1?lang=en", ("tvdb", "76290/1")),
        ("com.plexapp.agents.thetvdb://76290/1/10?lang=en", ("tvdb", "76290/1/10")),
        ("com.plexapp.agents.imdb://tt0088000?lang=en", ("imdb", "tt0088000")),
        ("com.plexapp.agents.themoviedb://1234?lang=en", ("tmdb", "1234")),
        ("imdb://tt0407362", ("imdb", "tt0407362")),
        ("tmdb://1972", ("tmdb", "1972")),
        ("tvdb://73545", ("tvdb", "73545")),
        ("plex://show/5d9c086c46115600200aa2fe", ("plex", "show/5d9c086c46115600200aa2fe")),
        ("plex://episode/5d9c1275e9d5a1001f4f8a77", ("plex", "episode/5d9c1275e9d5a1001f4f8a77")),
        ("tt0088000", ("imdb", "tt0088000")),
        ("TVDB://73545", ("tvdb", "73545")),
    ],
)
def test_known_guid_forms_parse(guid, expected):
    assert parse_guid(guid) == expected


@pytest.mark.parametrize(
    "guid",
    [
        None,
        "",
        "local://910",
        "com.plexapp.agents.none://8c4d1e2a-1111",
        "collection://abc",
        "com.plexapp.agents.localmedia://12",
        "imdb://",
        "not a guid",
    ],
)
def test_guids_that_name_nothing_matchable_are_ignored(guid):
    assert parse_guid(guid) is None


def test_new_agent_item_collects_children_and_picks_tvdb_first():
    ids = external_ids_from_plex(
        "plex://show/5d9c086c46115600200aa2fe", ["imdb://tt0407362", "tmdb://1972", "tvdb://73545"]
    )
    assert ids == [
        ("tvdb", "73545"),
        ("tmdb", "1972"),
        ("imdb", "tt0407362"),
        ("plex", "show/5d9c086c46115600200aa2fe"),
    ]
    assert primary_guid(ids) == "tvdb://73545"


def test_legacy_item_without_children_keeps_its_packed_id():
    ids = external_ids_from_plex("com.plexapp.agents.imdb://tt0123456?lang=en", [])
    assert ids == [("imdb", "tt0123456")]
    assert primary_guid(ids) == "imdb://tt0123456"


def test_item_with_no_usable_ids_has_no_primary():
    assert primary_guid(external_ids_from_plex("local://1", [])) == ""
