"""Station ID cards: where a channel has no station ID clip, the builder plans a station ID without
a clip and pre-generation encodes the channel's drawn card (name and logo) for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.base import ContentFile

from catalog.models import ShortFormItem
from playout import pregen
from playout.models import PregenStatus
from playout.pregen_store import STATION_CARD
from retrovue.subprocesses import run_command
from scheduling.breaks import STATION_ID_CARD_MS
from scheduling.builder import build_channel
from scheduling.graphics import channel_color, channel_logo_png
from scheduling.models import Piece, ProgramEntry, StreamProfile
from tests.scheduling.station import channel_with_slot, short_form_library, sitcom

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.fixture(autouse=True)
def store(settings, tmp_path):
    settings.RETROVUE_PREGEN_ROOT = str(tmp_path / "pregen")
    settings.RETROVUE_PREGEN_PRESET = "ultrafast"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "pregen"


def build_evening(with_station_id: bool):
    show, _ = sitcom()
    short_form_library()
    if not with_station_id:
        ShortFormItem.objects.filter(kind="station_id").delete()
    channel, _, _ = channel_with_slot(shows=[show])
    build_channel(channel, MONDAY, MONDAY + timedelta(days=1), fine_until=MONDAY + timedelta(days=1))
    return channel


def test_a_channel_without_station_id_clips_gets_a_card_at_each_programs_end():
    channel = build_evening(with_station_id=False)
    in_slot = ProgramEntry.objects.filter(channel=channel, slot__isnull=False).order_by("start")
    assert in_slot.count() == 2
    for program in in_slot:
        cards = program.pieces.filter(kind="station_id")
        assert [(card.playable_id, card.in_ms, card.out_ms) for card in cards] == [
            (None, 0, STATION_ID_CARD_MS)
        ]
        pieces = list(program.pieces.order_by("sequence"))
        assert pieces[0].start == program.start and pieces[-1].stop == program.stop


def test_a_channel_with_a_station_id_clip_airs_the_clip_not_a_card():
    channel = build_evening(with_station_id=True)
    ids = Piece.objects.filter(channel=channel, kind="station_id")
    assert ids.exists() and not ids.filter(playable__isnull=True).exists()


def test_the_card_is_encoded_with_the_channels_name_and_colour(store):
    channel = build_evening(with_station_id=False)
    channel.stream_profile = StreamProfile.objects.create(
        name="Test 320×240", width=320, height=240, frame_rate=Decimal("25"),
        video_bitrate_kbps=400, audio_bitrate_kbps=96, segment_seconds=2,
    )  # fmt: skip
    channel.save()
    card_piece = Piece.objects.filter(channel=channel, kind="station_id", playable__isnull=True).first()
    row = pregen.encode(pregen.piece_for(card_piece))
    assert row.status == PregenStatus.READY, row.error
    assert row.special == STATION_CARD and row.duration_ms == pytest.approx(STATION_ID_CARD_MS, abs=50)
    assert pregen.ready_file(card_piece) == store / row.path

    # A frame: the card's background is the channel's colour, not the slate's blue or black.
    red, green, blue = rgb(store / row.path, "crop=4:4:8:8")
    expected = tuple(int(channel_color(channel.number)[i : i + 2], 16) for i in (1, 3, 5))
    assert max(abs(a - b) for a, b in zip((red, green, blue), expected, strict=True)) < 24

    # Another logo is another card; the same card is shared by every row of the channel.
    before = row.bug_key
    channel.logo.save("logo.png", ContentFile(channel_logo_png("99", "WXYZ")))
    other = Piece.objects.filter(channel=channel, kind="station_id", playable__isnull=True).last()
    assert pregen.piece_for(other).bug_key != before


def rgb(path, crop: str) -> tuple[int, int, int]:
    """The mean colour of a region of the first frame."""
    argv = [settings.RETROVUE_FFMPEG, "-v", "error", "-i", str(path), "-vf", crop, "-frames:v", "1",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]  # fmt: skip
    data = run_command(argv, timeout=30).stdout
    pixels = len(data) // 3
    return tuple(sum(data[offset::3]) // pixels for offset in range(3))
