"""Collections synced from the emulator: rows, members in order, incremental skips, smart, removal."""

import pytest

from catalog.models import Collection, CollectionMember, Episode, Movie, Show
from tests.catalog.plex_helpers import sync

pytestmark = pytest.mark.django_db


def members_of(source, title):
    collection = Collection.objects.get(source=source, title=title)
    return list(collection.members.order_by("position").values_list("rating_key", flat=True))


def test_full_sync_stores_every_collection_with_its_fields(emulator, synced):
    rows = {row.title: row for row in Collection.objects.filter(source=synced)}
    assert set(rows) == {"Christmas Specials", "Saturday Morning", "Classic Movies", "Before 1990"}
    smart = rows["Before 1990"]
    assert smart.smart and smart.smart_filter.startswith("/library/sections/1/all?type=1")
    assert smart.guid.startswith("collection://") and smart.subtype == "movie"
    assert rows["Christmas Specials"].subtype == "episode"
    assert rows["Christmas Specials"].library.kind == "show"
    assert all(row.updated_at_plex is not None and row.state == "active" for row in rows.values())
    assert rows["Classic Movies"].child_count == 4


def test_members_keep_plex_order_and_link_to_catalog_rows(emulator, synced):
    store = emulator.library.collections
    for title in ("Christmas Specials", "Saturday Morning", "Classic Movies"):
        assert members_of(synced, title) == store.find(title).member_keys
    specials = CollectionMember.objects.filter(collection__title="Christmas Specials")
    assert specials.exists()
    assert all(isinstance(m.playable.episode, Episode) and m.kind == "episode" for m in specials)
    shows = CollectionMember.objects.filter(collection__title="Saturday Morning").select_related("show")
    assert [m.show.rating_key for m in shows] == store.find("Saturday Morning").member_keys
    expected_smart = sorted(m.rating_key for m in emulator.library.movies() if m.year < 1990)
    assert sorted(members_of(synced, "Before 1990")) == expected_smart
    assert Movie.objects.filter(collection_memberships__collection__title="Before 1990").count() == len(
        expected_smart
    )


def test_incremental_sync_skips_unchanged_collections(emulator, synced):
    emulator.requests.reset()
    run = sync(synced)
    assert run.status == "succeeded", run.error
    assert emulator.requests.count("/children") == 0
    assert not [line for line in run.changes if "collection" in line]


def test_incremental_sync_rereads_a_changed_collection_only(emulator, synced):
    store = emulator.library.collections
    classic = store.find("Classic Movies")
    newcomer = next(
        m.rating_key for m in emulator.library.movies() if m.rating_key not in classic.member_keys
    )
    store.remove_items(classic.rating_key, [classic.member_keys[0]])
    store.add_items(classic.rating_key, [newcomer])
    emulator.requests.reset()
    run = sync(synced)
    assert run.status == "succeeded", run.error
    assert members_of(synced, "Classic Movies") == store.find("Classic Movies").member_keys
    assert emulator.requests.count(f"/library/metadata/{classic.rating_key}/children") == 1
    assert emulator.requests.count("/children") == 1
    assert "Updated collection: Classic Movies" in run.changes


def test_smart_collection_members_follow_library_changes(emulator, synced):
    old = emulator.library.add_movie("Old Reel", 1950)
    run = sync(synced)
    assert run.status == "succeeded", run.error
    assert old.rating_key in members_of(synced, "Before 1990")


def test_collection_gone_from_plex_is_marked_removed_not_deleted(emulator, synced):
    store = emulator.library.collections
    doomed = store.find("Saturday Morning")
    store.delete(doomed.rating_key)
    run = sync(synced)
    assert run.status == "succeeded", run.error
    row = Collection.objects.get(source=synced, rating_key=doomed.rating_key)
    assert row.state == "removed"
    assert row.members.count() == 3, "members stay for the record"
    assert "Removed collection: Saturday Morning" in run.changes
    assert Show.objects.filter(source=synced, state="active").count() == emulator.library.count("show")


def test_members_of_a_large_collection_are_read_page_by_page(emulator, synced):
    library = emulator.library
    everything = [*library.shows(), *library.seasons(), *library.episodes()]  # a mixed collection
    big = library.collections.add(2, "Everything", [item.rating_key for item in everything])
    emulator.requests.reset()
    run = sync(synced)
    assert run.status == "succeeded", run.error
    assert members_of(synced, "Everything") == [item.rating_key for item in everything]
    assert len(everything) > 100
    assert emulator.requests.count(f"/library/metadata/{big.rating_key}/children") == -(
        -len(everything) // 100
    )
    members = CollectionMember.objects.filter(collection__title="Everything")
    assert members.filter(kind="show", show__isnull=False).count() == len(library.shows())
    assert members.filter(kind="season", season__isnull=False).count() == len(library.seasons())
    assert members.filter(kind="episode", playable__isnull=False).count() == len(library.episodes())
