"""A channel's profile picks the audio language and burns forced subtitles, checked with real ffmpeg.

The source has English audio at 440 Hz (the default track) and French at 1000 Hz, so the tone in a
piece says which track aired; its subtitles are white text on black, so bright pixels say whether
they were burnt in.
"""

from __future__ import annotations

import array
import itertools
from pathlib import Path

import pytest
from django.conf import settings

from catalog.models import MediaStream
from playout import ffmpeg_commands as commands
from playout import pregen, tracks
from playout.models import PregenStatus
from retrovue.subprocesses import run_command
from tests.playout.test_pregen import (
    NOW,
    air,
    ffmpeg,
    make_channel,
    make_item,
    store,  # noqa: F401  (an autouse fixture: pieces go to a temporary store)
    stored_profile,
)

pytestmark = pytest.mark.django_db
SECONDS = 6
SRT_NOT_FORCED = "1\n00:00:05,500 --> 00:00:06,000\nNOT FORCED\n"
SRT_FORCED = "1\n00:00:02,500 --> 00:00:03,500\nFORCED FORCED\n"
SRT_SIDECAR = "1\n00:00:00,300 --> 00:00:01,700\nSIDECAR SIDECAR\n"
# A sidecar name that needs both levels of filtergraph escaping.
NASTY_NAME = "it's [forced], 1:2; x.fre.forced.srt"


