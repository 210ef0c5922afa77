"""Changing the library between sync runs, in Python and over the control path."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from plexapi.exceptions import NotFound
from plexapi.server import PlexServer

from plex_emulator import PlexEmulator
from plex_emulator.model import Episode, Movie, Show

from .conftest import SEED_TIME, FakeClock

WATERMARK = dt.datetime.fromtimestamp(SEED_TIME)  # plexapi sends naive datetimes as local time


def movies_section(plex: PlexServer, emulator: PlexEmulator):
    return plex.library.sectionByID(emulator.config.movie_section_id)


def shows_section(plex: PlexServer, emulator: PlexEmulator):
    return plex.library.sectionByID(emulator.config.show_section_id)


def test_nothing_is_newer_than_the_seed_time_before_mutations(plex: PlexServer, emulator: PlexEmulator):
    assert movies_section(plex, emulator).search(filters={"updatedAt>>=": WATERMARK}) == []
    assert shows_section(plex, emulator).search(filters={"updatedAt>>=": WATERMARK}) == []


def test_touched_movies_are_the_only_recent_search_results(
    plex: PlexServer, emulator: PlexEmulator, clock: FakeClock
):
    touched = [emulator.library.movies()[index] for index in (4, 40)]
    for movie in touched:
        emulator.library.touch(movie.rating_key)

    found = movies_section(plex, emulator).search(filters={"updatedAt>>=": WATERMARK})

    assert sorted(str(movie.ratingKey) for movie in found) == sorted(m.rating_key for m in touched)
    assert {movie.updatedAt.timestamp() for movie in found} == {clock.now}


def test_touching_an_episode_bumps_its_season_and_show(
    plex: PlexServer, emulator: PlexEmulator, clock: FakeClock
):
    episode = emulator.library.episodes()[7]
    assert isinstance(episode, Episode)

    emulator.library.touch(episode.rating_key)

    shows = shows_section(plex, emulator)
    assert [
        str(e.ratingKey) for e in shows.search(libtype="episode", filters={"episode.updatedAt>>=": WATERMARK})
    ] == [episode.rating_key]
    assert [str(show.ratingKey) for show in shows.search(filters={"updatedAt>>=": WATERMARK})] == [
        episode.show.rating_key
    ]
    assert episode.parent.updated_at == episode.show.updated_at == int(clock.now)


def test_touch_with_changes_is_visible_after_reload(plex: PlexServer, emulator: PlexEmulator):
    model = emulator.library.movies()[10]
    movie = plex.fetchItem(int(model.rating_key))
    before = movie.updatedAt

    emulator.library.touch(model.rating_key, title="Renamed Feature", file="/data/media/Movies/renamed.mkv")

    movie.reload()
    assert movie.title == "Renamed Feature"
    assert movie.locations == ["/data/media/Movies/renamed.mkv"]
    assert movie.updatedAt > before


def test_repeated_touches_in_the_same_second_still_move_updated_at(emulator: PlexEmulator):
    key = emulator.library.movies()[0].rating_key
    first = emulator.library.touch(key).updated_at
    second = emulator.library.touch(key).updated_at
    assert second == first + 1


def test_touch_rejects_unknown_fields(emulator: PlexEmulator):
    with pytest.raises(ValueError, match="cannot change"):
        emulator.library.touch(emulator.library.movies()[0].rating_key, colour="teal")


def test_added_show_appears_with_its_episodes(plex: PlexServer, emulator: PlexEmulator):
    emulator.library.add_show("Brand New Show", 2024, seasons=2, episodes_per_season=3, specials=1)

    listed = shows_section(plex, emulator).search(filters={"addedAt>>=": WATERMARK})
    assert [s.title for s in listed] == ["Brand New Show"]
    fetched = listed[0]
    assert [season.index for season in fetched.seasons()] == [0, 1, 2]
    assert len(fetched.episodes()) == 7
    assert fetched.guid.startswith("plex://show/")


def test_added_episode_grows_the_show_and_creates_missing_seasons(plex: PlexServer, emulator: PlexEmulator):
    show = emulator.library.shows()[0]
    leaves_before = show.leaf_count

    episode = emulator.library.add_episode(show.rating_key, season_index=9, title="Late Arrival")

    fetched = plex.fetchItem(int(show.rating_key))
    assert fetched.leafCount == leaves_before + 1
    assert fetched.updatedAt.timestamp() == episode.updated_at
    assert fetched.season(9).episodes()[0].title == "Late Arrival"


def test_deleted_items_disappear_and_parents_shrink(plex: PlexServer, emulator: PlexEmulator):
    movie = emulator.library.movies()[3]
    season = emulator.library.shows()[1].season_by_index(1)
    victim = season.episodes[0]

    assert emulator.library.delete(movie.rating_key) == [movie.rating_key]
    assert emulator.library.delete(victim.rating_key) == [victim.rating_key]

    with pytest.raises(NotFound):
        plex.fetchItem(int(movie.rating_key))
    assert plex.fetchItem(int(season.rating_key)).leafCount == len(season.episodes) == 9
    assert movies_section(plex, emulator).totalSize == 129


def test_deleting_the_last_episode_removes_its_season(emulator: PlexEmulator):
    show = emulator.library.find("Battlestar Galactica", 2003)[0]
    specials = show.season_by_index(0)
    keys = [episode.rating_key for episode in specials.episodes]

    removed = [key for episode_key in keys for key in emulator.library.delete(episode_key)]

    assert specials.rating_key in removed
    assert show.season_by_index(0) is None
    assert specials.rating_key not in emulator.library


def test_rekey_keeps_guids_but_changes_rating_keys(plex: PlexServer, emulator: PlexEmulator):
    show = emulator.library.shows()[2]
    assert isinstance(show, Show)
    old_show_key = show.rating_key
    old_keys = {item.rating_key: item.guid for item in [show, *show.seasons, *show.seasons[0].episodes]}

    mapping = emulator.library.rekey(old_show_key)

    assert set(old_keys) <= set(mapping)
    for old_key, guid in old_keys.items():
        assert emulator.library.get(old_key) is None
        assert emulator.library[mapping[old_key]].guid == guid
    new_show_key = int(mapping[old_show_key])
    fetched = plex.fetchItem(new_show_key)
    assert fetched.guid == old_keys[old_show_key]
    assert {episode.grandparentRatingKey for episode in fetched.episodes()} == {new_show_key}
    with pytest.raises(NotFound):
        plex.fetchItem(int(old_show_key))


def test_rekey_section_renumbers_every_movie(emulator: PlexEmulator):
    before = {movie.guid: movie.rating_key for movie in emulator.library.movies()}

    mapping = emulator.library.rekey_section(emulator.config.movie_section_id)

    after = {movie.guid: movie.rating_key for movie in emulator.library.movies()}
    assert set(after) == set(before)
    assert all(after[guid] == mapping[before[guid]] != before[guid] for guid in before)


def test_added_movie_supports_split_files_and_legacy_agents(emulator: PlexEmulator):
    movie = emulator.library.add_movie("Two Disc Epic", 1999, parts=2, legacy_agent="imdb")
    assert isinstance(movie, Movie)
    assert len(movie.media[0].parts) == 2
    assert movie.guid.startswith("com.plexapp.agents.imdb://tt") and movie.external_guids == ()


def control(
    emulator: PlexEmulator, method: str, path: str, json: dict | None = None, token: str | None = None
):
    return requests.request(
        method,
        f"{emulator.url}/_emulator/{path}",
        json=json,
        headers={"X-Plex-Token": token or emulator.token},
        timeout=10,
    )


def test_control_path_needs_the_token(emulator: PlexEmulator):
    assert control(emulator, "GET", "stats", token="wrong").status_code == 401


def test_control_path_mutates_the_library(emulator: PlexEmulator, clock: FakeClock):
    movie = emulator.library.movies()[5]
    response = control(
        emulator, "POST", "library/touch", {"rating_key": movie.rating_key, "title": "Via HTTP"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"]["updatedAt"] == int(clock.now)
    assert emulator.library[movie.rating_key].title == "Via HTTP"

    added = control(emulator, "POST", "library/add_show", {"title": "HTTP Show", "seasons": 1}).json()[
        "result"
    ]
    assert emulator.library[added["ratingKey"]].title == "HTTP Show"
    assert len(added["seasons"][0]["episodes"]) == emulator.config.episodes_per_season

    gone = control(emulator, "POST", "library/delete", {"rating_key": added["ratingKey"]}).json()["result"]
    assert added["ratingKey"] in gone


def test_control_path_reports_stats_and_rejects_bad_requests(emulator: PlexEmulator):
    requests.get(f"{emulator.url}/library", headers={"X-Plex-Token": emulator.token}, timeout=10)
    stats = control(emulator, "GET", "stats").json()
    assert stats["byPath"]["/library"] == 1
    assert control(emulator, "POST", "library/touch", {"rating_key": "nope"}).status_code == 400
    assert control(emulator, "POST", "library/explode", {}).status_code == 404
