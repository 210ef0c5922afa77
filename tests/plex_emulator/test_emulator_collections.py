"""Collections as plexapi sees them: listed per section, browsed, paged, smart ones resolved live."""

from __future__ import annotations

import requests

from .conftest import parse_xml


def test_plexapi_lists_each_sections_collections_with_their_fields(plex):
    movies = {c.title: c for c in plex.library.section("Movies").collections()}
    shows = {c.title: c for c in plex.library.section("TV Shows").collections()}
    assert set(movies) == {"Classic Movies", "Before 1990"}
    assert set(shows) == {"Christmas Specials", "Saturday Morning"}
    smart = movies["Before 1990"]
    assert smart.smart and smart.subtype == "movie" and smart.guid.startswith("collection://")
    assert smart.filters()["filters"] == {"year<<": "1990"}
    assert not movies["Classic Movies"].smart
    assert shows["Christmas Specials"].subtype == "episode"


def test_plexapi_collection_items_are_its_members_in_order(plex, emulator):
    stored = emulator.library.collections.find("Classic Movies")
    collection = plex.library.section("Movies").collection("Classic Movies")
    assert [str(item.ratingKey) for item in collection.items()] == stored.member_keys
    assert collection.childCount == len(stored.member_keys)


def test_smart_collection_follows_the_library_without_changing_updated_at(plex, emulator):
    section = plex.library.section("Movies")
    before = section.collection("Before 1990")
    expected = sorted(movie.title for movie in section.all() if movie.year < 1990)
    assert sorted(item.title for item in before.items()) == expected
    newcomer = emulator.library.add_movie("Old Reel", 1950)
    after = section.collection("Before 1990")
    assert "Old Reel" in [item.title for item in after.items()], newcomer.rating_key
    assert after.updatedAt == before.updatedAt


def test_hand_picked_changes_bump_updated_at_and_child_count(plex, emulator, clock):
    store = emulator.library.collections
    classic = store.find("Classic Movies")
    extra = next(m.rating_key for m in emulator.library.movies() if m.rating_key not in classic.member_keys)
    before = plex.library.section("Movies").collection("Classic Movies")
    clock.advance(60)
    store.add_items(classic.rating_key, [extra])
    after = plex.library.section("Movies").collection("Classic Movies")
    assert after.childCount == before.childCount + 1
    assert after.updatedAt > before.updatedAt


def test_collection_children_are_paged_above_a_page_size(emulator):
    movies = emulator.library.movies()
    big = emulator.library.collections.add(1, "Everything", [m.rating_key for m in movies])
    seen, start = [], 0
    while True:
        response = requests.get(
            f"{emulator.url}/library/metadata/{big.rating_key}/children",
            headers={"X-Plex-Token": emulator.token, "X-Plex-Container-Start": str(start),
                     "X-Plex-Container-Size": "50"},
            timeout=10,
        )  # fmt: skip
        root = parse_xml(response.content)
        keys = [video.get("ratingKey") for video in root.iter("Video")]
        assert root.get("totalSize") == str(len(movies))
        if not keys:
            break
        seen += keys
        start += len(keys)
    assert seen == [m.rating_key for m in movies]
    assert len(movies) > 100


def test_a_deleted_collection_is_gone_from_listing_and_metadata(emulator):
    store = emulator.library.collections
    doomed = store.find("Saturday Morning")
    store.delete(doomed.rating_key)
    headers = {"X-Plex-Token": emulator.token}
    listing = requests.get(f"{emulator.url}/library/sections/2/all?type=18", headers=headers, timeout=10)
    assert "Saturday Morning" not in listing.text
    gone = requests.get(f"{emulator.url}/library/collections/{doomed.rating_key}/children", headers=headers,
                        timeout=10)  # fmt: skip
    assert gone.status_code == 404
