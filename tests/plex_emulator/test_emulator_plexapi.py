"""The unmodified plexapi client works against the emulator end to end."""

from __future__ import annotations

import pytest
from plexapi.exceptions import NotFound, Unauthorized
from plexapi.server import PlexServer

from plex_emulator import PlexEmulator
from plex_emulator.model import Episode, Movie, Show


def test_plexapi_connects_and_reads_server_identity(emulator: PlexEmulator, plex: PlexServer):
    assert plex.machineIdentifier == emulator.machine_identifier
    assert plex.friendlyName == emulator.config.friendly_name
    assert plex.version == emulator.config.server_version
    assert plex.platform == "Linux"


def test_bad_token_is_rejected_with_unauthorized(emulator: PlexEmulator):
    with pytest.raises(Unauthorized):
        PlexServer(emulator.url, "not-the-token", timeout=5)


def test_sections_list_a_movie_and_a_show_section_with_locations(plex: PlexServer):
    sections = {section.type: section for section in plex.library.sections()}
    assert set(sections) == {"movie", "show"}
    assert sections["movie"].locations == ["/data/media/Movies"]
    assert sections["show"].locations == ["/data/media/TV"]
    assert sections["show"].agent == "tv.plex.agents.series"


def test_section_all_pages_through_every_movie_exactly_once(emulator: PlexEmulator, plex: PlexServer):
    movies = plex.library.sectionByID(emulator.config.movie_section_id).all()

    rating_keys = [movie.ratingKey for movie in movies]
    assert len(rating_keys) == len(set(rating_keys)) == emulator.library.count("movie") == 130
    pages = [r for r in emulator.requests.records if r.path.endswith("/all") and r.container_size == "100"]
    assert [page.container_start for page in pages] == ["0", "100"]


def test_episode_listing_pages_through_every_episode_exactly_once(emulator: PlexEmulator, plex: PlexServer):
    shows = plex.library.sectionByID(emulator.config.show_section_id)
    episodes = shows.searchEpisodes()

    expected = {episode.rating_key for episode in emulator.library.episodes()}
    assert len(expected) > 100
    assert sorted(str(episode.ratingKey) for episode in episodes) == sorted(expected)


def test_total_view_size_counts_each_type(emulator: PlexEmulator, plex: PlexServer):
    shows = plex.library.sectionByID(emulator.config.show_section_id)
    assert shows.totalViewSize(libtype="episode") == emulator.library.count("episode")
    assert shows.totalViewSize(libtype="season") == emulator.library.count("season")
    assert shows.totalSize == emulator.config.shows


def test_same_title_shows_are_told_apart_by_year(plex: PlexServer, emulator: PlexEmulator):
    shows = plex.library.sectionByID(emulator.config.show_section_id).all()
    galactica = sorted((show.year, show.guid) for show in shows if show.title == "Battlestar Galactica")
    assert [year for year, _guid in galactica] == [1978, 2003]
    assert galactica[0][1] != galactica[1][1]


def test_show_seasons_include_specials_and_skip_the_all_episodes_entry(
    plex: PlexServer, emulator: PlexEmulator
):
    show = plex.library.sectionByID(emulator.config.show_section_id).get("Battlestar Galactica", year=2003)

    seasons = show.seasons()

    assert [season.index for season in seasons] == [0, 1, 2]
    assert seasons[0].title == "Specials"
    assert all(season.ratingKey for season in seasons)


def test_show_episodes_cover_every_season_with_parent_keys(plex: PlexServer, emulator: PlexEmulator):
    show = plex.library.sectionByID(emulator.config.show_section_id).get("Battlestar Galactica", year=2003)
    model = emulator.library[show.ratingKey]
    assert isinstance(model, Show)

    episodes = show.episodes()

    assert len(episodes) == show.leafCount == model.leaf_count
    assert {episode.parentIndex for episode in episodes} == {0, 1, 2}
    assert {episode.grandparentRatingKey for episode in episodes} == {show.ratingKey}
    season_one = show.season(1)
    assert [episode.index for episode in season_one.episodes()] == list(range(1, 11))
    assert {episode.parentRatingKey for episode in season_one.episodes()} == {season_one.ratingKey}


def test_new_agent_items_expose_external_guids(plex: PlexServer, emulator: PlexEmulator):
    show = plex.library.sectionByID(emulator.config.show_section_id).get("Battlestar Galactica", year=2003)
    episode = show.episodes()[0]

    assert show.guid.startswith("plex://show/")
    assert sorted(guid.id.split("://")[0] for guid in show.guids) == ["imdb", "tmdb", "tvdb"]
    assert episode.guid.startswith("plex://episode/")
    assert {guid.id.split("://")[0] for guid in episode.guids} == {"imdb", "tmdb", "tvdb"}