@pytest.fixture(scope="module")
def bilingual(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bilingual")
    (folder / "plain.srt").write_text(SRT_NOT_FORCED)
    (folder / "forced.srt").write_text(SRT_FORCED)
    (folder / NASTY_NAME).write_text(SRT_SIDECAR)
    video = folder / "bilingual.mkv"
    ffmpeg(
        "-f", "lavfi", "-i", f"color=c=black:s=320x240:r=25:d={SECONDS}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={SECONDS}",
        "-f", "lavfi", "-i", f"sine=frequency=1000:sample_rate=48000:duration={SECONDS}",
        "-i", str(folder / "plain.srt"), "-i", str(folder / "forced.srt"),
        "-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:s", "-map", "4:s",
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-c:s", "srt",
        "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fre",
        "-metadata:s:s:0", "language=fre", "-metadata:s:s:1", "language=fre",
        "-disposition:a:0", "default", "-disposition:a:1", "0",
        "-disposition:s:0", "0", "-disposition:s:1", "forced",
        str(video),
    )  # fmt: skip
    return {"video": video, "sidecar": folder / NASTY_NAME}


def tracks_as_plex_reports(item, *, embedded_forced=True, sidecar: Path | None = None):
    """The rows a Plex sync stores for the file (Plex writes `fra`; the catalog normalises it)."""
    media_file = item.files.get()
    rows = [
        MediaStream(media_file=media_file, origin="plex", kind="audio", stream_index=1, codec="aac",
                    language_code="eng", is_default=True),
        MediaStream(media_file=media_file, origin="plex", kind="audio", stream_index=2, codec="aac",
                    language_code="fre", language_code_raw="fra"),
        MediaStream(media_file=media_file, origin="plex", kind="subtitle", stream_index=3, codec="srt",
                    language_code="fre"),
        MediaStream(media_file=media_file, origin="plex", kind="subtitle", stream_index=4, codec="srt",
                    language_code="fre", forced=embedded_forced),
    ]  # fmt: skip
    if sidecar is not None:
        rows.append(
            MediaStream(media_file=media_file, origin="sidecar", kind="subtitle", codec="srt", language_code="fre",
                        forced=True, external=True, path=str(sidecar))
        )  # fmt: skip
    MediaStream.objects.bulk_create(rows)


def encode(profile, item, in_ms=0, length_ms=2000, number="5"):
    channel = make_channel(number, profile)
    row = pregen.encode(pregen.piece_for(air(channel, NOW, length_ms, item=item, in_ms=in_ms)))
    assert row.status == PregenStatus.READY, row.error
    return Path(settings.RETROVUE_PREGEN_ROOT) / row.path


def tone_hz(path: Path) -> float:
    """The frequency of the piece's audio, from zero crossings of its left channel."""
    argv = [settings.RETROVUE_FFMPEG, "-v", "error", "-i", str(path), "-map", "0:a", "-ss", "0.5", "-t", "1",
            "-f", "s16le", "-ac", "1", "-ar", "48000", "-"]  # fmt: skip
    samples = array.array("h", run_command(argv, timeout=30).stdout)
    crossings = sum(1 for a, b in itertools.pairwise(samples) if (a < 0) != (b < 0))
    return crossings / 2 / (len(samples) / 48000)


def bright_pixels(path: Path, at_seconds: float) -> int:
    """Pixels brighter than mid-grey in the frame at that time (picked by number: a seek in MPEG-TS
    would count from its muxing offset)."""
    frame = round(at_seconds * 25)  # the test profiles run at 25 fps
    argv = [settings.RETROVUE_FFMPEG, "-v", "error", "-i", str(path), "-vf", f"select=gte(n\\,{frame})",
            "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"]  # fmt: skip
    return sum(1 for value in run_command(argv, timeout=30).stdout if value > 128)


def saved_profile(**fields):
    profile = stored_profile(**fields)
    profile.name = f"Test {fields['preferred_audio_language']} {fields['burn_forced_subtitles']}"
    profile.save()
    return profile


def test_a_profile_preferring_french_airs_the_french_track(bilingual):
    item = make_item(bilingual["video"], duration_ms=SECONDS * 1000)
    tracks_as_plex_reports(item)
    french = encode(saved_profile(preferred_audio_language="fra", burn_forced_subtitles=False), item)
    assert abs(tone_hz(french) - 1000) < 30


def test_a_language_the_file_lacks_falls_back_to_the_default_track(bilingual):
    item = make_item(bilingual["video"], duration_ms=SECONDS * 1000)
    tracks_as_plex_reports(item)
    fallback = encode(saved_profile(preferred_audio_language="spa", burn_forced_subtitles=False), item)
    assert abs(tone_hz(fallback) - 440) < 15


def test_forced_subtitles_are_burnt_at_their_time_in_a_cut_from_mid_file(bilingual):
    item = make_item(bilingual["video"], duration_ms=SECONDS * 1000)
    tracks_as_plex_reports(item)
    # The cut starts 2 s in: the forced line (2.5–3.5 s of the file) shows 0.5–1.5 s into the piece.
    burnt = encode(
        saved_profile(preferred_audio_language="fre", burn_forced_subtitles=True), item, in_ms=2000
    )
    plain = encode(saved_profile(preferred_audio_language="fre", burn_forced_subtitles=False), item, in_ms=2000,
                   number="6")  # fmt: skip
    assert bright_pixels(plain, 1.0) == 0
    assert bright_pixels(burnt, 1.0) > 100
    assert bright_pixels(burnt, 0.2) == 0  # before the line: the subtitle kept the file's timing
    assert abs(tone_hz(burnt) - 1000) < 30


def test_a_forced_sidecar_file_with_an_awkward_name_is_burnt(bilingual):
    item = make_item(bilingual["video"], duration_ms=SECONDS * 1000)
    tracks_as_plex_reports(item, embedded_forced=False, sidecar=bilingual["sidecar"])
    burnt = encode(saved_profile(preferred_audio_language="fre", burn_forced_subtitles=True), item)
    assert bright_pixels(burnt, 1.0) > 100


# --- The choices and the command line, without encoding ----------------------------------------------


def _track(kind, index, language="", **fields):
    return tracks.Track(kind=kind, stream_index=index, language_code=language, codec="srt", **fields)


def test_audio_choice_prefers_the_language_then_the_default_then_the_first():
    audio = [
        _track("audio", 1, "eng"),
        _track("audio", 2, "ger", is_default=True),
        _track("audio", 3, "fre"),
    ]
    assert tracks.choose(audio, "/v.mkv", "French", False).audio == 2
    assert tracks.choose(audio, "/v.mkv", "it", False).audio == 1
    assert tracks.choose([_track("audio", 1), _track("audio", 2)], "/v.mkv", "", False).audio == 0


def test_forced_subtitle_counts_only_subtitle_tracks_and_skips_pictures_and_other_languages():
    found = [
        _track("audio", 1, "eng", is_default=True),
        tracks.Track("subtitle", 2, "eng", codec="hdmv_pgs_subtitle", forced=True),
        _track("subtitle", 3, "eng"),
        _track("subtitle", 4, "ger", forced=True),
        _track("subtitle", 5, "eng", forced=True),
    ]
    assert tracks.choose(found, "/v.mkv", "", True).subtitle == commands.BurnSubtitle("/v.mkv", track=3)
    assert tracks.choose(found, "/v.mkv", "fre", True).subtitle is None
    assert tracks.choose(found, "/v.mkv", "", False).subtitle is None


def test_probed_tracks_win_over_what_plex_reported():
    found = [
        _track("audio", 1, "eng", origin="plex"),
        _track("audio", 2, "fre", origin="plex"),
        _track("audio", 1, "fre", origin="probe"),
    ]
    assert tracks.choose(found, "/v.mkv", "fre", False).audio == 0


def test_the_command_maps_the_chosen_track_and_escapes_the_subtitle_path():
    part = commands.SourcePart(
        "/m/v.mkv", audio_track=1, subtitle=commands.BurnSubtitle("/m/it's [a], b:c; d.srt")
    )
    argv = commands.pregen_argv([part], 1500, 3500, stored_profile(), ffmpeg="ffmpeg")
    graph = argv[argv.index("-filter_complex") + 1]
    assert "[0:a:1]" in graph and "[0:a:0]" not in graph
    assert r"subtitles=filename=/m/it\\\'s \[a\]\, b\\:c\; d.srt," in graph
    assert "setpts=PTS+1.500/TB,subtitles=" in graph and ",setpts=PTS-1.500/TB," in graph
    embedded = commands.SourcePart("/m/v.mkv", subtitle=commands.BurnSubtitle("/m/v.mkv", track=2))
    graph = commands.pregen_argv([embedded], 0, 2000, stored_profile(), ffmpeg="ffmpeg")
    assert "subtitles=filename=/m/v.mkv:si=2,fps=" in graph[graph.index("-filter_complex") + 1]


def test_a_sidecar_deleted_since_the_scan_is_skipped_rather_than_failing_the_piece(tmp_path):
    video = tmp_path / "v.mkv"
    video.write_bytes(b"x")
    sidecar = tmp_path / "v.fre.forced.srt"
    item = make_item(video)
    MediaStream.objects.create(media_file=item.files.get(), origin="sidecar", kind="subtitle", codec="srt",
                               language_code="fre", forced=True, external=True, path=str(sidecar))  # fmt: skip
    profile = saved_profile(preferred_audio_language="fre", burn_forced_subtitles=True)
    parts = [commands.SourcePart(str(video))]
    assert pregen._with_tracks(parts, item.pk, profile)[0].subtitle is None
    sidecar.write_text(SRT_SIDECAR)
    assert pregen._with_tracks(parts, item.pk, profile)[0].subtitle == commands.BurnSubtitle(str(sidecar))


def test_changing_the_profiles_audio_language_makes_ready_pieces_encode_again(bilingual):
    from datetime import timedelta

    item = make_item(bilingual["video"], duration_ms=SECONDS * 1000)
    tracks_as_plex_reports(item)
    profile = saved_profile(preferred_audio_language="eng", burn_forced_subtitles=False)
    row = pregen.encode(pregen.piece_for(air(make_channel("7", profile), NOW, 2000, item=item)))
    assert row.status == PregenStatus.READY, row.error
    assert abs(tone_hz(Path(settings.RETROVUE_PREGEN_ROOT) / row.path) - 440) < 15
    before = NOW - timedelta(minutes=1)
    profile.name = "Renamed"
    profile.save()  # not a change of tracks
    assert pregen.plan_horizon(hours=1, now=before) == []

    profile.preferred_audio_language = "fre"
    profile.save()

    assert pregen.plan_horizon(hours=1, now=before) == [row]
    again = pregen.encode(row)
    assert abs(tone_hz(Path(settings.RETROVUE_PREGEN_ROOT) / again.path) - 1000) < 30
    assert pregen.plan_horizon(hours=1, now=before) == []
