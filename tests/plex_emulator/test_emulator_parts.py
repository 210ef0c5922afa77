"""Part downloads from the emulator: real bytes behind a Part key, ranges, token and refusal knobs."""

from __future__ import annotations

import logging
import os

import pytest
import requests

from plex_emulator import EmulatorConfig, PlexEmulator

TOKEN = "part-test-token-5f1c"
CONFIG = EmulatorConfig(seed=3, shows=1, seasons_per_show=1, episodes_per_season=2, movies=1, token=TOKEN)


@pytest.fixture
def emulator():
    with PlexEmulator(CONFIG) as running:
        yield running


@pytest.fixture
def content(tmp_path) -> bytes:
    return os.urandom(100_000)


@pytest.fixture
def part_url(emulator, tmp_path, content) -> str:
    movie = emulator.library.movies()[0]
    part = movie.media[0].parts[0]
    (tmp_path / "movie.mp4").write_bytes(content)
    emulator.parts.register(part.part_id, tmp_path / "movie.mp4")
    return f"{emulator.url}/library/parts/{part.part_id}/1500000001/file.mp4"


def get(url: str, token: str | None = TOKEN, **headers) -> requests.Response:
    if token is not None:
        headers["X-Plex-Token"] = token
    return requests.get(url, headers=headers, timeout=5)


def test_a_registered_part_is_served_whole_with_ranges_accepted(part_url, content):
    response = get(part_url)
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Length"] == str(len(content))
    assert response.headers["Content-Type"] == "video/mp4"


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=10-19", 10, 19), ("bytes=99990-", 99_990, 99_999), ("bytes=-5", 99_995, 99_999)],
)
def test_a_range_request_gets_206_with_its_slice(part_url, content, header, first, last):
    response = get(part_url, Range=header)
    assert response.status_code == 206
    assert response.content == content[first : last + 1]
    assert response.headers["Content-Range"] == f"bytes {first}-{last}/{len(content)}"
    assert response.headers["Content-Length"] == str(last - first + 1)


def test_a_range_beyond_the_end_is_416(part_url):
    response = get(part_url, Range="bytes=200000-")
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */100000"


def test_the_part_needs_the_token_in_a_header(part_url):
    assert get(part_url, token=None).status_code == 401
    assert get(part_url, token="wrong").status_code == 401
    assert requests.get(f"{part_url}?X-Plex-Token={TOKEN}", timeout=5).status_code == 401


def test_the_owner_can_forbid_downloads_and_the_server_can_refuse_for_bandwidth(emulator, part_url):
    emulator.parts.forbid_downloads()
    assert get(part_url).status_code == 403
    emulator.parts.forbid_downloads(False)
    emulator.parts.fail_with(509)
    assert get(part_url).status_code == 509
    emulator.parts.fail_with(None)
    assert get(part_url).status_code == 200


def test_a_part_without_a_file_is_404(emulator):
    episode = emulator.library.episodes()[0]
    part_id = episode.media[0].parts[0].part_id
    assert get(f"{emulator.url}/library/parts/{part_id}/1/file.mkv").status_code == 404


def test_part_requests_are_recorded_and_logged_without_the_token(emulator, part_url, caplog):
    caplog.set_level(logging.DEBUG)
    get(part_url, Range="bytes=0-99")
    requests.get(f"{part_url}?X-Plex-Token={TOKEN}", timeout=5)
    assert [(served.range, served.status) for served in emulator.parts.served] == [
        ("bytes=0-99", 206),
        ("", 401),
    ]
    assert "/library/parts/" in caplog.text
    assert TOKEN not in caplog.text
