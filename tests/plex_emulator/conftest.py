"""Fixtures for the Plex emulator tests: running emulators and plexapi clients.

Nothing here touches Django or a database; every emulator binds 127.0.0.1 on
a free port, so the tests also run in parallel (pytest-xdist).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from plexapi.server import PlexServer

from plex_emulator import EmulatorConfig, PlexEmulator

# Big enough that both sections need more than one plexapi page (100 items).
PAGED_CONFIG = EmulatorConfig(
    seed=11, shows=6, seasons_per_show=2, episodes_per_season=10, movies=130, token="test-token"
)
SEED_TIME = PAGED_CONFIG.base_time  # every generated addedAt/updatedAt lies before this


def parse_xml(data: bytes) -> ET.Element:
    """Parse XML the emulator served or a checked-in capture: trusted input, no defusedxml needed."""
    return ET.fromstring(data)


class FakeClock:
    """A settable clock, so mutation timestamps are exact."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(SEED_TIME + 10 * 86_400)


@pytest.fixture
def emulator(clock: FakeClock) -> Iterator[PlexEmulator]:
    with PlexEmulator(PAGED_CONFIG, clock=clock) as running:
        yield running


@pytest.fixture
def plex(emulator: PlexEmulator) -> PlexServer:
    return PlexServer(emulator.url, emulator.token, timeout=10)


@pytest.fixture
def fixtures_dir() -> Path:
    """Real Plex responses published by others, copied with their sources and licences (SOURCES.md)."""
    return Path(__file__).resolve().parents[1] / "fixtures" / "plex_captures"
