"""Fixtures shared by the Plex sync tests: the small emulated library, and a source synced from it."""

from __future__ import annotations

import pytest

from plex_emulator import PlexEmulator
from tests.catalog.plex_helpers import SMALL_LIBRARY, source_for, sync


@pytest.fixture
def emulator():
    with PlexEmulator(SMALL_LIBRARY) as running:
        yield running


@pytest.fixture
def synced(emulator):
    source = source_for(emulator)
    run = sync(source, "full")
    assert run.status == "succeeded", run.error
    return source
