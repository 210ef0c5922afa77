"""Property tests: for random catalogs and templates, the logs tile time exactly and builds repeat."""

import itertools
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.models import ChapterMark
from scheduling.builder import build_channel
from scheduling.models import BreakRule, Channel, Piece, ProgramEntry, ScheduleTemplate, TimeSlot
from tests.factories import EpisodeFactory, FolderSourceFactory, ShortFormFactory, ShowFactory
from tests.scheduling.station import airable

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 23, 6, tzinfo=UTC)
END = START + timedelta(hours=36)

episode_lengths = st.lists(st.integers(min_value=60_000, max_value=95 * 60_000), min_size=1, max_size=6)
clip_lengths = st.lists(st.integers(min_value=3_000, max_value=240_000), min_size=0, max_size=8)
slot_shapes = st.lists(
    st.tuples(st.integers(0, 47), st.integers(1, 8), st.sampled_from(["in_order", "shuffle", "random"])),
    min_size=0,
    max_size=4,
)


class Rollback(Exception):
    pass


def make_station(shows, clips, slots, seed, marks):
    channel = Channel.objects.create(number="3", name="Prop", time_zone="UTC", seed=seed)
    BreakRule.objects.create(channel=channel, min_spacing_minutes=4, edge_minutes=2)
    made_shows = []
    for index, lengths in enumerate(shows):
        show = ShowFactory(title=f"Show {index}")
        for number, length in enumerate(lengths, start=1):
            episode = airable(
                EpisodeFactory(show=show, source=show.source, episode_number=number, duration_ms=length)
            )
            for mark in marks:
                if mark < length:
                    ChapterMark.objects.get_or_create(playable=episode, time_ms=mark, origin="plex")
        made_shows.append(show)
    source = FolderSourceFactory()
    kinds = ["commercial", "bumper", "station_id", "interstitial", "filler", "promo"]
    for index, length in enumerate(clips):
        airable(ShortFormFactory(source=source, kind=kinds[index % len(kinds)], duration_ms=length,
                                 commercial_company=f"Company {index % 3}"))  # fmt: skip
    template = ScheduleTemplate.objects.create(channel=channel, name="Week")
    for start_half_hour, halves, order in slots:
        end_half_hour = min(48, start_half_hour + halves)
        slot = TimeSlot.objects.create(
            template=template, days=list(range(7)), order=order,
            start_time=time(start_half_hour // 2, 30 * (start_half_hour % 2)),
            end_time=time(end_half_hour // 2 % 24, 30 * (end_half_hour % 2)),
        )  # fmt: skip
        slot.shows.set(made_shows)
    return channel


def logs(channel):
    programs = list(
        ProgramEntry.objects.filter(channel=channel)
        .order_by("start")
        .values_list("start", "stop", "playable_id")
    )
    pieces = list(
        Piece.objects.filter(channel=channel)
        .order_by("start")
        .values_list("program__start", "start", "stop", "kind", "playable_id", "in_ms", "out_ms")
    )
    return programs, pieces


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    shows=st.lists(episode_lengths, min_size=1, max_size=3),
    clips=clip_lengths,
    slots=slot_shapes,
    seed=st.integers(0, 10_000),
    marks=st.lists(st.integers(0, 60 * 60_000), max_size=5),
)
def test_logs_tile_time_exactly_and_the_build_is_deterministic(shows, clips, slots, seed, marks):
    try:
        with transaction.atomic():
            channel = make_station(shows, clips, slots, seed, marks)
            build_channel(channel, START, END, fine_until=END)
            first = logs(channel)
            build_channel(channel, START, END, fine_until=END)
            assert logs(channel) == first, "same inputs, same logs"
            programs, pieces = first
            assert programs[0][0] == START and programs[-1][1] == END
            for (_, stop, _), (start, _, _) in itertools.pairwise(programs):
                assert stop == start, "no gap or overlap between programs"
            assert pieces[0][1] == START and pieces[-1][2] == END
            for earlier, later in itertools.pairwise(pieces):
                assert earlier[2] == later[1], "no gap or overlap between pieces"
            for _program_start, start, stop, _, _, in_ms, out_ms in pieces:
                assert stop - start == timedelta(milliseconds=out_ms - in_ms) > timedelta(0)
            program_lengths = {start: stop - start for start, stop, _ in programs}
            per_program = {}
            for program_start, start, stop, *_ in pieces:
                per_program[program_start] = per_program.get(program_start, timedelta(0)) + (stop - start)
            assert per_program == program_lengths, "every program's pieces add up to it"
            for start, _stop, playable_id in programs:
                if playable_id is not None:
                    assert start.minute in (0, 30) and start.second == 0, "programs start on the half hour"
            raise Rollback
    except Rollback:
        pass
