"""Segment pre-generation: command lines, real encodes of tiny sources, reuse, claims, eviction,
coverage. Sources are made once per session with ffmpeg's lavfi generators."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile

from catalog.models import MediaFile
from playout import ffmpeg_commands as commands
from playout import pregen, pregen_encode
from playout.models import PregenPiece, PregenStatus
from retrovue.celery import app
from retrovue.subprocesses import run_command
from scheduling.models import Channel, Piece, ProgramEntry, StreamProfile
from tests.factories import EpisodeFactory, ShortFormFactory

NOW = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
SOURCE_SECONDS = 6


def ffmpeg(*arguments: str) -> None:
    run_command(
        [settings.RETROVUE_FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *arguments], timeout=60
    )


def ffprobe_json(path: Path, *arguments: str) -> dict:
    completed = run_command(
        [settings.RETROVUE_FFPROBE, "-v", "error", *arguments, "-of", "json", str(path)], timeout=30
    )
    return json.loads(completed.stdout)


@pytest.fixture(scope="session")
def sources(tmp_path_factory) -> dict[str, Path]:
    """A 4:3 clip with mono 44.1 kHz audio, a 16:9 one, a PNG bug, a video-only clip."""
    folder = tmp_path_factory.mktemp("sources")
    made = {
        "clip": folder / "clip.mp4",
        "wide": folder / "wide.mkv",
        "silent": folder / "silent.mp4",
        "bug": folder / "bug.png",
    }
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc=size=320x240:rate=30:duration={SOURCE_SECONDS}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={SOURCE_SECONDS}",
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-ac", "1", str(made["clip"]),
    )  # fmt: skip
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=426x240:rate=24:duration={SOURCE_SECONDS}",
        "-f", "lavfi", "-i", f"sine=frequency=660:sample_rate=48000:duration={SOURCE_SECONDS}",
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-ac", "2", str(made["wide"]),
    )  # fmt: skip
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc=size=320x240:rate=25:duration={SOURCE_SECONDS}",
        "-c:v", "libx264", "-preset", "ultrafast", str(made["silent"]),
    )  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", "color=c=white:s=40x20,format=rgba", "-frames:v", "1", str(made["bug"]))
    return made


@pytest.fixture(autouse=True)
def store(settings, tmp_path) -> Path:
    settings.RETROVUE_PREGEN_ROOT = str(tmp_path / "pregen")
    settings.RETROVUE_PREGEN_MAX_GB = 20
    settings.RETROVUE_PREGEN_PRESET = "ultrafast"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "pregen"


@pytest.fixture
def profile(db) -> StreamProfile:
    return StreamProfile.objects.create(
        name="Test 320×240", width=320, height=240, frame_rate=Decimal("25"),
        video_bitrate_kbps=400, audio_bitrate_kbps=96, segment_seconds=2,
    )  # fmt: skip


def make_channel(number: str, profile: StreamProfile, bug: Path | None = None, **fields) -> Channel:
    channel = Channel.objects.create(
        number=number, name=f"Channel {number}", time_zone="UTC", stream_profile=profile, **fields
    )
    if bug is not None:
        channel.bug_image.save("bug.png", ContentFile(bug.read_bytes()))
    return channel


def make_item(path: Path | str, state: str = "normal", duration_ms: int = SOURCE_SECONDS * 1000):
    item = EpisodeFactory(duration_ms=duration_ms)
    MediaFile.objects.create(
        playable=item, position=0, local_path=str(path), state=state, duration_ms=duration_ms
    )
    return item


def air(
    channel: Channel, start: datetime, length_ms: int, *, item=None, in_ms: int = 0, kind: str = "content"
):
    """One piece in the fine log (with a program of its own)."""
    stop = start + timedelta(milliseconds=length_ms)
    program = ProgramEntry.objects.create(channel=channel, start=start, stop=stop, title="Program")
    return Piece.objects.create(
        channel=channel, program=program, sequence=0, start=start, stop=stop, kind=kind,
        playable=item, in_ms=in_ms, out_ms=in_ms + length_ms,
    )  # fmt: skip


def keyframe_times(path: Path) -> list[float]:
    report = ffprobe_json(
        path,
        "-select_streams",
        "v",
        "-skip_frame",
        "nokey",
        "-show_frames",
        "-show_entries",
        "frame=pts_time",
    )
    return [round(float(frame["pts_time"]), 3) for frame in report["frames"]]


def gray_pixels(path: Path, crop: str) -> bytes:
    """The luma of a region of the first frame, one byte a pixel."""
    argv = [settings.RETROVUE_FFMPEG, "-v", "error", "-i", str(path), "-vf", crop, "-frames:v", "1",
            "-f", "rawvideo", "-pix_fmt", "gray", "-"]  # fmt: skip
    return run_command(argv, timeout=30).stdout


def streams(path: Path) -> tuple[dict, dict, dict]:
    report = ffprobe_json(path, "-count_frames", "-show_streams", "-show_format")
    video = next(stream for stream in report["streams"] if stream["codec_type"] == "video")
    audio = next(stream for stream in report["streams"] if stream["codec_type"] == "audio")
    return video, audio, report["format"]


def stored_profile(**fields) -> StreamProfile:
    values = {"width": 320, "height": 240, "frame_rate": Decimal("25"), "video_bitrate_kbps": 400,
              "audio_bitrate_kbps": 96, "segment_seconds": 2} | fields  # fmt: skip
    return StreamProfile(name="unsaved", **values)


# --- Command lines ---------------------------------------------------------------------------------


def test_pregen_command_makes_a_closed_gop_of_one_segment_with_no_scene_cuts():
    argv = commands.pregen_argv("/media/a.mkv", 1000, 9000, stored_profile(), output="/tmp/x.ts")
    text = " ".join(argv)
    assert "-g 50 -keyint_min 50 -sc_threshold 0" in text
    assert "-force_key_frames expr:gte(t,n_forced*2)" in text
    assert "-flags +cgop" in text and "-bf 0" in text
    assert "-c:v libx264" in text and "-profile:v high" in text and "-pix_fmt yuv420p" in text
    assert "-f mpegts -muxdelay 0 -muxpreload 0" in text
    assert argv[-1] == "file:/tmp/x.ts"


def test_pregen_command_seeks_before_the_input_and_reads_only_the_cut():
    argv = commands.pregen_argv("/media/a.mkv", 61_500, 90_000, stored_profile(), output="/tmp/x.ts")
    assert argv.index("-ss") < argv.index("-i")
    assert argv[argv.index("-ss") + 1] == "61.500"
    assert argv[argv.index("-t") + 1] == "28.500"
    assert argv[argv.index("-i") + 1] == "file:/media/a.mkv"


def test_pregen_command_fits_the_picture_into_the_profile_at_its_frame_rate():
    argv = commands.pregen_argv("/media/a.mkv", 0, 8000, stored_profile(), output="-")
    graph = argv[argv.index("-filter_complex") + 1]
    assert "fps=fps=25:start_time=0" in graph
    assert "scale=w='if(gt(dar,320/240)" in graph  # by display aspect, so anamorphic sources fit
    assert "pad=320:240:(ow-iw)/2:(oh-ih)/2" in graph
    assert "trim=end_frame=200" in graph  # 8 s at 25 fps, exactly
    assert "tpad=stop=-1:stop_mode=clone" in graph  # a short source is held, not cut short


def test_pregen_command_normalises_loudness_to_48k_stereo_aac():
    argv = commands.pregen_argv("/media/a.mkv", 0, 8000, stored_profile(), output="-")
    text = " ".join(argv)
    assert "loudnorm=I=-24:TP=-2:LRA=7" in text
    assert "channel_layouts=stereo" in text
    assert "-c:a aac -aac_coder fast -profile:a aac_low -b:a 96k -ar 48000 -ac 2" in text
    assert "apad" in text  # silence fills a source whose audio runs short


def test_bug_overlay_is_burned_in_only_when_the_channel_has_a_bug():
    plain = " ".join(commands.pregen_argv("/media/a.mkv", 0, 8000, stored_profile()))
    assert "overlay" not in plain and "bug.png" not in plain
    bug = commands.Bug("/bugs/bug.png", corner="top_left", opacity=0.5)
    argv = commands.pregen_argv("/media/a.mkv", 0, 8000, stored_profile(), bug=bug)
    graph = argv[argv.index("-filter_complex") + 1]
    assert "file:/bugs/bug.png" in argv
    assert "colorchannelmixer=aa=0.50" in graph
    assert "overlay=x=16:y=12" in graph  # 5% in from the top-left corner of 320×240


def test_a_cut_across_two_parts_reads_each_from_its_own_in_point():
    parts = [commands.SourcePart("/media/cd1.avi", 60_000), commands.SourcePart("/media/cd2.avi", 60_000)]
    argv = commands.pregen_argv(parts, 50_000, 70_000, stored_profile())
    assert [argv[i + 1] for i, value in enumerate(argv) if value == "-ss"] == ["50.000", "0.000"]
    assert [argv[i + 1] for i, value in enumerate(argv) if value == "-t"] == ["10.000", "10.000"]
    graph = argv[argv.index("-filter_complex") + 1]
    assert "concat=n=2:v=1:a=1" in graph
    assert "trim=end_frame=250[v0]" in graph and "trim=end_frame=250[v1]" in graph


def test_ntsc_profiles_use_exact_frame_rates():
    profile = stored_profile(frame_rate=Decimal("29.970"))
    assert commands.frame_rate(profile) == Fraction(30000, 1001)
    assert commands.gop_frames(profile) == 60
    assert "fps=fps=30000/1001" in " ".join(commands.pregen_argv("/media/a.mkv", 0, 1000, profile))


def test_audio_ends_on_an_aac_frame_no_later_than_the_video():
    timing = commands.piece_timing(8000, stored_profile())
    samples = timing.encoded_samples + commands.AAC_PRIMING_SAMPLES
    assert samples % 1024 == 0
    assert 0 <= timing.samples - samples < 1024


# --- Real encodes ----------------------------------------------------------------------------------


def test_encoded_piece_is_h264_aac_at_the_profile_size_rate_and_length(profile, sources, store):
    channel = make_channel("3", profile)
    piece = air(channel, NOW, 4500, item=make_item(sources["clip"]), in_ms=1000)

    row = pregen.encode(pregen.piece_for(piece))

    assert row.status == PregenStatus.READY, row.error
    path = store / row.path
    assert path.is_file() and row.size_bytes == path.stat().st_size
    video, audio, container = streams(path)
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 320, 240)
    assert video["r_frame_rate"] == "25/1" and video["pix_fmt"] == "yuv420p"
    assert (audio["codec_name"], audio["profile"], audio["sample_rate"], audio["channels"]) == (
        "aac",
        "LC",
        "48000",
        2,
    )
    assert int(video["nb_read_frames"]) == round(4.5 * 25)
    assert float(video["start_time"]) == 0 and float(audio["start_time"]) == 0
    assert abs(float(container["duration"]) - 4.5) <= 0.04  # within one frame of out − in
    assert float(audio["duration"]) <= float(video["duration"])  # so a concat of pieces never overlaps
    assert keyframe_times(path) == [0.0, 2.0, 4.0]
    assert (row.video_codec, row.audio_codec, row.width, row.height) == ("h264", "aac", 320, 240)
    assert abs(row.duration_ms - 4500) <= 40 and row.frame_rate == Decimal("25.000")
    assert row.encode_seconds > 0 and row.ready_at is not None


def test_a_wide_source_is_letterboxed_and_a_silent_one_gets_silence(profile, sources, store):
    channel = make_channel("3", profile)
    wide = pregen.encode(pregen.piece_for(air(channel, NOW, 2000, item=make_item(sources["wide"]))))
    silent = pregen.encode(pregen.piece_for(air(channel, NOW + timedelta(seconds=2), 3000, item=make_item(sources["silent"]))))  # fmt: skip

    for row in (wide, silent):
        assert row.status == PregenStatus.READY, row.error
        video, audio, _ = streams(store / row.path)
        assert (video["width"], video["height"], audio["channels"]) == (320, 240, 2)
    top_row = gray_pixels(store / wide.path, "crop=320:2:0:0")
    assert max(top_row[:320]) < 30  # black bar above a 16:9 picture


def test_pieces_concatenate_by_stream_copy_without_timestamp_gaps(profile, sources, store, tmp_path):
    channel = make_channel("3", profile)
    first = pregen.encode(
        pregen.piece_for(air(channel, NOW, 3000, item=make_item(sources["clip"]), in_ms=500))
    )
    second = pregen.encode(pregen.piece_for(air(channel, NOW + timedelta(seconds=3), 3000, kind="slate")))
    listing = tmp_path / "list.ffconcat"
    listing.write_text(f"ffconcat version 1.0\nfile '{store / first.path}'\nfile '{store / second.path}'\n")
    joined = tmp_path / "joined.ts"
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", "-f", "mpegts", str(joined))

    report = ffprobe_json(joined, "-select_streams", "v", "-show_packets", "-show_entries", "packet=pts_time")
    times = sorted(float(packet["pts_time"]) for packet in report["packets"])
    steps = {round(later - earlier, 3) for earlier, later in pairwise(times)}
    assert steps == {0.04} and len(times) == 150
    assert [round(t - times[0], 3) for t in keyframe_times(joined)] == [0.0, 2.0, 3.0, 5.0]


def test_slate_and_test_pattern_encode_like_any_piece(profile, store):
    channel = make_channel("3", profile)
    slate = pregen.encode(pregen.piece_for(air(channel, NOW, 3000, kind="slate")))
    bars = pregen.encode(
        pregen.piece_for(air(channel, NOW + timedelta(seconds=3), 2500, kind="test_pattern"))
    )

    assert (slate.special, bars.special) == ("slate", "test_pattern")
    for row, seconds in ((slate, 3.0), (bars, 2.5)):
        assert row.status == PregenStatus.READY, row.error
        assert row.playable_id is None and row.bug_key == ""
        video, audio, container = streams(store / row.path)
        assert (video["codec_name"], audio["codec_name"], audio["sample_rate"]) == ("h264", "aac", "48000")
        assert abs(float(container["duration"]) - seconds) <= 0.04
        assert keyframe_times(store / row.path)[:2] == [0.0, 2.0]


def test_a_channel_bug_is_burned_in(profile, sources, store):
    channel = make_channel(
        "3", profile, bug=sources["bug"], bug_corner="top_left", bug_opacity=Decimal("1.00")
    )
    row = pregen.encode(pregen.piece_for(air(channel, NOW, 2000, item=make_item(sources["silent"]))))

    assert row.status == PregenStatus.READY, row.error
    assert row.bug_key == pregen.bug_key(channel) != ""
    assert pregen.channel_bug(channel).corner == "top_left"
    assert pregen.channel_bug(make_channel("4", profile)) is None
    # The bug (a white box) sits 5% in from the top-left corner: 16, 12 on a 320×240 frame.
    pixel = gray_pixels(store / row.path, "crop=2:2:20:14")
    assert pixel[0] > 200


# --- Identity and reuse ----------------------------------------------------------------------------


def test_the_same_cut_on_two_channels_with_the_same_profile_is_one_piece(profile, sources):
    item = make_item(sources["clip"])
    first = air(make_channel("3", profile), NOW, 3000, item=item, in_ms=1000)
    second = air(make_channel("4", profile), NOW + timedelta(hours=2), 3000, item=item, in_ms=1000)

    assert pregen.piece_for(first) == pregen.piece_for(second)
    needed = pregen.plan_horizon(hours=6, now=NOW - timedelta(minutes=1))
    assert len(needed) == 1 and needed[0].next_air_at == NOW
    assert PregenPiece.objects.count() == 1


def test_a_ready_piece_is_not_encoded_again(profile, sources):
    item = make_item(sources["clip"])
    row = pregen.encode(pregen.piece_for(air(make_channel("3", profile), NOW, 2000, item=item)))
    assert row.status == PregenStatus.READY, row.error
    rerun = air(make_channel("4", profile), NOW + timedelta(hours=1), 2000, item=item)

    assert pregen.piece_for(rerun) == row
    assert pregen.plan_horizon(hours=6, now=NOW - timedelta(minutes=1)) == []
    assert pregen.ready_file(rerun) == pregen.file_path(row)


def test_a_different_bug_profile_or_cut_is_a_different_piece(profile, sources):
    item = make_item(sources["clip"])
    other_profile = StreamProfile.objects.create(
        name="Other", width=640, height=480, frame_rate=Decimal("25")
    )
    plain = pregen.piece_for(air(make_channel("3", profile), NOW, 3000, item=item))
    bugged = pregen.piece_for(air(make_channel("4", profile, bug=sources["bug"]), NOW, 3000, item=item))
    bigger = pregen.piece_for(air(make_channel("5", other_profile), NOW, 3000, item=item))
    later_cut = pregen.piece_for(air(make_channel("6", profile), NOW, 3000, item=item, in_ms=500))

    assert len({plain.pk, bugged.pk, bigger.pk, later_cut.pk}) == 4
    assert plain.bug_key == "" and len(bugged.bug_key) == 32


def test_moving_the_bug_changes_its_key(profile, sources):
    channel = make_channel("3", profile, bug=sources["bug"])
    before = pregen.bug_key(channel)
    channel.bug_corner = "top_left"
    assert pregen.bug_key(channel) != before


def test_slates_of_the_same_length_are_shared_across_channels_and_bugs(profile, sources):
    plain = pregen.piece_for(air(make_channel("3", profile), NOW, 5000, kind="slate"))
    bugged = pregen.piece_for(air(make_channel("4", profile, bug=sources["bug"]), NOW, 5000, kind="slate"))
    assert plain == bugged and (plain.special, plain.in_ms, plain.out_ms) == ("slate", 0, 5000)


# --- Claims and failures ---------------------------------------------------------------------------


def test_only_one_caller_encodes_a_piece(profile, sources, monkeypatch):
    row = pregen.piece_for(air(make_channel("3", profile), NOW, 2000, item=make_item(sources["clip"])))
    runs, inner = [], []

    def run_while_another_worker_tries(argv, **kwargs):
        runs.append(argv)
        inner.append(pregen.encode(row.pk))  # a second worker with the same message, mid-encode
        return run_command(argv, **kwargs)

    monkeypatch.setattr(pregen_encode, "run_encoder", run_while_another_worker_tries)
    outer = pregen.encode(row)

    assert len(runs) == 1
    assert inner[0].status == PregenStatus.ENCODING
    assert outer.status == PregenStatus.READY
    assert pregen.encode(row).status == PregenStatus.READY and len(runs) == 1


def test_a_missing_source_fails_with_a_reason_and_is_retried_once_it_is_back(profile, sources, tmp_path):
    later = tmp_path / "later.mp4"
    piece = air(make_channel("3", profile), NOW, 2000, item=make_item(later))

    row = pregen.encode(pregen.piece_for(piece))

    assert row.status == PregenStatus.FAILED
    assert row.error.startswith("Source unavailable: the file is not on this machine")
    assert str(later) in row.error
    later.write_bytes(sources["clip"].read_bytes())
    assert pregen.plan_horizon(hours=1, now=NOW - timedelta(minutes=1)) == [row]
    assert pregen.encode(row).status == PregenStatus.READY


def test_a_source_outside_the_media_roots_is_never_handed_to_ffmpeg(profile, sources, settings, tmp_path):
    """A catalog path that leads out of the operator's media roots (through a link, a path mapping
    or an old row) fails with the reason, and ffmpeg never opens it; inside the roots it encodes."""
    library = tmp_path / "library"
    library.mkdir()
    settings.RETROVUE_LIBRARY_ROOTS = [str(library)]
    outside = tmp_path / "elsewhere" / "clip.mp4"
    outside.parent.mkdir()
    outside.write_bytes(sources["clip"].read_bytes())
    linked = library / "linked.mp4"
    linked.symlink_to(outside)

    for number, path in (("3", outside), ("4", linked)):
        row = pregen.encode(
            pregen.piece_for(air(make_channel(number, profile), NOW, 2000, item=make_item(path)))
        )
        assert row.status == PregenStatus.FAILED
        assert "outside the media roots" in row.error and "RETROVUE_LIBRARY_ROOTS" in row.error

    inside = library / "clip.mp4"
    inside.write_bytes(sources["clip"].read_bytes())
    row = pregen.encode(pregen.piece_for(air(make_channel("5", profile), NOW, 2000, item=make_item(inside))))
    assert row.status == PregenStatus.READY, row.error


def test_a_remote_only_item_says_it_needs_a_path_mapping(profile):
    item = EpisodeFactory()
    MediaFile.objects.create(playable=item, position=0, plex_path="/data/x.mkv", state="remote_only")
    row = pregen.encode(pregen.piece_for(air(make_channel("3", profile), NOW, 2000, item=item)))
    assert row.status == PregenStatus.FAILED and "remote only" in row.error and "path mapping" in row.error


def test_an_unreadable_source_fails_with_what_ffprobe_said(profile, tmp_path):
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"not a video at all" * 100)
    row = pregen.encode(pregen.piece_for(air(make_channel("3", profile), NOW, 2000, item=make_item(junk))))
    assert row.status == PregenStatus.FAILED and "can't be read" in row.error


def test_an_encoder_error_keeps_the_tail_of_ffmpeg_output(profile, sources, settings):
    settings.RETROVUE_PREGEN_PRESET = "no-such-preset"
    row = pregen.encode(
        pregen.piece_for(air(make_channel("3", profile), NOW, 2000, item=make_item(sources["clip"])))
    )
    assert row.status == PregenStatus.FAILED
    assert row.error.startswith("ffmpeg failed") and "preset" in row.error.lower()
    assert not list(pregen.file_path(row).parent.glob("*.tmp"))  # no half-written file left


def test_an_encode_whose_worker_died_goes_back_to_pending(profile, sources, store):
    row = pregen.piece_for(air(make_channel("3", profile), NOW, 2000, item=make_item(sources["clip"])))
    PregenPiece.objects.filter(pk=row.pk).update(status=PregenStatus.ENCODING)
    busy = pregen.piece_for(air(make_channel("4", profile), NOW, 2500, item=make_item(sources["clip"])))
    PregenPiece.objects.filter(pk=busy.pk).update(status=PregenStatus.ENCODING)
    temporary = pregen.file_path(busy).with_name(f"{busy.pk}.ts.abcd1234.tmp")
    temporary.parent.mkdir(parents=True, exist_ok=True)
    temporary.touch()

    assert pregen.requeue_stalled() == 1
    assert PregenPiece.objects.get(pk=row.pk).status == PregenStatus.PENDING
    assert PregenPiece.objects.get(pk=busy.pk).status == PregenStatus.ENCODING


# --- Planning --------------------------------------------------------------------------------------


def test_plan_covers_enabled_channels_in_the_horizon_soonest_first(profile, sources):
    channel = make_channel("3", profile)
    off = make_channel("9", profile, enabled=False)
    spots = [ShortFormFactory() for _ in range(4)]
    for spot in spots:
        MediaFile.objects.create(playable=spot, position=0, local_path=str(sources["clip"]), state="normal")
    air(channel, NOW + timedelta(hours=2), 3000, item=spots[0], kind="commercial")
    air(channel, NOW + timedelta(minutes=10), 3000, item=spots[1], kind="commercial")
    air(channel, NOW + timedelta(hours=7), 3000, item=spots[2], kind="commercial")  # beyond 6 h
    air(off, NOW + timedelta(minutes=5), 3000, item=spots[3], kind="commercial")  # channel disabled
    air(channel, NOW - timedelta(hours=1), 3000, item=spots[3], kind="commercial")  # already aired

    needed = pregen.plan_horizon(hours=6, now=NOW)

    assert [row.playable_id for row in needed] == [spots[1].pk, spots[0].pk]
    assert [row.next_air_at for row in needed] == [NOW + timedelta(minutes=10), NOW + timedelta(hours=2)]


def test_a_piece_already_on_air_is_planned_after_every_piece_still_to_start(profile, sources):
    channel = make_channel("3", profile)
    other = make_channel("4", profile)
    spots = [ShortFormFactory() for _ in range(3)]
    for spot in spots:
        MediaFile.objects.create(playable=spot, position=0, local_path=str(sources["clip"]), state="normal")
    air(channel, NOW - timedelta(seconds=20), 60_000, item=spots[0], kind="commercial")  # on air now
    air(channel, NOW + timedelta(seconds=40), 3000, item=spots[1], kind="commercial")
    air(other, NOW + timedelta(hours=1), 3000, item=spots[2], kind="commercial")

    needed = pregen.plan_horizon(hours=6, now=NOW)

    assert [row.playable_id for row in needed] == [spots[1].pk, spots[2].pk, spots[0].pk]


def test_a_piece_that_aired_moves_its_airing_to_last_aired(profile, sources):
    channel = make_channel("3", profile)
    piece = air(channel, NOW, 3000, item=make_item(sources["clip"]))
    row = pregen.plan_horizon(hours=1, now=NOW - timedelta(minutes=5))[0]
    assert row.next_air_at == NOW

    pregen.plan_horizon(hours=1, now=NOW + timedelta(minutes=5))

    row.refresh_from_db()
    assert (row.next_air_at, row.last_aired_at) == (None, piece.start)


def test_plan_stops_where_the_store_would_overflow(profile, sources, settings):
    channel = make_channel("3", profile)
    item = make_item(sources["clip"], duration_ms=600_000)
    for minute in range(5):  # 5 pieces of 60 s at 496 kbit/s: about 4 MB each
        air(channel, NOW + timedelta(minutes=minute), 60_000, item=item, in_ms=minute * 60_000)
    settings.RETROVUE_PREGEN_MAX_GB = 0.014  # room for three

    needed = pregen.plan_horizon(hours=1, now=NOW)

    assert [row.in_ms for row in needed] == [0, 60_000, 120_000]


def test_editing_the_profile_size_makes_ready_pieces_encode_again(profile, sources):
    piece = air(make_channel("3", profile), NOW, 2000, item=make_item(sources["clip"]))
    row = pregen.encode(pregen.piece_for(piece))
    assert row.status == PregenStatus.READY, row.error
    assert pregen.plan_horizon(hours=1, now=NOW - timedelta(minutes=1)) == []

    StreamProfile.objects.filter(pk=profile.pk).update(width=640, height=480)

    assert pregen.plan_horizon(hours=1, now=NOW - timedelta(minutes=1)) == [row]
    assert pregen.encode(row).width == 640


# --- Eviction --------------------------------------------------------------------------------------


def ready_piece(profile, item, in_ms: int, size: int, length_ms: int = 1000, **fields) -> PregenPiece:
    row = PregenPiece.objects.create(
        playable=item, profile=profile, in_ms=in_ms, out_ms=in_ms + length_ms, status=PregenStatus.READY,
        size_bytes=size, **fields,
    )  # fmt: skip
    row.path = pregen.relative_path(row)
    row.save(update_fields=["path"])
    path = pregen.file_path(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)
    return row


def test_eviction_removes_what_airs_least_soon_until_under_the_cap(profile, sources):
    channel = make_channel("3", profile)
    item = make_item(sources["clip"], duration_ms=600_000)
    soon, later, latest, never, older = (ready_piece(profile, item, n * 1000, 100) for n in range(5))
    PregenPiece.objects.filter(pk=older.pk).update(last_aired_at=NOW - timedelta(days=2))
    PregenPiece.objects.filter(pk=never.pk).update(last_aired_at=NOW - timedelta(hours=1))
    for row, hours in ((soon, 2), (later, 5), (latest, 30)):  # latest is beyond any planning horizon
        air(channel, NOW + timedelta(hours=hours), 1000, item=item, in_ms=row.in_ms)

    result = pregen.evict(max_bytes=250, now=NOW)

    assert result["evicted"] == 3 and result["store_bytes"] == 200 and not result["over_cap"]
    assert set(PregenPiece.objects.values_list("pk", flat=True)) == {soon.pk, later.pk}
    assert not pregen.file_path(never).exists() and not pregen.file_path(latest).exists()
    assert pregen.file_path(soon).exists()


def test_eviction_never_touches_a_piece_airing_within_the_hour(profile, sources):
    channel = make_channel("3", profile)
    item = make_item(sources["clip"], duration_ms=600_000)
    ready_piece(profile, item, 0, 100, length_ms=60_000)
    ready_piece(profile, item, 60_000, 100)
    air(channel, NOW - timedelta(seconds=30), 60_000, item=item, in_ms=0)  # on air now
    air(channel, NOW + timedelta(minutes=50), 1000, item=item, in_ms=60_000)

    result = pregen.evict(max_bytes=0, now=NOW)

    assert result == result | {"evicted": 0, "over_cap": True, "store_bytes": 200}
    assert PregenPiece.objects.filter(status=PregenStatus.READY).count() == 2


def test_eviction_drops_rows_that_will_never_be_encoded_and_stray_files(profile, sources, store):
    item = make_item(sources["clip"])
    PregenPiece.objects.create(
        playable=item, profile=profile, in_ms=0, out_ms=1000, status=PregenStatus.FAILED
    )
    stray = store / str(profile.pk) / "0000" / "999.ts"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"x")
    os.utime(stray, (0, 0))

    result = pregen.evict(now=NOW)

    assert result["pruned"] == 1 and result["orphans_removed"] == 1
    assert not PregenPiece.objects.exists() and not stray.exists()


# --- Coverage --------------------------------------------------------------------------------------


def test_coverage_runs_through_consecutive_ready_pieces(profile, sources):
    channel = make_channel("3", profile)
    item = make_item(sources["clip"], duration_ms=3_600_000)
    minute = 60_000
    layout = [(-1, 3, True), (2, 3, True), (5, 2, False), (7, 5, True)]  # start, minutes, ready
    for start, length, ready in layout:
        piece = air(
            channel, NOW + timedelta(minutes=start), length * minute, item=item, in_ms=(start + 1) * minute
        )
        if ready:
            PregenPiece.objects.filter(pk=pregen.piece_for(piece).pk).update(status=PregenStatus.READY)

    assert pregen.coverage(channel, NOW) == timedelta(minutes=5)
    assert pregen.coverage_by_channel(NOW) == {channel.pk: timedelta(minutes=5)}
    assert pregen.coverage(channel, NOW + timedelta(minutes=7)) == timedelta(minutes=5)


def test_coverage_stops_at_a_hole_in_the_log_and_is_zero_when_nothing_is_ready(profile, sources):
    channel = make_channel("3", profile)
    item = make_item(sources["clip"], duration_ms=3_600_000)
    first = air(channel, NOW, 60_000, item=item)
    second = air(channel, NOW + timedelta(minutes=2), 60_000, item=item, in_ms=60_000)  # after a gap
    pregen.piece_for(first), pregen.piece_for(second)
    assert pregen.coverage(channel, NOW) == timedelta(0)

    PregenPiece.objects.update(status=PregenStatus.READY)

    assert pregen.coverage(channel, NOW) == timedelta(minutes=1)


# --- Tasks -----------------------------------------------------------------------------------------


def test_pregen_tasks_run_on_the_pregen_queue_and_are_scheduled(db):
    from django_celery_beat.models import PeriodicTask

    import playout.tasks  # noqa: F401  (registers the tasks)

    for name in ("pregen.plan", "pregen.encode", "pregen.evict"):
        assert name in app.tasks
        assert app.amqp.router.route({}, name)["queue"].name == "pregen"
    schedule = {task.task: task.interval for task in PeriodicTask.objects.filter(task__startswith="pregen.")}
    assert (schedule["pregen.plan"].every, schedule["pregen.plan"].period) == (5, "minutes")
    assert (schedule["pregen.evict"].every, schedule["pregen.evict"].period) == (1, "hours")


def test_the_plan_task_queues_encodes_that_expire_before_the_next_plan(profile, sources, monkeypatch):
    from playout import tasks

    channel = make_channel("3", profile)
    air(channel, NOW + timedelta(minutes=10), 2000, item=make_item(sources["clip"]))
    queued = []
    monkeypatch.setattr(tasks.encode, "apply_async", lambda args, **options: queued.append((args, options)))
    monkeypatch.setattr(pregen.timezone, "now", lambda: NOW)

    result = tasks.plan(hours=1)

    row = PregenPiece.objects.get()
    assert result == {"to_encode": 1, "enqueued": 1, "requeued": 0, "covered_until": None}  # no speed yet
    assert queued == [((row.pk,), {"expires": tasks.ENCODE_MESSAGE_EXPIRES_SECONDS})]
