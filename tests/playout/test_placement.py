"""Sharing channels among playout workers by CPU share: the cost of a channel (copy vs live
transcode), each worker's fair share, claiming up to it, handing channels over to even out, and
the as-run check that finds a channel aired on two workers at once. In-process supervisors, no
ffmpeg (their channel processes are never started here)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from playout import as_run, placement
from playout.channel_process import ChannelProcess
from playout.models import AsRunEntry, ChannelRuntime, PlayoutWorker
from playout.supervisor import Supervisor
from scheduling.models import Channel, StreamProfile


@pytest.fixture
def profile(db) -> StreamProfile:
    return StreamProfile.objects.create(
        name="SD", width=640, height=480, frame_rate=Decimal("29.97"), segment_seconds=2
    )


@pytest.fixture
def quiet_processes(monkeypatch):
    """Channel processes that never start ffmpeg: these tests are about leases and shares."""
    monkeypatch.setattr(ChannelProcess, "stop", lambda self, kill=False: None)
    monkeypatch.setattr(Supervisor, "check_channel", lambda self, slot: None)


def channels(profile, count: int) -> list[Channel]:
    return [
        Channel.objects.create(number=str(10 + n), name=f"Ch {n}", time_zone="UTC", stream_profile=profile)
        for n in range(count)
    ]


def supervisor(name: str, capacity: float, **options) -> Supervisor:
    made = Supervisor(worker_id=name, capacity=capacity, **options)
    return made


def on_air(*supervisors: Supervisor) -> None:
    """Their channels aired a first segment (only channels on the air are moved to even out)."""
    for made in supervisors:
        for slot in made.slots.values():
            slot.on_air = True


def stop_all(*supervisors: Supervisor) -> None:
    for made in supervisors:
        made.server.stop()


def test_a_channel_without_pregen_ahead_costs_a_live_transcode_by_pixel_rate(profile, settings):
    settings.RETROVUE_PLAYOUT_COPY_COST = 0.01
    settings.RETROVUE_PLAYOUT_TRANSCODE_COST = 0.05
    hd = StreamProfile.objects.create(name="HD", width=1280, height=720, frame_rate=Decimal("30"))
    sd_channel, hd_channel = (
        channels(profile, 1)[0],
        Channel.objects.create(number="50", name="HD", time_zone="UTC", stream_profile=hd),
    )
    costs = placement.channel_costs([sd_channel, hd_channel], timezone.now())
    # Nothing is pre-generated: both would transcode live, HD three times the pixels of SD.
    assert costs[sd_channel.pk] == pytest.approx(640 * 480 * 29.97 / 1e6 * 0.05, rel=1e-3)
    assert costs[hd_channel.pk] == pytest.approx(1280 * 720 * 30 / 1e6 * 0.05, rel=1e-3)
    assert costs[hd_channel.pk] > 2.9 * costs[sd_channel.pk]


def test_a_channel_pregenerated_ahead_costs_a_stream_copy(profile, settings, monkeypatch):
    settings.RETROVUE_PLAYOUT_COPY_COST = 0.02
    channel = channels(profile, 1)[0]
    monkeypatch.setattr(
        "playout.pregen.coverage_by_channel",
        lambda now, within, channel_ids: dict.fromkeys(channel_ids, placement.COVERAGE_WINDOW),
    )
    assert placement.channel_costs([channel], timezone.now()) == {channel.pk: 0.02}


def test_fair_share_follows_capacity_and_never_passes_it():
    assert placement.fair_share(2.0, 3.0, 1.5) == pytest.approx(1.0)
    assert placement.fair_share(1.0, 3.0, 1.5) == pytest.approx(0.5)
    assert placement.fair_share(1.0, 1.0, 5.0) == 1.0  # alone and over-subscribed: its capacity
    assert placement.fair_share(1.0, 0.0, 5.0) == 0.0


def test_two_workers_claim_half_the_channels_each(profile, quiet_processes):
    channels(profile, 6)
    first, second = supervisor("box-a", 1.5), supervisor("box-b", 1.5)
    try:
        first.beat()
        second.beat()
        first.claim_channels()
        second.claim_channels()
        assert len(first.slots) == 3 and len(second.slots) == 3
        assert ChannelRuntime.objects.filter(lease_owner="box-a").count() == 3
    finally:
        stop_all(first, second)


def test_a_worker_with_twice_the_capacity_takes_twice_the_load(profile, quiet_processes, settings):
    settings.RETROVUE_PLAYOUT_TRANSCODE_COST = 0.05  # each SD channel ~0.46 core
    channels(profile, 6)
    big, small = supervisor("big", 4.0), supervisor("small", 2.0)
    try:
        big.beat()
        small.beat()
        big.claim_channels()
        small.claim_channels()
        assert (len(big.slots), len(small.slots)) == (4, 2)
    finally:
        stop_all(big, small)


def test_a_worker_never_takes_more_than_its_capacity(profile, quiet_processes, settings):
    settings.RETROVUE_PLAYOUT_TRANSCODE_COST = 0.05  # each SD channel ~0.46 core: two fit in 1.0
    channels(profile, 5)
    alone = supervisor("box-a", 1.0)
    try:
        alone.claim_channels()
        assert len(alone.slots) == 2
        assert alone.load <= 1.0
    finally:
        stop_all(alone)


def test_a_worker_that_took_everything_hands_a_joining_worker_its_share(profile, quiet_processes):
    channels(profile, 6)
    first = supervisor("box-a", 3.0)
    second = supervisor("box-b", 3.0)
    try:
        first.beat()
        first.claim_channels()
        assert len(first.slots) == 6  # alone: everything
        on_air(first)
        second.beat()
        first.beat()
        first.rebalance()
        second.adopt_handed_over()
        assert (len(first.slots), len(second.slots)) == (3, 3)
        assert ChannelRuntime.objects.filter(lease_owner="box-b").count() == 3
        on_air(first, second)
        first.beat()
        second.beat()
        first.rebalance()
        second.rebalance()  # even: nothing moves back
        assert (len(first.slots), len(second.slots)) == (3, 3)
    finally:
        stop_all(first, second)


def test_a_channel_still_starting_is_not_moved_to_even_out(profile, quiet_processes):
    channels(profile, 4)
    first, second = supervisor("box-a", 3.0), supervisor("box-b", 3.0)
    try:
        first.claim_channels()
        second.beat()
        first.rebalance()
        assert len(first.slots) == 4 and not ChannelRuntime.objects.filter(lease_owner="box-b").exists()
    finally:
        stop_all(first, second)


def test_a_stale_or_draining_worker_does_not_count_as_a_peer(profile):
    now = timezone.now()
    PlayoutWorker.objects.create(worker_id="live", capacity=1, last_seen_at=now)
    PlayoutWorker.objects.create(worker_id="dead", capacity=1, last_seen_at=now - timedelta(seconds=60))
    PlayoutWorker.objects.create(worker_id="leaving", capacity=1, last_seen_at=now, draining=True)
    peers = placement.live_peers("me", now, timedelta(seconds=8))
    assert [peer.worker_id for peer in peers] == ["live"]


def test_the_front_door_finds_the_origin_of_the_worker_holding_the_lease(profile):
    channel = channels(profile, 1)[0]
    now = timezone.now()
    PlayoutWorker.objects.create(worker_id="box-b", capacity=1, origin="http://box-b:8080/hls")
    ChannelRuntime.objects.create(
        channel=channel, lease_owner="box-b", lease_expires_at=now + timedelta(seconds=5)
    )
    assert placement.origin_for(channel.number, now) == "http://box-b:8080/hls"
    ChannelRuntime.objects.filter(channel=channel).update(lease_expires_at=now - timedelta(seconds=1))
    assert placement.origin_for(channel.number, now) is None


BASE = timezone.now().replace(microsecond=0)


def _row(channel, worker, start, stop, *, base=BASE):
    return AsRunEntry.objects.create(
        channel=channel,
        scheduled_start=base + timedelta(seconds=start),
        scheduled_stop=base + timedelta(seconds=stop if stop is not None else start + 10),
        actual_start=base + timedelta(seconds=start),
        actual_stop=None if stop is None else base + timedelta(seconds=stop),
        origin="pregen",
        worker=worker,
    )


def test_the_as_run_check_finds_a_channel_aired_on_two_workers_at_once(profile):
    channel = channels(profile, 1)[0]
    _row(channel, "box-a", 0, 10)
    _row(channel, "box-a", 10, 20)
    _row(channel, "box-b", 21, 30)  # a clean takeover
    assert as_run.overlaps(channel.pk) == []
    _row(channel, "box-a", 25, 40)  # box-a still airing after box-b took over
    found = as_run.overlaps(channel.pk)
    assert [(a.worker, b.worker) for a, b in found] == [("box-b", "box-a")]


def test_a_handover_overlap_within_the_tolerance_is_not_double_airing(profile):
    channel = channels(profile, 1)[0]
    _row(channel, "box-a", 0, 12)
    _row(channel, "box-b", 8, 20)
    assert as_run.overlaps(channel.pk, timedelta(seconds=8)) == []
    assert len(as_run.overlaps(channel.pk, timedelta(seconds=2))) == 1


def test_an_open_row_airs_until_its_worker_logs_the_next(profile):
    channel = channels(profile, 1)[0]
    _row(channel, "box-a", 0, None)  # box-a died mid-piece…
    _row(channel, "box-b", 5, 15)  # …box-b took over: no later box-a row, so box-a still "airs"
    assert len(as_run.overlaps(channel.pk)) == 1
    AsRunEntry.objects.filter(worker="box-a").update(actual_stop=BASE + timedelta(seconds=5))
    assert as_run.overlaps(channel.pk) == []


def test_a_handoff_cuts_this_workers_log_back_to_the_last_published_segment(profile, monkeypatch):
    channel = channels(profile, 1)[0]
    monkeypatch.setattr(as_run, "worker_id", "box-a")
    _row(channel, "box-a", 0, 10)
    airing = _row(channel, "box-a", 10, None)  # the feed is still sending this entry
    _row(channel, "box-b", 0, 6)  # another worker's rows are not touched
    as_run._last[channel.pk] = as_run.AsRunRow(
        pk=airing.pk, channel_id=channel.pk, origin="pregen", piece_id=None, note=""
    )
    published_until = BASE + timedelta(seconds=14)
    as_run.hand_off(channel.pk, published_until, wait_seconds=0)
    assert channel.pk not in as_run._last
    airing.refresh_from_db()
    assert airing.actual_stop == published_until
    # The feed's thread winds down after the handoff and logs the end of what it had sent: the
    # row still ends where the last published segment did.
    row = as_run.AsRunRow(pk=airing.pk, channel_id=channel.pk, origin="pregen", piece_id=None, note="",
                          cut_at=published_until)  # fmt: skip
    as_run.record_stop(row, BASE + timedelta(seconds=20))
    airing.refresh_from_db()
    assert airing.actual_stop == published_until
    assert AsRunEntry.objects.get(worker="box-b").actual_stop == BASE + timedelta(seconds=6)


def test_a_handoff_drops_rows_that_started_after_the_last_published_segment(profile, monkeypatch):
    channel = channels(profile, 1)[0]
    monkeypatch.setattr(as_run, "worker_id", "box-a")
    _row(channel, "box-a", 0, 10)
    _row(channel, "box-a", 10, None)  # began in the lead, never published
    as_run.hand_off(channel.pk, BASE + timedelta(seconds=9), wait_seconds=0)
    rows = list(AsRunEntry.objects.filter(channel=channel).values_list("actual_start", "actual_stop"))
    assert rows == [(BASE, BASE + timedelta(seconds=9))]


def test_three_workers_even_out_to_within_one_channel_whoever_started_first(profile, quiet_processes):
    channels(profile, 7)
    first, second, third = supervisor("box-a", 8.0), supervisor("box-b", 8.0), supervisor("box-c", 8.0)
    try:
        first.beat()
        first.claim_channels()
        assert len(first.slots) == 7
        on_air(first)
        for made in (second, third, first):
            made.beat()
        first.rebalance()
        second.adopt_handed_over()
        third.adopt_handed_over()
        counts = sorted(len(made.slots) for made in (first, second, third))
        assert counts == [2, 2, 3]
        on_air(first, second, third)
        for made in (first, second, third):
            made.beat()
        for made in (first, second, third):
            made.rebalance()  # even already: nothing moves
        assert sorted(len(made.slots) for made in (first, second, third)) == [2, 2, 3]
    finally:
        stop_all(first, second, third)


def test_a_short_row_inside_another_workers_row_overlaps_by_its_own_length(profile):
    channel = channels(profile, 1)[0]
    _row(channel, "box-b", 10, 20)
    AsRunEntry.objects.create(
        channel=channel, scheduled_start=BASE, scheduled_stop=BASE, origin="pregen", worker="box-a",
        actual_start=BASE + timedelta(seconds=10), actual_stop=BASE + timedelta(seconds=10, milliseconds=20),
    )  # fmt: skip
    assert as_run.overlaps(channel.pk, timedelta(seconds=1)) == []
    assert len(as_run.overlaps(channel.pk, timedelta(0))) == 1


def test_an_entry_the_feed_starts_after_the_handoff_is_not_logged(profile, monkeypatch):
    from playout.planner import Entry

    channel = channels(profile, 1)[0]
    monkeypatch.setattr(as_run, "worker_id", "box-a")
    monkeypatch.setattr(as_run, "_handed", {})
    as_run.hand_off(channel.pk, BASE + timedelta(seconds=10), wait_seconds=0)
    late = Entry(origin="slate", airs_at=BASE + timedelta(seconds=10), duration=timedelta(seconds=4))
    assert as_run.record_start(channel.pk, late) is None
    assert not AsRunEntry.objects.filter(channel=channel).exists()
    as_run.take_back(channel.pk)  # the channel comes back here: logged again
    assert as_run.record_start(channel.pk, late) is not None


def test_a_takeover_cuts_a_killed_workers_log_back_to_where_its_last_playlist_ended(profile, monkeypatch):
    # box-a was killed: its feed had sent ffmpeg an entry ahead of the clock, and one more had
    # begun, but viewers only got segments up to `published_until` (the shared row's resume_at).
    channel = channels(profile, 1)[0]
    start = timezone.now().replace(microsecond=0) - timedelta(seconds=30)
    monkeypatch.setattr(as_run, "worker_id", "box-b")
    _row(channel, "box-a", 0, 20, base=start)
    _row(channel, "box-a", 20, 26, base=start)  # ran past the last published segment
    _row(channel, "box-a", 26, None, base=start)  # began in the lead, never published
    published_until = start + timedelta(seconds=23)
    as_run.take_over(channel.pk, published_until)
    rows = list(
        AsRunEntry.objects.filter(channel=channel).order_by("actual_start").values_list("actual_stop")
    )
    assert rows == [(start + timedelta(seconds=20),), (published_until,)]
    _row(channel, "box-b", 23, 30, base=start)  # box-b resumes there
    assert as_run.overlaps(channel.pk) == []


def test_a_takeover_of_a_channel_off_the_air_for_long_leaves_the_log_alone(profile, monkeypatch):
    channel = channels(profile, 1)[0]
    monkeypatch.setattr(as_run, "worker_id", "box-b")
    long_ago = timezone.now() - timedelta(days=1)
    _row(channel, "box-a", 0, 20, base=long_ago)
    _row(channel, "box-c", 30, 40, base=long_ago)
    as_run.take_over(channel.pk, long_ago + timedelta(seconds=10))
    assert AsRunEntry.objects.filter(channel=channel).count() == 2
    assert AsRunEntry.objects.get(worker="box-a").actual_stop == long_ago + timedelta(seconds=20)
