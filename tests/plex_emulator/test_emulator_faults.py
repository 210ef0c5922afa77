"""Injected faults surface as the client errors a real outage would cause."""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET

import pytest
import requests
from plexapi.exceptions import BadRequest
from plexapi.server import PlexServer

from plex_emulator import EmulatorConfig, PlexEmulator

from .conftest import PAGED_CONFIG

SECTIONS = "/library/sections"


@pytest.fixture
def faulty() -> PlexEmulator:
    # A short hang keeps the timeout fault quick even if a client waits it out.
    with PlexEmulator(PAGED_CONFIG.with_changes(fault_timeout_seconds=3)) as emulator:
        yield emulator


@pytest.fixture
def impatient_plex(faulty: PlexEmulator) -> PlexServer:
    return PlexServer(faulty.url, faulty.token, timeout=1)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("http500", BadRequest),
        ("http503", BadRequest),
        ("reset", requests.exceptions.ConnectionError),
        ("timeout", requests.exceptions.ReadTimeout),
        ("malformed", ET.ParseError),
        ("truncated", requests.exceptions.ChunkedEncodingError),
    ],
)
def test_each_fault_kind_raises_the_matching_client_error(
    faulty: PlexEmulator, impatient_plex: PlexServer, kind: str, expected: type[Exception]
):
    faulty.faults.schedule(kind, SECTIONS + "$")

    with pytest.raises(expected):
        impatient_plex.query(SECTIONS)

    assert impatient_plex.query(SECTIONS) is not None  # a one-off fault; the next call works
    assert [fault.kind for fault in faulty.faults.injected] == [kind]


def test_http_error_faults_carry_the_status(faulty: PlexEmulator):
    faulty.faults.schedule("http503", "/identity", times=2)
    statuses = [requests.get(faulty.url + "/identity", timeout=5).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


def test_schedule_fails_only_the_nth_matching_request(faulty: PlexEmulator, impatient_plex: PlexServer):
    movies = impatient_plex.library.sectionByID(faulty.config.movie_section_id)
    faulty.faults.schedule("http500", r"/library/sections/\d+/all", nth=2)

    with pytest.raises(BadRequest, match="500"):
        movies.all()  # page 1 succeeds, page 2 is the second matching request

    assert len(movies.all()) == 130
    rule = faulty.faults.rules[0]
    assert (rule.seen, rule.fired) == (4, 1)


def test_schedule_can_target_query_strings(faulty: PlexEmulator, impatient_plex: PlexServer):
    shows = impatient_plex.library.sectionByID(faulty.config.show_section_id)
    faulty.faults.schedule("http500", r"type=4", times=0)

    assert len(shows.all()) == faulty.config.shows
    with pytest.raises(BadRequest):
        shows.searchEpisodes()


def test_fault_rate_one_fails_everything_with_the_allowed_kinds(faulty: PlexEmulator):
    faulty.faults.set_rate(1.0, ["http500"])
    statuses = {requests.get(faulty.url + "/identity", timeout=5).status_code for _ in range(5)}
    assert statuses == {500}
    faulty.faults.clear()
    assert requests.get(faulty.url + "/identity", timeout=5).status_code == 200


def test_random_faults_repeat_for_the_same_seed():
    config = PAGED_CONFIG.with_changes(fault_rate=0.5, fault_kinds=("http500", "http503"))

    def statuses() -> list[int]:
        with PlexEmulator(config) as emulator:
            return [requests.get(emulator.url + "/identity", timeout=5).status_code for _ in range(20)]

    first = statuses()
    assert first == statuses()
    assert {200, 500, 503} <= set(first)


def test_latency_delays_every_request(faulty: PlexEmulator):
    faulty.latency_ms = 150
    started = time.monotonic()
    requests.get(faulty.url + "/identity", timeout=5)
    assert time.monotonic() - started >= 0.15


def test_stop_interrupts_a_hanging_timeout_fault():
    with PlexEmulator(EmulatorConfig(movies=3, shows=1, fault_timeout_seconds=60)) as emulator:
        emulator.faults.schedule("timeout", "/identity")
        outcome: list[BaseException] = []

        def hang() -> None:
            try:
                requests.get(emulator.url + "/identity", timeout=30)
            except requests.RequestException as error:
                outcome.append(error)

        client = threading.Thread(target=hang)
        client.start()
        time.sleep(0.2)
        started = time.monotonic()
        emulator.stop()
        assert time.monotonic() - started < 5
        client.join(timeout=10)
    assert outcome and isinstance(outcome[0], requests.exceptions.ConnectionError)


def test_faults_are_configurable_over_the_control_path(faulty: PlexEmulator):
    response = requests.post(
        f"{faulty.url}/_emulator/faults",
        json={"clear": True, "rules": [{"kind": "http500", "path": "^/library$", "nth": 1}]},
        headers={"X-Plex-Token": faulty.token},
        timeout=5,
    )
    assert response.status_code == 200
    library = requests.get(f"{faulty.url}/library", headers={"X-Plex-Token": faulty.token}, timeout=5)
    assert library.status_code == 500
