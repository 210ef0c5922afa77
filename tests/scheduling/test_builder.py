"""The schedule builder: programs on the half hour, breaks at chapter marks, exact fills, determinism."""

import itertools
from datetime import UTC, datetime, time, timedelta

import pytest

from catalog.models import MediaFile
from scheduling.builder import build_channel, rebuild_from_safe_point, roll_forward
from scheduling.models import Piece, ProgramEntry, ScheduleTemplate, ScheduleWarning, TimeSlot
from tests.scheduling.station import MINUTE, channel_with_slot, movie, short_form_library, sitcom

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)


def build_day(channel, day=MONDAY, days=1):
    return build_channel(channel, day, day + timedelta(days=days), fine_until=day + timedelta(days=days))


def log(channel):
    return list(ProgramEntry.objects.filter(channel=channel).order_by("start"))


def pieces(program):
    return list(program.pieces.order_by("sequence"))


def test_programs_in_a_slot_start_on_its_half_hours_in_order():
    show, episodes = sitcom()
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[show])
    build_day(channel)
    in_slot = [row for row in log(channel) if row.slot_id]
    assert [row.start.strftime("%H:%M") for row in in_slot] == ["18:00", "18:30"]
    assert [row.playable_id for row in in_slot] == [episodes[0].pk, episodes[1].pk]
    assert all(row.stop - row.start == timedelta(minutes=30) for row in in_slot)
    assert in_slot[0].title == "Cheers" and in_slot[0].subtitle == "Cheers 1"


def test_logs_have_no_gaps_or_overlaps_and_pieces_add_up():
    show, _ = sitcom()
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[show])
    build_day(channel, days=2)
    rows = log(channel)
    assert rows[0].start == MONDAY and rows[-1].stop == MONDAY + timedelta(days=2)
    for earlier, later in itertools.pairwise(rows):
        assert earlier.stop == later.start
    for row in rows:
        parts = pieces(row)
        assert parts[0].start == row.start and parts[-1].stop == row.stop
        for earlier, later in itertools.pairwise(parts):
            assert earlier.stop == later.start
        assert sum(part.duration_ms for part in parts) == row.duration_ms
        for part in parts:
            assert (part.stop - part.start) == timedelta(milliseconds=part.duration_ms)


def test_breaks_fall_at_chapter_marks_framed_by_bumpers():
    show, episodes = sitcom(marks=(7, 15))
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[show])
    build_day(channel)
    first = next(row for row in log(channel) if row.slot_id)
    parts = pieces(first)
    content = [part for part in parts if part.kind == "content"]
    assert [(part.in_ms, part.out_ms) for part in content] == [
        (0, 7 * MINUTE), (7 * MINUTE, 15 * MINUTE), (15 * MINUTE, episodes[0].duration_ms)
    ]  # fmt: skip
    first_break = parts[1 : parts.index(content[1])]
    kinds = [part.kind for part in first_break]
    assert kinds[0] == "bumper" and kinds[-1] == "bumper" and "commercial" in kinds
    assert first_break[0].playable.title == "We'll be right back"
    assert first_break[-1].playable.title == "Now back to our show"


def test_marks_closer_than_the_spacing_make_one_break():
    show, _ = sitcom(marks=(7, 8, 9, 15))
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[show])
    build_day(channel)
    first = next(row for row in log(channel) if row.slot_id)
    cuts = [part.out_ms for part in pieces(first) if part.kind == "content"][:-1]
    assert cuts == [7 * MINUTE, 15 * MINUTE]


def test_items_without_marks_break_at_even_intervals():
    show, _ = sitcom(marks=())
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[show])
    build_day(channel)
    first = next(row for row in log(channel) if row.slot_id)
    assert len([part for part in pieces(first) if part.kind == "content"]) == 2


def test_no_company_repeats_within_a_break():
    show, _ = sitcom()
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[show])
    build_day(channel)
    for row in log(channel):
        current = []
        for part in [*pieces(row), None]:
            if part is None or part.kind != "commercial":
                companies = [ad.playable.commercial_company for ad in current]
                assert len(companies) == len(set(companies))
                current = []
            else:
                current.append(part)


def test_unavailable_items_are_never_scheduled():
    show, episodes = sitcom()
    short_form_library()
    MediaFile.objects.filter(playable=episodes[0]).update(state="unavailable")
    channel, _, _ = channel_with_slot(shows=[show])
    build_day(channel)
    assert not Piece.objects.filter(channel=channel, playable=episodes[0]).exists()
    assert not ProgramEntry.objects.filter(channel=channel, playable=episodes[0]).exists()


def test_the_same_inputs_build_the_same_logs():
    show, _ = sitcom()
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[show], order="shuffle")

    def snapshot():
        return [
            (p.start, p.stop, p.kind, p.playable_id, p.in_ms, p.out_ms)
            for p in Piece.objects.filter(channel=channel).order_by("start")
        ]

    build_day(channel, days=2)
    first = snapshot()
    build_day(channel, days=2)
    assert snapshot() == first


