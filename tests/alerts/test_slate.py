"""The alert slate: attention signal (lawful by default), speech, headline, one encode per profile."""

import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from alerts import slate as slate_module
from alerts.attention import EAS_FREQUENCIES_HZ, STATION_TONE_HZ
from alerts.choices import AttentionSignal, MessageStatus, Targeting
from alerts.models import AlertSlate, SlateState, StationAlertSettings
from alerts.services import AlertDraft, issue_alert
from alerts.slate import encode_slates_for, ensure_slate, slate_file
from alerts.tones import SAME_MARK_HZ, SAME_SPACE_HZ, same_header
from playout import ffmpeg_commands
from scheduling.models import Channel, StreamProfile
from tests.alerts.audio_analysis import decode_mono, tone_share

pytestmark = pytest.mark.django_db

PRESENT = 0.2  # a tone carrying this share of the window's energy is clearly there
ABSENT = 0.01


@pytest.fixture
def profile(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.RETROVUE_PREGEN_ROOT = tmp_path / "pregen"  # alert slates live in the store
    return StreamProfile.objects.create(
        name="alert test", width=320, height=240, frame_rate=25, video_bitrate_kbps=300, audio_bitrate_kbps=64,
        segment_seconds=2,
    )  # fmt: skip


def _alert(status=MessageStatus.ACTUAL, headline="Tornado warning", **extra):
    return issue_alert(
        AlertDraft(
            headline=headline,
            message="A tornado was reported near the river.",
            instruction="Take shelter in a basement.",
            status=status,
            targeting=Targeting.AREAS if extra.get("area_codes") else Targeting.ALL,
            **extra,
        )
    )


def _eas_station():
    StationAlertSettings.objects.create(
        pk=1, attention_signal=AttentionSignal.EAS, eas_station_id="KRTV/TV", eas_originator="CIV"
    )


def test_the_default_slate_opens_with_the_station_tone_and_no_eas_frequency(profile):
    slate = ensure_slate(_alert(), profile)

    assert slate.state == SlateState.READY, slate.error
    assert slate.attention_signal == AttentionSignal.STATION_TONE and slate.same_header == ""
    for start in (0.0, 0.5, 1.0, 1.5):  # the chime alternates its two notes every half second
        window = decode_mono(slate_file(slate), start + 0.05, 0.4)
        assert max(tone_share(window, note) for note in STATION_TONE_HZ) > PRESENT, start
        assert all(tone_share(window, eas) < ABSENT for eas in EAS_FREQUENCIES_HZ), start


def test_a_real_alert_on_an_eas_station_carries_same_headers_then_853_and_960_hz_together(profile):
    _eas_station()
    alert = _alert(area_codes="036061")

    slate = ensure_slate(alert, profile)

    assert slate.attention_signal == AttentionSignal.EAS
    assert slate.same_header.startswith("ZCZC-CIV-CEM-036061+0100-") and slate.same_header.endswith(
        "-KRTV/TV -"
    )
    header = decode_mono(slate_file(slate), 0.05, 0.5)
    assert tone_share(header, SAME_MARK_HZ) + tone_share(header, SAME_SPACE_HZ) > PRESENT
    # Three bursts with a second's pause after each come first; the two-tone holds for 8 s after.
    burst_seconds = len(slate.same_header + "x" * 16) * 8 / 520.83
    two_tone_start = 3 * (burst_seconds + 1.0)
    for offset in (0.5, 3.0, 6.0, 7.0):
        window = decode_mono(slate_file(slate), two_tone_start + offset, 0.5)
        assert all(tone_share(window, eas) > PRESENT / 2 for eas in EAS_FREQUENCIES_HZ), offset
        assert all(tone_share(window, note) < ABSENT for note in STATION_TONE_HZ), offset


@pytest.mark.parametrize("status", [MessageStatus.TEST, MessageStatus.EXERCISE])
def test_test_and_exercise_messages_never_carry_eas_tones_even_on_an_eas_station(profile, status):
    _eas_station()

    slate = ensure_slate(_alert(status=status, area_codes="036061"), profile)

    assert slate.attention_signal == AttentionSignal.STATION_TONE and slate.same_header == ""
    audio = decode_mono(slate_file(slate), 0, 20)
    for start in range(0, len(audio) - 4000, 4000):
        window = audio[start : start + 4000]
        assert all(tone_share(window, eas) < ABSENT for eas in EAS_FREQUENCIES_HZ), start / 8000
        assert tone_share(window, SAME_MARK_HZ) < ABSENT and tone_share(window, SAME_SPACE_HZ) < ABSENT


def test_the_message_is_spoken_after_the_attention_signal(profile):
    slate = ensure_slate(_alert(), profile)

    speech = decode_mono(slate_file(slate), 5.0, 3.0)
    energy = sum(value * value for value in speech) / len(speech)
    assert energy > 1e-4  # a voice, not silence
    assert all(
        tone_share(speech[i : i + 4000], note) < PRESENT for note in STATION_TONE_HZ for i in (0, 8000)
    )
    assert slate.duration_ms % (profile.segment_seconds * 1000) == 0 and slate.duration_ms > 8000


def _frame(path, at=1.0, width=320, height=240) -> bytes:
    return subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-ss", str(at), "-i", str(path),
         "-frames:v", "1", "-vf", "format=gray", "-f", "rawvideo", "-"],
        check=True, capture_output=True, timeout=60,
    ).stdout[: width * height]  # fmt: skip


