"""The as-run log: one row per piece as it airs (scheduled vs actual, origin, why a fallback
happened), slates served in chunks kept as one row, orphans closed, and the stream never failing
because the log could not be written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from playout import as_run, pregen
from playout import ffmpeg_commands as commands
from playout.feed import Entry
from playout.models import AsRunEntry, PregenPiece
from retrovue.subprocesses import run_command
from tests.playout.test_channel_process import air, ffmpeg, item_for, make_channel, ready, serve_once

NOON = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_memory():
    as_run.forget()
    yield
    as_run.forget()


@pytest.fixture
def channel(db, settings, tmp_path):
    settings.HLS_ROOT = tmp_path / "hls"
    settings.DATA_DIR = tmp_path / "data"
    settings.RETROVUE_PREGEN_ROOT = str(tmp_path / "pregen")
    return make_channel("9")


def slate(channel, start: datetime, seconds: int, *, piece=None, note="nothing scheduled") -> Entry:
    return Entry(
        origin=AsRunEntry.Origin.SLATE,
        airs_at=start,
        duration=timedelta(seconds=seconds),
        piece=piece,
        path=Path("/slate.ts"),
        note=note,
    )


def test_a_pregen_piece_served_by_the_feed_is_logged_and_marked_aired(channel, tmp_path):
    clip = tmp_path / "clip.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=5",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=5",
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(clip),
    )  # fmt: skip
    encoded = tmp_path / "encoded.ts"
    run_command(
        commands.pregen_argv(clip, 0, 4000, channel.stream_profile, None, encoded, preset="ultrafast"),
        timeout=60,
    )
    item = item_for(clip, 5000)
    row = ready(channel, item, 0, 4000, encoded)
    start = timezone.now().replace(microsecond=0)
    piece = air(channel, start, item, 0, 4000)

    serve_once(channel, start, tmp_path)

    entry = AsRunEntry.objects.get(channel=channel)
    assert (entry.origin, entry.piece, entry.playable_id, entry.error) == ("pregen", piece, item.pk, "")
    assert (entry.scheduled_start, entry.scheduled_stop) == (piece.start, piece.stop)
    assert (entry.actual_start, entry.actual_stop) == (piece.start, piece.stop)
    assert PregenPiece.objects.get(pk=row.pk).last_aired_at == piece.start


def test_a_live_fallback_records_why(channel):
    item = item_for("/clips/x.mp4")
    piece = air(channel, NOON, item, 0, 60_000)
    entry = Entry(
        origin=AsRunEntry.Origin.LIVE,
        airs_at=NOON + timedelta(seconds=10),
        duration=timedelta(seconds=50),
        piece=piece,
        argv=["ffmpeg"],
        note="not pre-generated in time: transcoded live",
    )
    row = as_run.record_start(channel.pk, entry)
    as_run.record_stop(row, piece.stop)
    logged = AsRunEntry.objects.get(channel=channel)
    assert logged.origin == "live" and logged.error == "not pre-generated in time: transcoded live"
    assert logged.scheduled_start == NOON and logged.actual_start == NOON + timedelta(seconds=10)
    assert logged.actual_stop == piece.stop


def test_slate_chunks_for_the_same_stretch_are_one_row(channel):
    for chunk in range(6):
        at = NOON + timedelta(seconds=10 * chunk)
        row = as_run.record_start(channel.pk, slate(channel, at, 10))
        as_run.record_stop(row, at + timedelta(seconds=10))
    logged = AsRunEntry.objects.get(channel=channel)
    assert (logged.actual_start, logged.actual_stop) == (NOON, NOON + timedelta(minutes=1))


def test_a_slate_after_a_failed_entry_gets_its_own_row(channel):
    first = as_run.record_start(channel.pk, slate(channel, NOON, 10, note="unplayable"))
    as_run.record_stop(first, NOON, error="unplayable: broken file")
    second = as_run.record_start(channel.pk, slate(channel, NOON, 10, note="unplayable"))
    as_run.record_stop(second, NOON + timedelta(seconds=10))
    rows = list(AsRunEntry.objects.filter(channel=channel).order_by("pk").values_list("error", "actual_stop"))
    assert rows == [("unplayable: broken file", NOON), ("unplayable", NOON + timedelta(seconds=10))]


def test_the_first_entry_of_a_run_closes_what_a_dead_worker_left_open(channel):
    orphan = AsRunEntry.objects.create(
        channel=channel, scheduled_start=NOON, scheduled_stop=NOON + timedelta(minutes=5),
        actual_start=NOON, origin="slate",
    )  # fmt: skip
    restart = NOON + timedelta(minutes=2)
    as_run.record_start(channel.pk, slate(channel, restart, 10))
    orphan.refresh_from_db()
    assert orphan.actual_stop == restart
    assert AsRunEntry.objects.filter(channel=channel, actual_stop__isnull=True).count() == 1


def test_a_database_error_never_reaches_the_stream(channel, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    logged = []
    monkeypatch.setattr(as_run.logger, "exception", lambda message, *args: logged.append(message % args))

    with monkeypatch.context() as patch:
        patch.setattr(AsRunEntry.objects, "create", broken)
        row = as_run.record_start(channel.pk, slate(channel, NOON, 10))
        assert row is None
        as_run.record_stop(row, NOON + timedelta(seconds=10))  # nothing to close, no error
    row = as_run.record_start(channel.pk, slate(channel, NOON, 10))
    monkeypatch.setattr(AsRunEntry.objects, "filter", broken)
    as_run.record_stop(row, NOON + timedelta(seconds=10))
    assert logged == [
        f"Channel {channel.pk}: could not write the as-run log",
        f"Channel {channel.pk}: could not close as-run entry {row.pk}",
    ]


def test_starting_and_stopping_a_piece_costs_a_few_queries(channel, django_assert_max_num_queries):
    item = item_for("/clips/x.mp4")
    piece = air(channel, NOON, item, 0, 60_000)
    entry = Entry(
        origin=AsRunEntry.Origin.PREGEN,
        airs_at=NOON,
        duration=timedelta(minutes=1),
        piece=piece,
        path=pregen.pregen_store() / "1" / "123.ts",
    )
    as_run.record_start(channel.pk, slate(channel, NOON - timedelta(seconds=10), 10))
    with django_assert_max_num_queries(3):  # INSERT, pregen UPDATE, then the stop's UPDATE
        row = as_run.record_start(channel.pk, entry)
        as_run.record_stop(row, piece.stop)
