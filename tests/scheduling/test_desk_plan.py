"""Hand-placed blocks over the templates (replace, ripple, cut at a break) and joining a slot in
progress, as the builder writes them into the program and break logs."""

import itertools
from datetime import UTC, datetime, time, timedelta

import pytest

from catalog.models import ChapterMark
from scheduling.builder import build_channel, roll_forward
from scheduling.models import DeskEntry, Piece, PreemptedProgram, ProgramEntry
from tests.factories import ShortFormFactory
from tests.scheduling.station import MINUTE, airable, channel_with_slot, movie, short_form_library, sitcom

pytestmark = pytest.mark.django_db

SATURDAY = datetime(2026, 11, 28, tzinfo=UTC)


def log(channel, since=None):
    rows = ProgramEntry.objects.filter(channel=channel).order_by("start")
    return list(rows.filter(start__gte=since) if since else rows)


def at(hour, minute=0, day=SATURDAY):
    return day + timedelta(hours=hour, minutes=minute)


def assert_contiguous(channel):
    rows = log(channel)
    for earlier, later in itertools.pairwise(rows):
        assert earlier.stop == later.start, f"gap or overlap at {earlier.stop}"
    for row in rows:
        parts = list(row.pieces.order_by("sequence"))
        if not parts:
            continue
        assert parts[0].start == row.start and parts[-1].stop == row.stop
        for earlier, later in itertools.pairwise(parts):
            assert earlier.stop == later.start


def with_marks(item, *minutes):
    for mark in minutes:
        ChapterMark.objects.create(playable=item, time_ms=mark * MINUTE, origin="plex")
    return item


def test_a_channel_starting_mid_slot_joins_the_slots_movie_in_progress_not_filler():
    short_form_library()
    films = [with_marks(movie(f"Feature {n}", 100 + n), 25, 50, 75) for n in range(3)]
    channel, _, _ = channel_with_slot(content="movies", movies=films, start=time(20), end=time(23))
    reference, _, _ = channel_with_slot(
        number="4", content="movies", movies=films, start=time(20), end=time(23)
    )
    build_channel(reference, at(0), at(24), fine_until=at(24))  # on the air all day

    roll_forward(at(21, 17), channels=[channel], program_days=1, fine_hours=3)  # started at 21:17

    first = log(channel)[0]
    assert first.start == at(21) and first.joined_from == at(20)
    assert first.playable_id is not None and first.category == "Movie"
    always_on = ProgramEntry.objects.get(channel=reference, start=at(20))
    assert first.playable_id == always_on.playable_id and first.stop == always_on.stop
    # Joined at the right position: from 21:00 on, its pieces are the always-on channel's.
    joined = [(p.start, p.kind, p.playable_id, p.in_ms, p.out_ms) for p in first.pieces.order_by("sequence")]
    full = [
        (max(p.start, at(21)), p.kind, p.playable_id, p.in_ms + max(0, int((at(21) - p.start).total_seconds() * 1000)), p.out_ms)
        for p in always_on.pieces.order_by("sequence")
        if p.stop > at(21)
    ]  # fmt: skip
    assert joined == full
    assert not channel.warnings.filter(at=at(21)).exists()
    assert_contiguous(channel)


def test_a_channel_starting_on_a_program_boundary_does_not_join_anything():
    show, _episodes = sitcom()
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[show], start=time(18), end=time(20))
    roll_forward(at(18, 40), channels=[channel], program_days=1, fine_hours=3)
    first = log(channel)[0]
    assert first.start == at(18, 30) and first.joined_from is None


def test_replace_cuts_the_program_on_air_at_its_last_break_and_joins_the_one_across_its_end():
    short_form_library()
    films = [with_marks(movie(f"Feature {n}", 100), 25, 50, 75) for n in range(4)]
    channel, _, _ = channel_with_slot(content="movies", movies=films, start=time(18), end=time(23, 30))
    special = movie("Holiday Special", 50)
    DeskEntry.objects.create(
        channel=channel, start=at(19, 30), stop=at(20, 30), item_ids=[special.pk], special=True
    )
    build_channel(channel, at(0), at(24), fine_until=at(24))

    before, placed, after = (
        ProgramEntry.objects.get(channel=channel, stop=at(19, 30)),
        ProgramEntry.objects.get(channel=channel, start=at(19, 30)),
        ProgramEntry.objects.get(channel=channel, start=at(20, 30)),
    )
    assert before.start == at(18) and before.content_ms == 75 * MINUTE  # cut at its break at 75 min
    content = before.pieces.filter(kind="content").order_by("sequence")
    assert content.last().out_ms == 75 * MINUTE
    assert placed.playable_id == special.pk and placed.special and not placed.is_rerun
    assert after.joined_from == at(20) and after.stop == at(22)  # the 20:00 movie, joined at 20:30
    assert_contiguous(channel)


