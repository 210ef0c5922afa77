"""The loopback relay ffmpeg reads remote Parts from: ranges pass through, the token stays in a
header upstream, URLs die with their job, and Plex's refusals come back as typed errors."""

from __future__ import annotations

import os
import socket

import pytest
import requests

from playout.plex_relay import (
    PartBusy,
    PartDownloadForbidden,
    PartRelay,
    PartTokenRefused,
    PartUnreachable,
)
from plex_emulator import EmulatorConfig, PlexEmulator

TOKEN = "relay-test-token-77aa"
CONFIG = EmulatorConfig(seed=3, shows=1, seasons_per_show=1, episodes_per_season=1, movies=1, token=TOKEN)
CONTENT = os.urandom(300_000)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with PlexEmulator(CONFIG) as running:
        path = tmp_path_factory.mktemp("relay") / "movie.mkv"
        path.write_bytes(CONTENT)
        running.parts.register(running.library.movies()[0].media[0].parts[0].part_id, path)
        yield running


@pytest.fixture(scope="module")
def part_key(emulator) -> str:
    part_id = emulator.library.movies()[0].media[0].parts[0].part_id
    return f"/library/parts/{part_id}/1500000001/file.mkv"


@pytest.fixture
def part_relay():
    relay = PartRelay()
    yield relay
    relay.stop()


@pytest.fixture(autouse=True)
def reset_knobs(emulator):
    yield
    emulator.parts.forbid_downloads(False)
    emulator.parts.fail_with(None)


def test_a_range_request_passes_through_with_206_and_its_headers(emulator, part_relay, part_key):
    with part_relay.open(base_url=emulator.url, token=TOKEN, part_key=part_key, ttl=60) as job:
        response = requests.get(job.url, headers={"Range": "bytes=1000-1999"}, timeout=10)
        assert response.status_code == 206
        assert response.content == CONTENT[1000:2000]
        assert response.headers["Content-Range"] == f"bytes 1000-1999/{len(CONTENT)}"
        assert response.headers["Content-Length"] == "1000"
        assert response.headers["Accept-Ranges"] == "bytes"

        whole = requests.get(job.url, timeout=10)
        assert whole.status_code == 200 and whole.content == CONTENT
    assert job.url.startswith("http://127.0.0.1:") and job.url.endswith("/file.mkv")
    assert TOKEN not in job.url and TOKEN not in repr(job)
    forwarded = [record for record in emulator.requests.records if record.path == part_key]
    assert forwarded and all(record.query == "" for record in forwarded)  # token in a header only


def test_a_url_is_useless_once_its_job_is_closed_or_expired(emulator, part_relay, part_key):
    job = part_relay.open(base_url=emulator.url, token=TOKEN, part_key=part_key, ttl=60)
    assert requests.get(job.url, headers={"Range": "bytes=0-9"}, timeout=10).status_code == 206
    job.close()
    assert requests.get(job.url, timeout=10).status_code == 404
    expired = part_relay.open(base_url=emulator.url, token=TOKEN, part_key=part_key, ttl=0)
    assert requests.get(expired.url, timeout=10).status_code == 404
    guessed = job.url.replace(job.nonce, "A" * len(job.nonce))
    assert requests.get(guessed, timeout=10).status_code == 404
    assert part_relay.active_jobs() == 0


@pytest.mark.parametrize(
    ("setup", "token", "status", "error_type", "words"),
    [
        (lambda parts: None, "wrong-token", 401, PartTokenRefused, "refused the token"),
        (lambda parts: parts.forbid_downloads(), TOKEN, 403, PartDownloadForbidden, "forbids downloading"),
        (lambda parts: parts.fail_with(503), TOKEN, 503, PartBusy, "no bandwidth or playback slot"),
        (lambda parts: parts.fail_with(509), TOKEN, 509, PartBusy, "no bandwidth or playback slot"),
    ],
)
def test_a_refusal_reaches_ffmpeg_as_its_status_and_the_caller_as_a_typed_error(
    emulator, part_relay, part_key, setup, token, status, error_type, words
):
    setup(emulator.parts)
    with part_relay.open(base_url=emulator.url, token=token, part_key=part_key, ttl=60) as job:
        assert requests.get(job.url, timeout=10).status_code == status
    assert isinstance(job.error, error_type) and job.error.status == status
    assert words in str(job.error) and part_key in str(job.error)
    assert token not in str(job.error) and TOKEN not in str(job.error)
    assert job.error.retryable == (status in (503, 509))


def test_an_unreachable_server_is_a_retryable_error_without_the_token(part_relay, part_key):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with part_relay.open(base_url=f"http://127.0.0.1:{port}", token=TOKEN, part_key=part_key, ttl=60) as job:
        assert requests.get(job.url, timeout=20).status_code == 502
    assert isinstance(job.error, PartUnreachable) and job.error.retryable
    assert "could not reach" in str(job.error) and TOKEN not in str(job.error)
