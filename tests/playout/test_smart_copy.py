"""Smart copy (issue 15, item 2): a source whose video fits the channel keeps its own compressed
frames, only the frames before its first keyframe in the cut are encoded; anything else is fully
encoded. The pieces air through the real feed and channel ffmpeg with no timestamp trouble, and the
segments where codec parameters change are found, so the playlist can mark them.

Sources are a few seconds of lavfi video made once per session.
"""

from __future__ import annotations

import itertools
import json
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings

from playout import ffmpeg_commands as commands
from playout import pregen, pregen_encode, smart_copy
from playout.channel_process import ChannelProcess
from playout.feed_pipes import FeedServer
from playout.models import PregenStatus
from playout.parameter_sets import segment_parameter_sets
from retrovue.subprocesses import run_command
from scheduling.choices import VideoMode
from scheduling.models import Channel, StreamProfile
from tests.playout.feed_run import air_at_once
from tests.playout.test_channel_process import air, item_for

T0 = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
FPS = 30
SEGMENT = 2
DTS_COMPLAINT = "non monotonically increasing dts"


def _ffmpeg(*arguments: str) -> None:
    run_command(
        [settings.RETROVUE_FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *arguments], timeout=120
    )


def _source(path: Path, *video_options: str, size: str = "320x240", seconds: int = 12) -> Path:
    _ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={FPS},noise=alls=12:allf=t",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", *video_options,
        "-c:a", "aac", str(path),
    )  # fmt: skip
    return path


