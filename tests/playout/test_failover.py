"""Several playout machines: two supervisors as separate processes, each with its own data folder
and HLS root, share four channels through PostgreSQL and one pre-generation store. They spread the
channels evenly; `kill -9` of one puts its channels on the air again on the other within 15 s; a
SIGTERM drains one (hands its channels over, then exits) without a gap longer than two segments.
A client follows each channel to whichever machine airs it: the media sequence never goes back,
and a discontinuity marks the change of machine. No channel airs on two workers at once (the
as-run log). Real ffmpeg, real PostgreSQL."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings

from playout import as_run
from playout.feed import slate_file
from playout.models import ChannelRuntime
from scheduling.models import Channel
from tests.integration.celery_worker import database_url_for_subprocesses
from tests.playout.multi_supervisor import Follower, SupervisorRun, build_station, holders, wait_for
from tests.playout.test_channel_process import SEGMENT, clips, encoded, item_for, make_profile, ready  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

CHANNELS = 4
TAKEOVER_LIMIT = 15.0


def make_station(settings, tmp_path, clips, encoded, count: int, minutes: float = 4) -> dict:  # noqa: F811
    """`count` channels looping the pre-generated test clips, a shared pregen store and a slate."""
    settings.DATA_DIR = tmp_path / "test-process"
    settings.RETROVUE_PREGEN_ROOT = str(tmp_path / "shared-pregen")
    profile = make_profile()
    pieces = []
    for (clip, in_ms, out_ms), path in encoded.items():
        item = item_for(clips[clip])
        channel_for_profile = Channel(stream_profile=profile)
        ready(channel_for_profile, item, in_ms, out_ms, path)
        pieces.append((item, in_ms, out_ms))
    numbers = build_station(count, profile=profile, pieces=pieces, minutes=minutes)
    slates = tmp_path / "slates"
    slate_file(profile, directory=slates)
    return {"numbers": numbers, "slates": slates, "root": tmp_path}


@pytest.fixture
def station(settings, tmp_path, clips, encoded):  # noqa: F811
    return make_station(settings, tmp_path, clips, encoded, CHANNELS)


@pytest.fixture
def machines(station):
    started: list[SupervisorRun] = []

    def start(name: str) -> SupervisorRun:
        run = SupervisorRun(
            name,
            station["root"],
            database_url=database_url_for_subprocesses(),
            pregen_root=settings.RETROVUE_PREGEN_ROOT,
            slates=station["slates"],
            capacity=1.0,
        )
        started.append(run)
        return run

    yield start
    for run in started:
        run.clean_up()


def all_on_air(numbers: list[str]) -> bool:
    return ChannelRuntime.objects.filter(channel__number__in=numbers, state="on_air").count() == len(numbers)


def spread_evenly(names: list[str], numbers: list[str]):
    held = holders()
    counts = [len(held.get(name, [])) for name in names]
    return held if sum(counts) == len(numbers) and max(counts) - min(counts) <= 1 else None


def no_channel_on_two_workers(numbers: list[str]) -> list:
    # A handover cuts the log back to the last published segment and the next worker resumes
    # there, on a keyframe of the same grid: any overlap beyond rounding is double airing.
    tolerance = timedelta(seconds=SEGMENT / 2)
    return [
        " vs ".join(
            f"{row.channel.number} {row.worker} {row.actual_start:%H:%M:%S.%f}–"
            f"{f'{row.actual_stop:%H:%M:%S.%f}' if row.actual_stop else 'open'} {row.origin}"
            for row in pair
        )
        for pk in Channel.objects.filter(number__in=numbers).values_list("pk", flat=True)
        for pair in as_run.overlaps(pk, tolerance)
    ]


def as_run_log(numbers: list[str]) -> str:
    from playout.models import AsRunEntry

    rows = AsRunEntry.objects.filter(channel__number__in=numbers).order_by("channel__number", "actual_start")
    return "\n".join(
        f"{row.channel.number} {row.worker} {row.actual_start:%H:%M:%S.%f}–"
        f"{f'{row.actual_stop:%H:%M:%S.%f}' if row.actual_stop else 'open'} {row.origin}"
        for row in rows.select_related("channel")
    )


def start_two_and_spread(machines, numbers):
    first, second = machines("box-a"), machines("box-b")
    held = wait_for(
        lambda: all_on_air(numbers) and spread_evenly(["box-a", "box-b"], numbers),
        timeout=90,
        describe=f"both boxes to air two channels each\n{first.log()}\n{second.log()}",
    )
    return first, second, held


def test_a_killed_machines_channels_air_again_on_the_other_within_15_s(station, machines):
    numbers = station["numbers"]
    first, second, held = start_two_and_spread(machines, numbers)
    follower = Follower({number: SEGMENT for number in numbers})
    follower.start()
    try:
        wait_for(
            lambda: all(len(trail.arrivals) >= 3 for trail in follower.trails.values()),
            timeout=30,
            describe="the client to see every channel move on",
        )
        moved = held["box-a"]
        killed_at = time.monotonic()
        first.kill()
        wait_for(
            lambda: all(
                follower.trails[number].first_arrival_after(killed_at, second.hls.as_uri())
                for number in moved
            ),
            timeout=TAKEOVER_LIMIT + 5,
            describe=f"box-b to air box-a's channels\n{second.log()}",
        )
        takeover = {
            number: follower.trails[number].first_arrival_after(killed_at, second.hls.as_uri()) - killed_at
            for number in moved
        }
        wait_for(lambda: all(len(t.arrivals) >= 2 + 3 for t in follower.trails.values()), timeout=20)
    finally:
        follower.stop()
    assert max(takeover.values()) <= TAKEOVER_LIMIT, takeover
    assert set(holders()) == {"box-b"}
    errors = [error for trail in follower.trails.values() for error in trail.errors]
    assert errors == []
    # Every moved channel was seen on both machines, in that order, by the same client.
    for number in moved:
        origins = [sighting.origin for sighting in follower.trails[number].sightings]
        assert origins[0] == first.hls.as_uri() and origins[-1] == second.hls.as_uri()
    assert no_channel_on_two_workers(numbers) == [], as_run_log(numbers)


def test_sigterm_drains_a_machine_without_a_gap_longer_than_two_segments(station, machines):
    numbers = station["numbers"]
    first, second, held = start_two_and_spread(machines, numbers)
    follower = Follower({number: SEGMENT for number in numbers})
    follower.start()
    try:
        wait_for(
            lambda: all(len(trail.arrivals) >= 3 for trail in follower.trails.values()),
            timeout=30,
            describe="the client to see every channel move on",
        )
        moved = held["box-a"]
        asked_at = time.monotonic()
        assert first.terminate(timeout=30) == 0, first.log()
        wait_for(
            lambda: all(
                len([a for a in follower.trails[number].arrivals if a[0] > asked_at]) >= 4 for number in moved
            ),
            timeout=30,
            describe=f"box-b to air box-a's channels\n{second.log()}",
        )
        until = time.monotonic()
    finally:
        follower.stop()
    assert set(holders()) == {"box-b"}
    assert [error for trail in follower.trails.values() for error in trail.errors] == []
    for number in moved:
        trail = follower.trails[number]
        # Segments keep coming every target duration; the handover may hold one back by at most
        # two segments more.
        assert trail.longest_wait(asked_at - SEGMENT, until) <= 3 * SEGMENT, trail.arrivals
        # The schedule continues where box-a's last segment ended: nothing repeated, and at most
        # the one segment box-a published as it stopped is one this client did not see.
        last_a = [s for s in trail.sightings if s.origin == first.hls.as_uri()][-1]
        first_b = next(s for s in trail.sightings if s.origin == second.hls.as_uri())
        resumed = (first_b.oldest_starts_at - last_a.newest_ends_at).total_seconds()
        assert -0.1 <= resumed <= SEGMENT + 0.1, (last_a, first_b)
    assert no_channel_on_two_workers(numbers) == [], as_run_log(numbers)
