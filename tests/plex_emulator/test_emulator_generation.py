"""Deterministic generation, Windows paths, scale, and the command line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from plexapi.server import PlexServer

from plex_emulator import EmulatorConfig, PlexEmulator
from plex_emulator.library import Library

from .conftest import parse_xml

REPO_ROOT = Path(__file__).resolve().parents[2]


def fetch_all(emulator: PlexEmulator, paths: list[str]) -> list[bytes]:
    headers = {"X-Plex-Token": emulator.token}
    return [requests.get(emulator.url + path, headers=headers, timeout=10).content for path in paths]


def sample_paths(library: Library) -> list[str]:
    show = library.shows()[1]
    episode = library.episodes()[3]
    return [
        "/",
        "/identity",
        "/library/sections",
        "/library/sections/1/all?includeGuids=1",
        "/library/sections/2/all?type=4&includeGuids=1",
        "/library/sections/2/all?includeMeta=1&X-Plex-Container-Size=0",
        f"/library/metadata/{show.rating_key}/children",
        f"/library/metadata/{show.rating_key}/allLeaves",
        f"/library/metadata/{episode.rating_key}?includeChapters=1&includeMarkers=1",
    ]


def test_same_seed_gives_byte_identical_responses():
    config = EmulatorConfig(seed=42, shows=5, movies=25)
    with PlexEmulator(config) as first, PlexEmulator(config) as second:
        paths = sample_paths(first.library)
        assert fetch_all(first, paths) == fetch_all(second, paths)


def test_different_seeds_give_different_libraries():
    with PlexEmulator(EmulatorConfig(seed=1)) as first, PlexEmulator(EmulatorConfig(seed=2)) as second:
        path = ["/library/sections/1/all?includeGuids=1"]
        assert fetch_all(first, path) != fetch_all(second, path)
        assert first.machine_identifier != second.machine_identifier


def test_library_size_follows_the_knobs():
    plain = Library(
        EmulatorConfig(shows=4, seasons_per_show=3, episodes_per_season=5, movies=9, specials_fraction=0)
    )
    assert (plain.count("movie"), plain.count("show"), plain.count("season")) == (9, 4, 12)
    assert plain.count("episode") == 4 * 3 * 5

    with_specials = Library(
        EmulatorConfig(shows=4, seasons_per_show=3, episodes_per_season=5, specials_per_show=3)
    )
    season_zero = [show.season_by_index(0) for show in with_specials.shows() if show.season_by_index(0)]
    assert season_zero, "the second show always has specials"
    assert with_specials.count("episode") == 4 * 3 * 5 + 3 * len(season_zero)


def test_seeded_library_contains_the_awkward_cases():
    library = Library(EmulatorConfig(seed=3, shows=4, movies=12))
    movies, shows = library.movies(), library.shows()
    assert sorted(s.year for s in shows if s.title == "Battlestar Galactica") == [1978, 2003]
    assert any(len(movie.media) == 2 for movie in movies)
    assert any(len(movie.media[0].parts) == 2 for movie in movies)
    assert any(movie.updated_at is None for movie in movies)
    assert any(episode.updated_at is None for episode in library.episodes())
    assert any(show.guid.startswith("com.plexapp.agents.thetvdb://") for show in shows)


def test_windows_server_reports_windows_paths():
    with PlexEmulator(EmulatorConfig(windows=True, shows=2, movies=3)) as emulator:
        plex = PlexServer(emulator.url, emulator.token, timeout=10)
        assert plex.platform == "Windows"
        movies = plex.library.sectionByID(1)
        assert movies.locations == ["C:\\Media\\Movies"]
        assert all(
            path.startswith("C:\\Media\\Movies\\") for movie in movies.all() for path in movie.locations
        )
        shows = plex.library.sectionByID(2)
        episode = shows.searchEpisodes()[0]
        assert episode.locations[0].startswith("C:\\Media\\TV\\")
        assert "/" not in episode.locations[0]


def test_seventeen_thousand_episodes_generate_quickly_and_page_cheaply():
    config = EmulatorConfig(shows=170, seasons_per_show=10, episodes_per_season=10, movies=0)
    # CPU time, not wall time: parallel test workers must not make this flaky.
    started = time.process_time()
    emulator = PlexEmulator(config)
    assert time.process_time() - started < 3
    assert emulator.library.count("episode") >= 17_000

    with emulator:
        section = f"{emulator.url}/library/sections/2/all?type=4&includeGuids=1"
        headers = {"X-Plex-Token": emulator.token}
        started = time.monotonic()
        deep_page = requests.get(
            section,
            headers={**headers, "X-Plex-Container-Start": "16900", "X-Plex-Container-Size": "100"},
            timeout=10,
        )
        assert time.monotonic() - started < 2  # one page is rendered, not the whole section
        assert len(parse_xml(deep_page.content)) == 100

        seen: list[str] = []
        start, total = 0, None
        while total is None or start < total:
            page = requests.get(
                section,
                headers={**headers, "X-Plex-Container-Start": str(start), "X-Plex-Container-Size": "2500"},
                timeout=30,
            )
            root = parse_xml(page.content)
            total = int(root.get("totalSize"))
            seen += [video.get("ratingKey") for video in root]
            start += 2500
        assert len(seen) == len(set(seen)) == emulator.library.count("episode")


@pytest.mark.e2e
def test_command_line_serves_until_terminated():
    environment = {**os.environ, "PLEX_EMULATOR_TOKEN": "cli-secret"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "plex_emulator",
            "--port",
            "0",
            "--shows",
            "3",
            "--movies",
            "5",
            "--seed",
            "9",
        ],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in banner
        assert "cli-secret" not in banner
        url = banner.split("listening on ", 1)[1].split()[0]
        plex = PlexServer(url, "cli-secret", timeout=10)
        assert len(plex.library.sectionByID(1).all()) == 5
        touched = requests.post(
            f"{url}/_emulator/library/touch",
            json={"rating_key": str(plex.library.sectionByID(1).all()[0].ratingKey)},
            headers={"X-Plex-Token": "cli-secret"},
            timeout=10,
        )
        assert touched.status_code == 200
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "cli-secret" not in stderr
    assert "GET /library/sections" in stderr