def test_ripple_pushes_the_evening_and_the_template_takes_over_at_the_chosen_time():
    show, episodes = sitcom(episodes=12)
    short_form_library()
    channel, _, _slot = channel_with_slot(shows=[show], start=time(18), end=time(23))
    special = movie("Election Night", 55)
    DeskEntry.objects.create(channel=channel, start=at(19), stop=at(20), item_ids=[special.pk],
                             mode=DeskEntry.Mode.RIPPLE, resume_at=at(21))  # fmt: skip
    build_channel(channel, at(0), at(24), fine_until=at(24))

    evening = [(row.start.strftime("%H:%M"), row.title if row.playable_id == special.pk else row.subtitle)
               for row in log(channel) if at(18) <= row.start < at(22)]  # fmt: skip
    assert evening == [
        ("18:00", "Cheers 1"), ("18:30", "Cheers 2"), ("19:00", "Election Night (1985)"),
        ("20:00", "Cheers 3"), ("20:30", "Cheers 4"),  # pushed an hour
        ("21:00", "Cheers 7"), ("21:30", "Cheers 8"),  # the template's own plan again
    ]  # fmt: skip
    assert set(PreemptedProgram.objects.filter(channel=channel).values_list("playable_id", flat=True)) == {
        episodes[4].pk,
        episodes[5].pk,
    }
    assert_contiguous(channel)


def test_a_ripple_cuts_the_program_across_the_resume_time_at_its_last_break_or_ends_early():
    short_form_library()
    films = [with_marks(movie("Feature A", 100), 30, 60), movie("Feature B", 100)]  # B has no marks
    channel, _, _ = channel_with_slot(
        content="movies", movies=films, start=time(18), end=time(0), order="in_order"
    )
    special = movie("Gala", 25)
    DeskEntry.objects.create(channel=channel, start=at(18), stop=at(18, 30), item_ids=[special.pk],
                             mode=DeskEntry.Mode.RIPPLE, resume_at=at(20))  # fmt: skip
    build_channel(channel, at(0), at(24) + timedelta(days=1), fine_until=at(24))
    rows = {row.start: row for row in log(channel, at(18))}
    pushed = rows[at(18, 30)]
    assert pushed.stop == at(20) and pushed.content_ms == 60 * MINUTE  # cut at its 60-min break
    assert_contiguous(channel)

    # Over a film that fills its two hours (no room for a break) it ends early, where the film would begin.
    DeskEntry.objects.all().delete()
    films[0].chapter_marks.all().delete()
    films[0].duration_ms = 120 * MINUTE
    films[0].save()
    DeskEntry.objects.create(channel=channel, start=at(18), stop=at(18, 30), item_ids=[special.pk],
                             mode=DeskEntry.Mode.RIPPLE, resume_at=at(20))  # fmt: skip
    build_channel(channel, at(0), at(24) + timedelta(days=1), fine_until=at(24))
    rows = {row.start: row for row in log(channel, at(18))}
    assert rows[at(18, 30)].joined_from == at(18)  # the template's film, joined where it stands
    assert_contiguous(channel)


def test_a_channel_built_day_by_day_matches_one_built_in_one_pass_around_a_ripple():
    show, _ = sitcom(episodes=20)
    short_form_library()
    one_pass, _, _ = channel_with_slot(shows=[show], start=time(18), end=time(23))
    by_day, _, _ = channel_with_slot(number="4", shows=[show], start=time(18), end=time(23))
    special = movie("Gala", 55)
    for channel in (one_pass, by_day):
        DeskEntry.objects.create(channel=channel, start=at(19), stop=at(20), item_ids=[special.pk],
                                 mode=DeskEntry.Mode.RIPPLE, resume_at=at(23))  # fmt: skip
    build_channel(one_pass, at(0), at(48))
    build_channel(by_day, at(0), at(24))
    build_channel(by_day, at(24), at(48))

    def programs(channel):
        return [(row.start, row.stop, row.playable_id) for row in log(channel) if row.playable_id]

    assert programs(one_pass) == programs(by_day)


def test_a_special_airs_its_own_promos_in_the_days_before_and_not_after():
    show, _ = sitcom(episodes=60)
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[show], start=time(12), end=time(23))
    promo = airable(ShortFormFactory(kind="promo", title="Tonight at 8: the Gala", duration_ms=20_000,
                                     commercial_company=""))  # fmt: skip
    gala = movie("Gala", 55)
    DeskEntry.objects.create(channel=channel, start=at(20) + timedelta(days=1), stop=at(21) + timedelta(days=1),
                             item_ids=[gala.pk], special=True, promo_ids=[promo.pk])  # fmt: skip
    build_channel(channel, at(0), at(0) + timedelta(days=3), fine_until=at(0) + timedelta(days=3))

    aired = list(
        Piece.objects.filter(channel=channel, playable=promo)
        .order_by("start")
        .values_list("start", flat=True)
    )
    assert aired and all(moment < at(20) + timedelta(days=1) for moment in aired)
    # Not more than once within an hour.
    assert all((later - earlier) >= timedelta(hours=1) for earlier, later in itertools.pairwise(aired))
