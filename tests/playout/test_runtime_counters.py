"""The supervisor's one-statement write of many channels' runtime counters (playout.runtime_counters)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playout import runtime_counters
from playout.models import ChannelRuntime, RuntimeState
from playout.runtime_counters import write_counters
from tests.playout.test_channel_process import make_channel


def runtime(number: str, owner: str, **values) -> ChannelRuntime:
    row, _ = ChannelRuntime.objects.get_or_create(channel=make_channel(number))
    ChannelRuntime.objects.filter(pk=row.pk).update(lease_owner=owner, **values)
    return ChannelRuntime.objects.get(pk=row.pk)


def test_each_row_gets_its_own_values_and_keeps_the_columns_it_does_not_name(db):
    at = datetime(2026, 12, 5, 14, 0, 0, 123456, tzinfo=UTC)
    a = runtime("2", "box-a", media_sequence=3, tail_discontinuity=1, resume_at=at)
    b = runtime("3", "box-a", media_sequence=9, state=RuntimeState.STARTING)

    updated = write_counters(
        "box-a",
        {
            a.pk: {"media_sequence": 40, "resume_at": at + timedelta(seconds=2), "last_segment_at": at},
            b.pk: {"media_sequence": 12, "resume_at": None, "state": RuntimeState.ON_AIR},
        },
    )

    assert updated == 2
    a, b = ChannelRuntime.objects.get(pk=a.pk), ChannelRuntime.objects.get(pk=b.pk)
    assert (a.media_sequence, a.tail_discontinuity, a.state) == (40, 1, RuntimeState.STOPPED)
    assert a.resume_at == at + timedelta(seconds=2) and a.last_segment_at == at  # microseconds kept
    assert (b.media_sequence, b.resume_at, b.last_segment_at, b.state) == (
        12,
        None,
        None,
        RuntimeState.ON_AIR,
    )


def test_a_row_another_worker_holds_is_left_alone(db):
    ours, taken = runtime("2", "box-a"), runtime("3", "box-b", media_sequence=7)

    updated = write_counters("box-a", {ours.pk: {"media_sequence": 5}, taken.pk: {"media_sequence": 99}})

    assert updated == 1
    assert ChannelRuntime.objects.get(pk=ours.pk).media_sequence == 5
    assert ChannelRuntime.objects.get(pk=taken.pk).media_sequence == 7


def test_more_rows_than_one_statement_takes_are_all_written(db, monkeypatch):
    monkeypatch.setattr(runtime_counters, "BATCH_ROWS", 2)
    rows = [runtime(str(number), "box-a") for number in range(2, 7)]

    updated = write_counters("box-a", {row.pk: {"media_sequence": row.pk * 10} for row in rows})

    assert updated == 5
    assert all(ChannelRuntime.objects.get(pk=row.pk).media_sequence == row.pk * 10 for row in rows)


def test_nothing_to_write_runs_no_statement(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert write_counters("box-a", {}) == 0
