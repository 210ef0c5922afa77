"""A fresh `./bin/run` (the embedded default with the demo station) started at whatever minute the
test runs: every demo channel airs a scheduled program within a minute, not filler, joined in
progress where a slot was already running, as on a station that was always on."""

import sqlite3
import time
from datetime import UTC, datetime

import pytest

DEMO_CHANNELS = ("3", "5", "7")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.e2e
@pytest.mark.parametrize("station", [True], indirect=True)
def test_every_demo_channel_airs_a_scheduled_program_joined_in_progress_within_a_minute(station):
    database = station["data"] / "retrovue.sqlite3"
    started = time.monotonic()
    first_aired: dict[str, tuple] = {}
    while time.monotonic() - started < 60 and len(first_aired) < len(DEMO_CHANNELS):
        with sqlite3.connect(database) as connection:
            rows = connection.execute(
                """SELECT c.number, a.origin, a.actual_start, pe.category, pe.playable_id, pe.joined_from,
                          pe.start, pe.stop, pc.start, pc.stop
                   FROM playout_asrunentry a
                   JOIN scheduling_channel c ON c.id = a.channel_id
                   JOIN scheduling_piece pc ON pc.id = a.piece_id
                   JOIN scheduling_programentry pe ON pe.id = pc.program_id
                   ORDER BY a.id"""
            ).fetchall()
        for row in rows:
            first_aired.setdefault(row[0], row)
        time.sleep(1)
    assert set(first_aired) == set(DEMO_CHANNELS), f"on the air: {sorted(first_aired)}"
    now = datetime.now(UTC)
    for number, row in first_aired.items():
        _, _origin, actual_start, category, playable_id, joined_from, start, stop, piece_start, piece_stop = row
        # A scheduled program (off air is the schedule too, for channel 3's night), never the filler
        # the builder used to put in a slot it joined after its start.
        assert category in ("Series", "Movie", "Off air"), (number, category)
        assert playable_id is not None or category == "Off air", (number, row)
        # Joined where the schedule stands now: inside the piece airing then, within a minute of now.
        aired_at = _utc(actual_start)
        assert _utc(piece_start) <= aired_at < _utc(piece_stop), (number, row)
        assert abs((aired_at - now).total_seconds()) < 90, (number, row)
        if joined_from is not None:
            assert _utc(joined_from) < _utc(start) <= aired_at < _utc(stop), (number, row)