@pytest.fixture(scope="session")
def sources(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("smart-copy")
    fitting_gop = [
        "-g",
        str(FPS * SEGMENT),
        "-keyint_min",
        str(FPS * SEGMENT),
        "-sc_threshold",
        "0",
        "-bf",
        "0",
    ]
    return {
        # Keyframes every segment, no B-frames, the profile's size and rate: fits.
        "fitting": _source(folder / "fitting.mp4", *fitting_gop),
        # The same at 640×360: fits a pass-through profile only.
        "large": _source(folder / "large.mp4", *fitting_gop, size="640x360"),
        # B-frames: never copied.
        "b_frames": _source(
            folder / "b_frames.mp4", "-g", str(FPS * SEGMENT), "-sc_threshold", "0", "-bf", "2"
        ),
        # Keyframes 5 s apart: copied GOPs would be longer than a segment.
        "long_gops": _source(folder / "long_gops.mp4", "-g", str(FPS * 5), "-sc_threshold", "0", "-bf", "0"),
    }


@pytest.fixture
def profile(transactional_db, settings, tmp_path) -> StreamProfile:
    settings.HLS_ROOT = tmp_path / "hls"
    settings.DATA_DIR = tmp_path / "data"
    settings.RETROVUE_PREGEN_ROOT = str(tmp_path / "pregen")
    settings.RETROVUE_PREGEN_PRESET = "ultrafast"
    return StreamProfile.objects.create(
        name="Smart 320×240", width=320, height=240, frame_rate=Decimal(FPS), video_bitrate_kbps=600,
        audio_bitrate_kbps=96, segment_seconds=SEGMENT, video_mode=VideoMode.SMART_COPY,
    )  # fmt: skip


@pytest.fixture
def channel(profile) -> Channel:
    return Channel.objects.create(number="5", name="Smart", time_zone="UTC", stream_profile=profile)


def _encode(channel: Channel, item, in_ms: int, out_ms: int, start: datetime = T0):
    piece = air(channel, start, item, in_ms, out_ms)
    row = pregen.encode(pregen.piece_for(piece))
    assert row.status == PregenStatus.READY, row.error
    return piece, row


def _frame_hashes(path: Path) -> list[str]:
    """MD5 of every decoded picture, in order."""
    completed = run_command(
        [settings.RETROVUE_FFMPEG, "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "framemd5", "-"],
        timeout=60,
    )
    lines = completed.stdout.decode().splitlines()
    return [line.rsplit(",", 1)[1].strip() for line in lines if line and not line.startswith("#")]


def _video_packets(path: Path) -> list[dict]:
    completed = run_command(
        [settings.RETROVUE_FFPROBE, "-v", "error", "-select_streams", "v:0", "-show_entries",
         "packet=pts,flags", "-of", "json", str(path)],
        timeout=60,
    )  # fmt: skip
    return json.loads(completed.stdout)["packets"]


def test_a_fitting_source_is_copied_frame_for_frame_after_an_encoded_head(channel, profile, sources):
    in_ms, out_ms = 1234, 9877  # the cut-in falls between keyframes, the cut-out between frames
    _piece, row = _encode(channel, item_for(sources["fitting"]), in_ms, out_ms)

    path = Path(settings.RETROVUE_PREGEN_ROOT) / row.path
    timing = commands.piece_timing(out_ms - in_ms, profile)
    first = round(in_ms * FPS / 1000)  # source frame 37
    head = 2 * FPS - first  # frames 37…59 are encoded, 60 on are copied
    assert row.copied_frames == timing.frames - head > 0.7 * timing.frames

    # The copied pictures are the source's own, bit for bit: a re-encode could not reproduce them.
    aired, source = _frame_hashes(path), _frame_hashes(sources["fitting"])
    assert len(aired) == timing.frames
    assert aired[head:] == source[first + head : first + timing.frames]
    assert aired[:head] != source[first : first + head]  # the head was encoded

    # What the feed needs of any piece: video from 0 on a constant frame step, an IDR opening the
    # piece and every copied GOP (none longer than a segment), audio ending no later than video.
    packets = _video_packets(path)
    pts = [packet["pts"] for packet in packets]
    assert pts[0] == 0 and {later - earlier for earlier, later in itertools.pairwise(pts)} == {90_000 // FPS}
    keys = [index for index, packet in enumerate(packets) if "K" in packet["flags"]]
    assert keys == [0, *range(head, timing.frames, 2 * FPS)]
    assert abs(row.duration_ms - timing.duration_ms) <= 1000 // FPS


def test_a_cut_starting_on_a_keyframe_needs_no_encoded_head(channel, profile, sources):
    _piece, row = _encode(channel, item_for(sources["fitting"]), 4000, 8000)
    assert row.copied_frames == 4 * FPS
    path = Path(settings.RETROVUE_PREGEN_ROOT) / row.path
    assert _frame_hashes(path) == _frame_hashes(sources["fitting"])[4 * FPS : 8 * FPS]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("b_frames", "B-frames"),
        ("long_gops", "keyframes further apart than a segment"),
        ("large", "size 640×360"),
    ],
)
def test_a_source_that_does_not_fit_is_fully_encoded(channel, profile, sources, source, reason):
    video = smart_copy.probe_video(str(sources[source]))
    part = commands.SourcePart(path=str(sources[source]), duration_ms=12_000)
    why = smart_copy.mismatch(video, profile) or smart_copy.plan(part, 1000, 11_000, profile, video)
    assert reason in why

    _piece, row = _encode(channel, item_for(sources[source]), 1000, 11_000)
    assert row.copied_frames == 0
    assert (row.width, row.height) == (320, 240)
    path = Path(settings.RETROVUE_PREGEN_ROOT) / row.path
    keys = [index for index, packet in enumerate(_video_packets(path)) if "K" in packet["flags"]]
    assert keys == list(range(0, 10 * FPS, 2 * FPS))


def test_a_channel_with_a_bug_encodes_even_a_fitting_source(channel, profile, sources, tmp_path):
    from django.core.files.base import ContentFile

    bug = tmp_path / "bug.png"
    _ffmpeg("-f", "lavfi", "-i", "color=c=white:s=40x20,format=rgba", "-frames:v", "1", str(bug))
    channel.bug_image.save("bug.png", ContentFile(bug.read_bytes()))
    _piece, row = _encode(channel, item_for(sources["fitting"]), 2000, 6000)
    assert row.bug_key and row.copied_frames == 0


def test_an_encode_only_profile_never_copies(channel, profile, sources):
    StreamProfile.objects.filter(pk=profile.pk).update(video_mode=VideoMode.ENCODE)
    channel.refresh_from_db()
    _piece, row = _encode(channel, item_for(sources["fitting"]), 2000, 6000)
    assert row.copied_frames == 0


def test_a_pass_through_profile_copies_a_source_at_its_own_size(channel, profile, sources):
    StreamProfile.objects.filter(pk=profile.pk).update(video_mode=VideoMode.PASS_THROUGH)
    channel.refresh_from_db()
    _piece, copied = _encode(channel, item_for(sources["large"]), 2000, 6000)
    _piece, encoded = _encode(
        channel, item_for(sources["b_frames"]), 2000, 6000, start=T0 + timedelta(hours=1)
    )
    assert copied.copied_frames == 4 * FPS and (copied.width, copied.height) == (640, 360)
    assert encoded.copied_frames == 0 and (encoded.width, encoded.height) == (320, 240)


def test_smart_copy_scratch_files_carry_the_owner_tag_partial_file_cleanup_looks_for(tmp_path):
    temporary = tmp_path / "12.ts.host-42-7-0a1b2c3d.tmp"
    names = smart_copy.scratch_names(temporary)
    assert {names(kind).name for kind in ("head", "body", "list")} == {
        "12.ts.host-42-7-0a1b2c3da.tmp", "12.ts.host-42-7-0a1b2c3db.tmp", "12.ts.host-42-7-0a1b2c3dc.tmp",
    }  # fmt: skip
    assert all(pregen_encode._TEMP_OWNER.search(names(kind).name) for kind in ("head", "body", "list"))


def test_smart_copied_and_encoded_pieces_air_together_and_parameter_changes_are_found(
    channel, profile, sources, tmp_path
):
    """Encoded, smart-copied, encoded again: the channel ffmpeg joins them with no DTS complaint
    and a constant frame step, the result decodes without error, and the segments whose
    parameter sets change are exactly those where the source's own frames begin and end."""
    fitting, other = item_for(sources["fitting"]), item_for(sources["b_frames"])
    cuts = [(other, 1000, 4500), (fitting, 1234, 7000), (other, 5000, 8000)]
    pieces, rows, start = [], [], T0
    for item, in_ms, out_ms in cuts:
        piece, row = _encode(channel, item, in_ms, out_ms, start)
        pieces.append(piece)
        rows.append(row)
        start = piece.stop
    assert [bool(row.copied_frames) for row in rows] == [False, True, False]

    run = air_at_once(channel, profile, start=T0, stop=pieces[-1].stop, entries=len(cuts),
                      segment_seconds=SEGMENT, tmp_path=tmp_path)  # fmt: skip
    channel_errors, segments, joined, out = run.errors, run.segments, run.joined, run.out
    assert run.channel_run.returncode == 0, channel_errors
    assert DTS_COMPLAINT not in channel_errors, channel_errors

    check = subprocess.run(
        [settings.RETROVUE_FFMPEG, "-v", "error", "-xerror", "-i", str(joined), "-f", "null", "-"],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert check.returncode == 0 and not check.stderr, check.stderr.decode("utf-8", "replace")
    pts = [packet["pts"] for packet in _video_packets(joined)]
    assert {later - earlier for earlier, later in itertools.pairwise(pts)} == {90_000 // FPS}
    assert len(pts) == sum(commands.piece_timing(row.out_ms - row.in_ms, profile).frames for row in rows)

    # Where the parameter sets change: the copied body's first segment (after the encoded head,
    # whose frozen settings match every encoded piece) and the next piece's first segment.
    parameter_sets = [segment_parameter_sets((out / segment.name).read_bytes()) for segment in segments]
    assert all(parameter_sets)
    changes = [
        index for index in range(1, len(segments)) if parameter_sets[index] != parameter_sets[index - 1]
    ]
    starts = list(itertools.accumulate([0, *[segment.end - segment.start for segment in segments]]))
    change_times = [round(starts[index], 2) for index in changes]
    first_piece = commands.piece_timing(3500, profile).seconds
    head = (2 * FPS - round(1234 * FPS / 1000)) / FPS
    second_piece = commands.piece_timing(7000 - 1234, profile).seconds
    assert change_times == [round(float(first_piece) + head, 2), round(float(first_piece + second_piece), 2)]

    # The channel process puts EXT-X-DISCONTINUITY in front of exactly those segments.
    process = ChannelProcess(channel, server=None, size=len(segments))
    process.directory, process._list_path = out, out / "r.csv"
    process.feed = SimpleNamespace(anchor=T0)
    added = process.poll()
    assert [index for index, segment in enumerate(added) if segment.discontinuity] == changes
    text = (out / "index.m3u8").read_text()
    assert text.count("#EXT-X-DISCONTINUITY\n") == len(changes)


def test_an_hevc_pass_through_channel_copies_hevc_and_encodes_the_rest_to_hevc(
    channel, profile, sources, tmp_path
):
    from scheduling.choices import VideoCodec

    StreamProfile.objects.filter(pk=profile.pk).update(
        video_mode=VideoMode.PASS_THROUGH, video_codec=VideoCodec.HEVC
    )
    channel.refresh_from_db()
    hevc = tmp_path / "hevc.mp4"
    _ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=480x270:rate={FPS}", "-f", "lavfi", "-i", "sine=frequency=440",
        "-t", "8", "-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-x265-params", f"keyint={FPS * SEGMENT}:min-keyint={FPS * SEGMENT}:scenecut=0:bframes=0:log-level=error",
        "-c:a", "aac", str(hevc),
    )  # fmt: skip
    _piece, copied = _encode(channel, item_for(hevc), 1000, 7000)
    _piece, encoded = _encode(
        channel, item_for(sources["fitting"]), 1000, 5000, start=T0 + timedelta(hours=1)
    )

    assert copied.copied_frames == 5 * FPS and (copied.video_codec, copied.width, copied.height) == (
        "hevc",
        480,
        270,
    )
    assert encoded.copied_frames == 0 and (encoded.video_codec, encoded.width, encoded.height) == (
        "hevc",
        320,
        240,
    )
    for row in (copied, encoded):
        path = Path(settings.RETROVUE_PREGEN_ROOT) / row.path
        keys = [index for index, packet in enumerate(_video_packets(path)) if "K" in packet["flags"]]
        assert keys[0] == 0 and all(
            later - earlier <= SEGMENT * FPS for earlier, later in itertools.pairwise(keys)
        )
        with path.open("rb") as handle:
            assert segment_parameter_sets(handle.read(188 * 128))  # VPS/SPS/PPS in band at the start


def test_a_keyframe_whose_millisecond_timestamp_rounds_up_is_still_where_the_copy_starts(
    channel, profile, tmp_path
):
    """Matroska stores milliseconds, and starts this video 23 ms into the file: keyframe 135 is stored
    after its exact place on the frame grid. The copy must start on it, not on the keyframe before."""
    StreamProfile.objects.filter(pk=profile.pk).update(frame_rate=Decimal("29.97"))
    channel.refresh_from_db()
    source = tmp_path / "ntsc.mkv"
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30000/1001,noise=alls=12:allf=t",
        "-f", "lavfi", "-i", "sine=frequency=440", "-t", "10", "-c:v", "libx264", "-preset", "ultrafast",
        "-pix_fmt", "yuv420p", "-bf", "0", "-g", "45", "-keyint_min", "45", "-sc_threshold", "0",
        "-c:a", "aac", str(source),
    )  # fmt: skip
    _piece, row = _encode(channel, item_for(source), 4000, 9000)

    timing = commands.piece_timing(5000, channel.stream_profile)
    # The video starts 0.023 s into the file (Matroska shifts it by the audio's priming), so the
    # cut-in at 4 s is frame 119; keyframe 135 is stored at 4.528 s, after its place on the grid.
    first, key = 119, 135
    assert row.copied_frames == timing.frames - (key - first)
    aired = _frame_hashes(Path(settings.RETROVUE_PREGEN_ROOT) / row.path)
    assert aired[key - first :] == _frame_hashes(source)[key : first + timing.frames]


def test_smart_copied_audio_is_brought_to_the_station_loudness(channel, profile, sources):
    _piece, row = _encode(channel, item_for(sources["fitting"]), 2000, 10_000)
    assert row.copied_frames
    measured = subprocess.run(
        [settings.RETROVUE_FFMPEG, "-hide_banner", "-nostats", "-i", str(Path(settings.RETROVUE_PREGEN_ROOT) / row.path),
         "-map", "0:a:0", "-af", "ebur128", "-f", "null", "-"],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    source_gain = smart_copy.loudness_gain_db(measured.stderr.decode())
    assert abs(source_gain) < 1.5  # within 1.5 LU of -24 LUFS


def test_the_loudness_gain_reads_ffmpegs_summary_and_leaves_silence_alone():
    summary = "[Parsed_ebur128_0 @ 0x1] Summary:\n\n  Integrated loudness:\n    I:         -10.5 LUFS\n"
    assert smart_copy.loudness_gain_db(summary) == pytest.approx(-13.5)
    assert smart_copy.loudness_gain_db(summary.replace("-10.5", "-70.0")) == 0
    assert smart_copy.loudness_gain_db("    I:         -inf LUFS\n") == 0
    assert smart_copy.loudness_gain_db("no summary") == 0


def test_each_profile_encodes_with_the_preset_measured_for_its_size_unless_one_is_set(settings):
    from playout.pregen_store import encoder_preset

    settings.RETROVUE_PREGEN_PRESET = None
    sizes = {(640, 480): "veryfast", (1280, 720): "veryfast", (1920, 1080): "faster"}
    for (width, height), preset in sizes.items():
        assert encoder_preset(StreamProfile(width=width, height=height)) == preset
    assert encoder_preset() == "veryfast"  # live transcodes keep real time
    settings.RETROVUE_PREGEN_PRESET = "ultrafast"
    assert encoder_preset(StreamProfile(width=1920, height=1080)) == "ultrafast"


def test_the_pieces_admin_says_which_pieces_were_smart_copied(channel, profile, sources, staff_client):
    _encode(channel, item_for(sources["fitting"]), 2000, 6000)
    _encode(channel, item_for(sources["b_frames"]), 2000, 6000, start=T0 + timedelta(hours=1))
    page = staff_client.get("/admin/playout/pregenpiece/").content.decode()
    assert "smart copy (100% copied)" in page and ">encode<" in page


def test_smart_copied_pieces_air_live_with_no_hls_checker_violations(channel, profile, sources, settings):
    """Real time: the channel process (feed, ffmpeg, playlist) airs encoded, smart-copied and encoded
    pieces from now, its folder is served over HTTP, and the shared HLS checker watches the live
    playlist throughout: no violation, and the parameter changes are marked."""
    import functools
    import sys
    import threading
    import time
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from django.utils import timezone

    from playout import hls

    fitting, other = item_for(sources["fitting"]), item_for(sources["b_frames"])
    cuts = [(other, 1000, 5000), (fitting, 1234, 9000), (other, 5000, 9000)]
    for number, (item, in_ms, out_ms) in enumerate(cuts):  # ready before air
        _encode(channel, item, in_ms, out_ms, T0 + timedelta(hours=number))
    start = timezone.now() + timedelta(seconds=1)
    for item, in_ms, out_ms in cuts:
        start = air(channel, start, item, in_ms, out_ms).stop

    server = FeedServer()
    server.start()
    process = ChannelProcess(channel, server)
    process.start()
    directory = hls.channel_dir(channel.number)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    web = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    checker = None
    try:
        deadline = time.monotonic() + 15
        while not (directory / hls.PLAYLIST_NAME).exists() and time.monotonic() < deadline:
            process.poll()
            time.sleep(0.2)
        url = f"http://127.0.0.1:{web.server_port}/{hls.PLAYLIST_NAME}"
        tools = Path(__file__).resolve().parents[1] / "tools"
        checker = subprocess.Popen(
            [sys.executable, str(tools / "hls_live_check.py"), url, "12"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        while checker.poll() is None:
            process.poll()
            time.sleep(0.2)
        report = checker.stdout.read().decode()
    finally:
        if checker is not None and checker.poll() is None:
            checker.kill()
        process.stop(kill=True)
        server.stop()
        web.shutdown()
    print(report)
    assert checker.returncode == 0, report
    assert "FAIL" not in report, report
    assert any(segment.discontinuity for segment in process.playlist.segments)