def test_legacy_agent_items_have_only_the_guid_attribute(plex: PlexServer, emulator: PlexEmulator):
    legacy_movies = [m for m in emulator.library.movies() if m.guid.startswith("com.plexapp.agents.")]
    agents = {movie.guid.split("://")[0] for movie in legacy_movies}
    assert agents == {"com.plexapp.agents.imdb", "com.plexapp.agents.themoviedb", "com.plexapp.agents.none"}

    for model in legacy_movies[:3]:
        movie = plex.fetchItem(int(model.rating_key))
        assert movie.guid == model.guid
        assert movie.guids == []

    legacy_show = next(
        s for s in emulator.library.shows() if s.guid.startswith("com.plexapp.agents.thetvdb://")
    )
    episode = plex.fetchItem(int(legacy_show.season_by_index(1).episodes[1].rating_key))
    assert episode.guid.startswith("com.plexapp.agents.thetvdb://")
    assert episode.guid.endswith("/1/2?lang=en")


def test_reload_with_chapters_and_markers_returns_both(plex: PlexServer, emulator: PlexEmulator):
    model = next(
        e
        for e in emulator.library.episodes()
        if e.playback.intro and e.playback.credits_start and e.playback.chapter_count > 1
    )
    episode = plex.library.sectionByID(emulator.config.show_section_id).searchEpisodes(
        filters={"episode.id": int(model.rating_key)}
    )[0]
    assert episode.isPartialObject()

    episode.reload(includeChapters=1, includeMarkers=1)

    assert len(episode.chapters) == model.playback.chapter_count
    assert episode.chapters[0].start == 0
    assert episode.chapters[-1].end == episode.duration
    assert {marker.type for marker in episode.markers} == {"intro", "credits"}
    assert episode.hasIntroMarker and episode.hasCreditsMarker
    credits_marker = next(marker for marker in episode.markers if marker.type == "credits")
    assert credits_marker.final is True and credits_marker.end == episode.duration


def test_fetch_item_with_include_parameters_returns_markers(plex: PlexServer, emulator: PlexEmulator):
    model = next(e for e in emulator.library.episodes() if e.playback.intro)
    episode = plex.fetchItem(f"/library/metadata/{model.rating_key}?includeChapters=1&includeMarkers=1")
    assert episode.hasIntroMarker


def test_media_parts_carry_files_durations_and_streams(plex: PlexServer, emulator: PlexEmulator):
    model = next(
        m for m in emulator.library.movies() if m.media[0].has_subtitles and len(m.media[0].parts) == 1
    )
    movie = next(
        m
        for m in plex.library.sectionByID(emulator.config.movie_section_id).all()
        if m.ratingKey == int(model.rating_key)
    )

    part = movie.media[0].parts[0]
    assert part.file == model.media[0].parts[0].file
    assert part.duration == movie.duration == model.duration
    assert part.size > 0
    assert movie.locations == [part.file]
    assert part.streams == []  # listings carry no streams, as on a real server

    movie.reload()
    part = movie.media[0].parts[0]
    assert len(part.videoStreams()) == 1
    assert part.audioStreams()[0].language == "English"
    assert part.subtitleStreams()[0].codec == "srt"


def test_split_and_multi_version_movies_list_every_file(plex: PlexServer, emulator: PlexEmulator):
    split = next(m for m in emulator.library.movies() if len(m.media[0].parts) == 2)
    versions = next(m for m in emulator.library.movies() if len(m.media) == 2)

    split_movie = plex.fetchItem(int(split.rating_key))
    assert len(split_movie.media) == 1
    assert [part.file.rsplit(" - ", 1)[-1] for part in split_movie.media[0].parts] == ["pt1.mkv", "pt2.mkv"]
    assert sum(part.duration for part in split_movie.media[0].parts) == split_movie.duration

    versioned_movie = plex.fetchItem(int(versions.rating_key))
    assert [media.videoResolution for media in versioned_movie.media] == ["1080", "4k"]
    assert len(versioned_movie.locations) == 2


def test_items_without_updated_at_parse_as_none(plex: PlexServer, emulator: PlexEmulator):
    model = next(m for m in emulator.library.movies() if m.updated_at is None)
    movie = plex.fetchItem(int(model.rating_key))
    assert movie.updatedAt is None
    assert movie.addedAt is not None


def test_unknown_rating_key_is_not_found(plex: PlexServer):
    with pytest.raises(NotFound):
        plex.fetchItem(99_999_999)


def test_section_refresh_succeeds(plex: PlexServer, emulator: PlexEmulator):
    plex.library.sectionByID(emulator.config.movie_section_id).update()
    assert emulator.requests.count(r"/refresh$") == 1


def test_movie_and_episode_models_match_plexapi_types(plex: PlexServer, emulator: PlexEmulator):
    movie = plex.fetchItem(int(emulator.library.movies()[0].rating_key))
    episode = plex.fetchItem(int(emulator.library.episodes()[0].rating_key))
    assert (movie.TYPE, episode.TYPE) == ("movie", "episode")
    assert isinstance(emulator.library[movie.ratingKey], Movie)
    assert isinstance(emulator.library[episode.ratingKey], Episode)
