"""After an emergency alert, a channel set to resume the interrupted program does so from the very
point it was cut, and the rest of the day ripples later as a desk special's does; the log (and so
XMLTV) stays without gap or overlap, and later rebuilds keep it."""

import itertools
from datetime import UTC, datetime, time, timedelta

import pytest

from scheduling.builder import build_channel
from scheduling.choices import PieceKind
from scheduling.models import DeskEntry, Piece, ProgramEntry
from scheduling.resume import resume_after_interruption
from scheduling.xmltv import render_xmltv
from tests.scheduling.station import channel_with_slot, short_form_library, sitcom
from tests.scheduling.test_xmltv import assert_contiguous as assert_guide_contiguous
from tests.scheduling.test_xmltv import parse, validate_with_xmltv_tools

pytestmark = pytest.mark.django_db

SATURDAY = datetime(2026, 11, 28, tzinfo=UTC)
ALERT = timedelta(minutes=3, seconds=20)


def at(hour, minute=0, second=0):
    return SATURDAY + timedelta(hours=hour, minutes=minute, seconds=second)


def log(channel, since=None):
    rows = ProgramEntry.objects.filter(channel=channel).order_by("start")
    return list(rows.filter(start__gte=since) if since else rows)


def assert_contiguous(channel):
    rows = log(channel)
    for earlier, later in itertools.pairwise(rows):
        assert earlier.stop == later.start, f"gap or overlap at {earlier.stop}"
    for row in rows:
        parts = list(row.pieces.order_by("sequence"))
        if parts:
            assert parts[0].start == row.start and parts[-1].stop == row.stop, row
            for earlier, later in itertools.pairwise(parts):
                assert earlier.stop == later.start, row


@pytest.fixture
def evening():
    show, _ = sitcom(episodes=14)
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[show], start=time(18), end=time(23))
    build_channel(channel, at(0), at(48), fine_until=at(48))
    return channel


def _content_piece_at(channel, moment) -> Piece:
    return Piece.objects.get(channel=channel, start__lte=moment, stop__gt=moment, kind=PieceKind.CONTENT)


def test_the_interrupted_program_resumes_where_it_was_cut_and_the_day_ripples(evening):
    channel = evening
    before = {row.start: row for row in log(channel)}
    cut_program = ProgramEntry.objects.get(channel=channel, start=at(18, 30))
    content = cut_program.pieces.filter(kind=PieceKind.CONTENT).order_by("start").first()
    interrupted = content.start + timedelta(minutes=2, milliseconds=500)
    returned = interrupted + ALERT
    cut_at_ms = content.in_ms + 120_500  # where in the episode the alert cut in

    resumed = resume_after_interruption(
        channel, interrupted, returned, title="Emergency alert: Tornado warning", description="Take shelter."
    )

    assert resumed.pushed == ALERT and resumed.ripple_ends == at(24)
    assert resumed.resumes_from_ms == (interrupted - at(18, 30)).total_seconds() * 1000
    assert resumed.entry.kind == DeskEntry.Kind.INTERRUPTION and resumed.entry.mode == DeskEntry.Mode.RIPPLE
    aired, alert, rest = log(channel, at(18, 30))[:3]
    # What aired before the cut stays as it aired.
    assert (aired.start, aired.stop, aired.playable_id) == (at(18, 30), interrupted, cut_program.playable_id)
    assert aired.pieces.filter(start=content.start, in_ms=content.in_ms).exists()
    # The alert itself is in the log (and so the guide) for its time.
    assert (alert.start, alert.stop, alert.title) == (
        interrupted,
        returned,
        "Emergency alert: Tornado warning",
    )
    # The rest of the episode airs from the frame it was cut at.
    assert (rest.start, rest.playable_id, rest.joined_from) == (
        returned,
        cut_program.playable_id,
        at(18, 30) + ALERT,
    )
    assert rest.stop == at(19) + ALERT
    first = rest.pieces.order_by("sequence").first()
    assert (first.kind, first.playable_id, first.start, first.in_ms) == (
        PieceKind.CONTENT,
        cut_program.playable_id,
        returned,
        cut_at_ms,
    )
    # Everything after is pushed by the alert's length until the ripple ends at midnight.
    for original in (at(19), at(20, 30), at(22, 30)):
        moved = ProgramEntry.objects.get(channel=channel, start=original + ALERT)
        assert moved.playable_id == before[original].playable_id
    # The next day is the templates' plan again, its programs untouched (filler running across
    # midnight is joined there, where the ripple ends).
    assert [(row.start, row.playable_id) for row in log(channel, at(24)) if row.playable_id] == [
        (start, row.playable_id) for start, row in before.items() if start >= at(24) and row.playable_id
    ]
    assert_contiguous(channel)


def test_the_guide_follows_the_resumed_day_without_gap_or_overlap(evening, tmp_path):
    channel = evening
    interrupted = at(20, 41, 10)
    resume_after_interruption(channel, interrupted, interrupted + ALERT, title="Emergency alert: Flood")

    document = render_xmltv([channel], at(18), at(26), "http://tv.example.com")

    assert validate_with_xmltv_tools(document, tmp_path) == "Validated ok."
    tree = parse(document)
    assert_guide_contiguous(tree, at(18), at(26))
    titles = [element.findtext("title") for element in tree.iter("programme")]
    assert "Emergency alert: Flood" in titles


def test_a_later_rebuild_keeps_the_resumed_program_and_the_ripple(evening):
    channel = evening
    interrupted = at(19, 12)
    resume_after_interruption(channel, interrupted, interrupted + ALERT, title="Emergency alert")
    after = [(row.start, row.stop, row.playable_id, row.title) for row in log(channel, at(20))]

    build_channel(channel, at(20) + ALERT, at(48), fine_until=at(30))

    assert [(row.start, row.stop, row.playable_id, row.title) for row in log(channel, at(20))] == after
    assert_contiguous(channel)


def test_an_interruption_between_programs_pushes_the_next_one_whole(evening):
    channel = evening
    next_program = ProgramEntry.objects.get(channel=channel, start=at(21))

    resumed = resume_after_interruption(channel, at(21), at(21) + ALERT, title="Emergency alert")

    assert resumed.program is None
    moved = ProgramEntry.objects.get(channel=channel, start=at(21) + ALERT)
    assert moved.playable_id == next_program.playable_id and moved.joined_from is None
    assert_contiguous(channel)
