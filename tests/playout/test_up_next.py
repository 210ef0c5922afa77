""" "Up next" lower thirds: pieces airing in the last minute before a program carry the next
program's title, burned in at pre-generation; pieces before that minute don't."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings

from catalog.models import MediaFile
from playout import pregen
from playout.models import PregenStatus
from playout.up_next import UP_NEXT_LEAD, UpNext, up_next
from retrovue.subprocesses import run_command
from scheduling.choices import ProgramCategory
from scheduling.models import Channel, Piece, ProgramEntry, StreamProfile
from tests.factories import EpisodeFactory

NOW = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
NEXT = NOW + timedelta(minutes=30)
SECONDS = 4


def ffmpeg_output(*arguments: str) -> bytes:
    argv = [settings.RETROVUE_FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *arguments]
    return run_command(argv, timeout=60).stdout


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("up-next") / "gray.mp4"
    ffmpeg_output(
        "-f", "lavfi", "-i", f"color=c=gray:s=320x240:rate=25:duration={SECONDS}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={SECONDS}",
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(path),
    )  # fmt: skip
    return path


@pytest.fixture(autouse=True)
def store(settings, tmp_path):
    settings.RETROVUE_PREGEN_ROOT = str(tmp_path / "pregen")
    settings.RETROVUE_PREGEN_PRESET = "ultrafast"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "pregen"


@pytest.fixture
def channel(db):
    profile = StreamProfile.objects.create(
        name="Test 320×240", width=320, height=240, frame_rate=Decimal("25"),
        video_bitrate_kbps=400, audio_bitrate_kbps=96, segment_seconds=2,
    )  # fmt: skip
    return Channel.objects.create(number="3", name="Channel 3", time_zone="UTC", stream_profile=profile)


def evening(channel, clip, *, next_category: str = "sitcom"):
    """A program to NEXT whose clip airs once early and once in its last seconds, then the next one."""
    item = EpisodeFactory(duration_ms=SECONDS * 1000)
    MediaFile.objects.create(
        playable=item, position=0, local_path=str(clip), state="normal", duration_ms=SECONDS * 1000
    )
    program = ProgramEntry.objects.create(channel=channel, start=NOW, stop=NEXT, title="Cheers")
    ProgramEntry.objects.create(
        channel=channel,
        start=NEXT,
        stop=NEXT + timedelta(minutes=30),
        title="Maple Street",
        category=next_category,
    )
    early, late = (
        Piece.objects.create(
            channel=channel,
            program=program,
            sequence=sequence,
            start=start,
            stop=start + timedelta(seconds=SECONDS),
            kind="content",
            playable=item,
            in_ms=0,
            out_ms=SECONDS * 1000,
        )
        for sequence, start in ((0, NOW), (1, NEXT - timedelta(seconds=SECONDS)))
    )
    return early, late


def luma(path, crop: str) -> bytes:
    return ffmpeg_output(
        "-i", str(path), "-vf", crop, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"
    )


def test_the_band_shows_from_the_last_minutes_start_to_the_pieces_end():
    following = (NEXT, "Maple Street")
    before = NEXT - UP_NEXT_LEAD
    assert up_next("content", 1, NOW, before, following) is None  # ends as the minute begins
    assert up_next("filler", 1, before - timedelta(seconds=10), before + timedelta(seconds=5), following) == (
        UpNext("Maple Street", 10_000)
    )
    assert up_next("promo", 1, NEXT - timedelta(seconds=20), NEXT, following) == UpNext("Maple Street", 0)
    assert up_next("slate", None, NEXT - timedelta(seconds=20), NEXT, following) is None
    assert up_next("content", 1, NEXT - timedelta(seconds=20), NEXT, None) is None  # nothing follows


def test_a_piece_in_the_last_minute_carries_up_next_and_an_earlier_one_does_not(channel, clip, store):
    early, late = evening(channel, clip)
    plain = pregen.encode(pregen.piece_for(early))
    announced = pregen.encode(pregen.piece_for(late))
    assert plain.status == announced.status == PregenStatus.READY, (plain.error, announced.error)
    assert plain.bug_key == "" and len(announced.bug_key) == 32 and plain.pk != announced.pk
    assert (
        pregen.ready_file(late) == store / announced.path and pregen.ready_file(early) == store / plain.path
    )

    # The band lies across the bottom, above the 5% margin: there the frames differ; at the top
    # they are the same gray.
    def difference(crop: str) -> float:
        on_air, without = luma(store / announced.path, crop), luma(store / plain.path, crop)
        return sum(abs(a - b) for a, b in zip(on_air, without, strict=True)) / len(on_air)

    assert difference("crop=170:10:30:214") > 40
    assert difference("crop=200:16:60:20") < 4


def test_planning_finds_the_same_pieces_as_the_channel_and_nothing_announces_sign_off(channel, clip):
    early, late = evening(channel, clip)
    planned = {row.bug_key for row in pregen.plan_horizon(hours=1, now=NOW)}
    assert planned == {pregen.piece_for(early).bug_key, pregen.piece_for(late).bug_key}
    ProgramEntry.objects.filter(start=NEXT).update(category=ProgramCategory.OFF_AIR)
    assert pregen.piece_for(late).bug_key == ""


def test_a_short_program_announces_nothing(channel, clip):
    _, late = evening(channel, clip)
    assert pregen.piece_for(late).bug_key != ""
    ProgramEntry.objects.filter(pk=late.program_id).update(start=NEXT - timedelta(minutes=4))
    assert pregen.piece_for(late).bug_key == ""