def test_in_order_continues_from_the_log_after_a_rebuild():
    show, episodes = sitcom(episodes=6)
    short_form_library()
    channel, _template, slot = channel_with_slot(shows=[show])
    now = MONDAY + timedelta(hours=18, minutes=10)
    build_channel(channel, MONDAY, MONDAY + timedelta(days=3), fine_until=MONDAY + timedelta(days=2))
    before = {row.start: row.playable_id for row in log(channel) if row.slot_id}
    slot.title = "Edited"
    slot.save()
    rebuild_from_safe_point(channel, now)
    after = {row.start: row.playable_id for row in log(channel) if row.slot_id}
    on_air = MONDAY + timedelta(hours=18)
    assert after[on_air] == before[on_air] == episodes[0].pk, "what is on air stays"
    assert [after[start] for start in sorted(after)][:5] == [e.pk for e in episodes[:5]]


def test_holiday_template_overrides_the_regular_week_in_its_dates():
    regular, _ = sitcom("Cheers")
    special, _specials = sitcom("Christmas Specials", episodes=3)
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[regular])
    holiday = ScheduleTemplate.objects.create(
        channel=channel, name="Holidays", priority=10, from_month_day="12-01", until_month_day="12-31"
    )
    december_slot = TimeSlot.objects.create(
        template=holiday, days=list(range(7)), start_time=time(18), end_time=time(18, 30)
    )
    december_slot.shows.set([special])
    build_day(channel, day=datetime(2026, 11, 30, tzinfo=UTC))  # builds replace everything after their start
    build_channel(channel, datetime(2026, 12, 7, tzinfo=UTC), datetime(2026, 12, 8, tzinfo=UTC))
    december = ProgramEntry.objects.get(channel=channel, start=datetime(2026, 12, 7, 18, tzinfo=UTC))
    november = ProgramEntry.objects.get(channel=channel, start=datetime(2026, 11, 30, 18, tzinfo=UTC))
    assert december.title == "Christmas Specials"
    assert november.title == "Cheers"
    assert (
        ProgramEntry.objects.get(channel=channel, start=datetime(2026, 12, 7, 18, 30, tzinfo=UTC)).title
        == "Cheers"
    )


def test_movies_round_up_to_the_next_half_hour():
    short_form_library()
    movies = [movie("Alien", 117), movie("Tron", 96)]
    channel, _, _ = channel_with_slot(
        number="5", content="movies", movies=movies, start=time(20), end=time(0)
    )
    build_day(channel)
    in_slot = [row for row in log(channel) if row.slot_id]
    assert [(row.start.strftime("%H:%M"), row.stop.strftime("%H:%M")) for row in in_slot] == [
        ("20:00", "22:00"),
        ("22:00", "00:00"),
    ]
    assert in_slot[0].category == "Movie"


def test_a_slot_nothing_fits_warns_and_airs_fallback():
    show, _ = sitcom(minutes=50)
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[show], start=time(18), end=time(18, 30))
    build_day(channel)
    assert ScheduleWarning.objects.filter(channel=channel).exists()
    six = MONDAY + timedelta(hours=18)
    at_six = ProgramEntry.objects.get(channel=channel, start__lte=six, stop__gt=six)
    assert at_six.category == "Filler"
    assert all(
        part.kind in ("filler", "interstitial", "slate", "commercial", "promo", "station_id")
        for part in pieces(at_six)
    )


def test_content_rating_limit_keeps_mature_shows_off():
    kids, _ = sitcom("DuckTales", rating="TV-Y7")
    mature, _ = sitcom("Miami Vice", rating="TV-14")
    short_form_library()
    channel, _, _ = channel_with_slot(number="7", shows=[kids, mature], content_rating_limit="TV-Y7")
    build_day(channel)
    assert set(
        ProgramEntry.objects.filter(channel=channel, slot__isnull=False).values_list("title", flat=True)
    ) == {"DuckTales"}


def test_sign_off_hours_air_a_test_pattern():
    show, _ = sitcom()
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[show], sign_off_at=time(2), sign_on_at=time(6))
    build_day(channel)
    off = ProgramEntry.objects.get(channel=channel, start=MONDAY + timedelta(hours=2))
    assert (off.category, off.stop) == ("Off air", MONDAY + timedelta(hours=6))
    assert [part.kind for part in pieces(off)] == ["test_pattern"]


def test_roll_forward_fills_seven_days_of_programs_and_two_of_pieces():
    show, _ = sitcom()
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[show])
    now = MONDAY + timedelta(hours=9, minutes=10)
    totals = roll_forward(now)
    rows = log(channel)
    assert rows[0].start == MONDAY + timedelta(hours=9)
    assert rows[-1].stop >= now + timedelta(days=7)
    last_piece = Piece.objects.filter(channel=channel).order_by("-stop").first()
    assert last_piece.stop >= now + timedelta(hours=48)
    assert totals["programs"] == len(rows)
    again = roll_forward(now + timedelta(minutes=30))
    assert again["pieces"] < totals["pieces"]


def test_a_break_rule_can_limit_commercials_to_categories():
    show, _ = sitcom()
    clips = short_form_library()
    toys = {clip.pk for clip in clips if clip.commercial_company in ("Mattel", "Hasbro")}
    from catalog.models import Playable

    Playable.objects.filter(pk__in=toys).update(category="toys")
    channel, _, _ = channel_with_slot(number="7", shows=[show])
    channel.break_rules.update(commercial_categories="Toys, games")
    build_day(channel)
    aired = set(
        Piece.objects.filter(channel=channel, kind="commercial").values_list("playable_id", flat=True)
    )
    assert aired and aired <= toys