def _band(frame: bytes, top: int, bottom: int, width=320) -> bytes:
    return frame[top * width : bottom * width]


def test_the_slate_video_is_not_black_and_shows_the_headline(profile):
    first = ensure_slate(_alert(headline="Tornado warning"), profile)
    second = ensure_slate(_alert(headline="Chemical spill on Route nine"), profile)

    one, two = _frame(slate_file(first)), _frame(slate_file(second))
    assert sum(one) / len(one) > 30  # not black: a red slate with a yellow banner
    headline_band = (22, 90)  # below the banner, where the headline is drawn
    bright = sum(1 for value in _band(one, *headline_band) if value > 200)
    assert bright > 300  # white letters
    assert _changed(_band(one, *headline_band), _band(two, *headline_band)) > 300  # the headline's letters
    assert _changed(_band(one, 0, 20), _band(two, 0, 20)) == 0  # while the banner is the same for both


def _changed(first: bytes, second: bytes) -> int:
    """Pixels that differ by more than encoding noise."""
    return sum(1 for a, b in zip(first, second, strict=True) if abs(a - b) > 60)


def _streams(path) -> list[dict]:
    import json

    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries",
         "stream=codec_name,profile,width,height,r_frame_rate,pix_fmt,sample_rate,channels", "-of", "json", str(path)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return json.loads(probe.stdout)["streams"]


def test_the_slate_has_the_streams_of_every_other_piece_so_channels_can_copy_it(profile, tmp_path):
    slate = ensure_slate(_alert(), profile)
    piece = tmp_path / "difficulties.ts"
    subprocess.run(ffmpeg_commands.slate_argv(4000, profile, piece), check=True, timeout=120)

    assert _streams(slate_file(slate)) == _streams(piece)


def test_twenty_channels_cost_one_slate_encode(profile, monkeypatch):
    channels = [
        Channel.objects.create(number=str(n), name=f"Channel {n}", stream_profile=profile)
        for n in range(2, 22)
    ]
    alert = _alert()
    encodes = []
    real_run = slate_module.run_command

    def counting_run(argv, **kwargs):
        if "libx264" in argv:
            encodes.append(argv)
        return real_run(argv, **kwargs)

    monkeypatch.setattr(slate_module, "run_command", counting_run)

    result = encode_slates_for(alert.pk)  # what the task does when the alert is issued
    slates = {ensure_slate(alert, channel.stream_profile).pk for channel in channels}  # each feed asks

    assert result["status"] == "done"
    assert len(encodes) == 1
    assert len(slates) == 1 and AlertSlate.objects.get().state == SlateState.READY
    assert len(channels) == 20


def test_a_failed_encode_is_recorded_with_its_reason(profile, settings):
    settings.RETROVUE_FFMPEG = "/nonexistent/ffmpeg"

    slate = ensure_slate(_alert(), profile)

    assert slate.state == SlateState.FAILED and "could not be started" in slate.error


def test_same_header_format_follows_47_cfr_11_31():
    issued = datetime(2026, 2, 1, 14, 5, tzinfo=UTC)
    header = same_header("WXR", "TOR", ["036061", "036047"], timedelta(minutes=40), issued, "KRTV-TV")
    assert header == "ZCZC-WXR-TOR-036061-036047+0045-0321405-KRTV/TV -"
    assert (
        same_header("CIV", "CEM", ["000000"], timedelta(hours=2, minutes=5), issued, "X").split("+")[1][:4]
        == "0230"
    )


def test_the_station_logo_is_drawn_on_the_slate(profile, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "media" / "logos").mkdir(parents=True)
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=0x00ff00:s=64x64", "-frames:v", "1",
         str(tmp_path / "media" / "logos" / "station.png")],
        check=True, timeout=60,
    )  # fmt: skip
    StationAlertSettings.objects.create(pk=1, logo="logos/station.png")

    slate = ensure_slate(_alert(), profile)

    assert slate.state == SlateState.READY, slate.error
    frame = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-ss", "1", "-i", str(slate_file(slate)), "-frames:v", "1",
         "-vf", "crop=40:20:iw-56:ih-24", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True, timeout=60,
    ).stdout  # fmt: skip
    pixels = [frame[i : i + 3] for i in range(0, len(frame), 3)]
    assert (
        sum(1 for r, g, b in pixels if g > 180 and r < 100) > len(pixels) / 2
    )  # the green logo, bottom right


def test_a_slate_encoded_by_a_worker_is_found_by_a_playout_machine_with_its_own_data_folder(
    profile, settings, tmp_path
):
    # The worker and the playout machines share only the pre-generation store
    # (docs/playout-machines.md); each has a data folder of its own.
    settings.RETROVUE_PREGEN_ROOT = tmp_path / "shared-store"
    settings.DATA_DIR = tmp_path / "worker-data"
    slate = ensure_slate(_alert(), profile)
    assert slate.state == SlateState.READY

    settings.DATA_DIR = tmp_path / "playout-machine-b-data"
    on_machine_b = slate_file(slate)

    assert on_machine_b.is_file()
    assert on_machine_b.is_relative_to(tmp_path / "shared-store")


def test_a_slate_encoded_before_slates_moved_to_the_shared_store_is_still_found(profile, settings, tmp_path):
    slate = ensure_slate(_alert(), profile)
    made = slate_file(slate)
    earlier = tmp_path / "alert-slates" / slate.path  # the data folder's copy, as an upgrade finds it
    earlier.parent.mkdir(parents=True)
    made.rename(earlier)

    assert slate_file(slate) == earlier
