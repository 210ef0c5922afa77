import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from catalog.choices import FileState
from catalog.media.probe import (
    ProbeError,
    ProbeResult,
    apply_probe,
    ffprobe_argv,
    probe_chapters,
    probe_media_file,
)
from catalog.models import MediaFile
from retrovue.subprocesses import run_command

CHAPTERS = """;FFMETADATA1
title=Chaptered sample
[CHAPTER]
TIMEBASE=1/1000
START=0
END=800
title=Cold open
[CHAPTER]
TIMEBASE=1/1000
START=800
END=1500
title=Act one
[CHAPTER]
TIMEBASE=1/1000
START=1500
END=2000
title=Act two
"""


@dataclass(frozen=True)
class MediaSamples:
    """Tiny real media made once per test session: a 2 s clip, a chaptered copy, a corrupt file."""

    clip: Path
    chaptered: Path
    corrupt: Path


def make_media_samples(folder: Path) -> MediaSamples:
    clip = folder / "clip.mp4"
    run_command(
        [
            settings.RETROVUE_FFMPEG,
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=1000",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            str(clip),
        ],
        timeout=60,
    )
    metadata = folder / "chapters.txt"
    metadata.write_text(CHAPTERS)
    chaptered = folder / "chaptered.mkv"
    run_command(
        [
            settings.RETROVUE_FFMPEG,
            "-v",
            "error",
            "-y",
            "-i",
            str(clip),
            "-i",
            str(metadata),
            "-map",
            "0",
            "-map_metadata",
            "1",
            "-map_chapters",
            "1",
            "-c",
            "copy",
            str(chaptered),
        ],
        timeout=60,
    )
    corrupt = folder / "corrupt.mp4"
    corrupt.write_bytes(os.urandom(4096))
    return MediaSamples(clip=clip, chaptered=chaptered, corrupt=corrupt)


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> MediaSamples:
    return make_media_samples(tmp_path_factory.mktemp("probe-media"))


def test_probe_reads_length_codecs_size_and_picture(media):
    result = probe_media_file(str(media.clip))

    assert result.playable is True
    assert result.error == ""
    assert 1900 <= result.duration_ms <= 2100
    assert result.container == "mp4"
    assert result.video_codec == "h264"
    assert result.audio_codec == "aac"
    assert (result.width, result.height) == (160, 120)
    assert result.frame_rate == Decimal("25.000")
    assert result.size_bytes == media.clip.stat().st_size
    assert result.file_state == FileState.NORMAL


def test_corrupt_media_is_not_playable_and_says_why(media):
    result = probe_media_file(str(media.corrupt))

    assert result.playable is False
    assert result.error.startswith("not a readable media file")
    assert "Invalid data" in result.error
    assert result.retry is False
    assert result.file_state == FileState.UNAVAILABLE


def test_missing_file_is_file_not_found_not_an_exception(tmp_path):
    result = probe_media_file(str(tmp_path / "gone.mp4"))

    assert result.missing is True
    assert result.playable is False
    assert result.file_state == FileState.FILE_NOT_FOUND


def test_text_file_is_not_playable(tmp_path):
    notes = tmp_path / "readme.mp4"
    notes.write_text("just some words, not a video\n" * 20)

    result = probe_media_file(str(notes))

    assert result.playable is False
    assert result.error


def test_empty_file_is_not_playable(tmp_path):
    empty = tmp_path / "empty.mkv"
    empty.touch()

    result = probe_media_file(str(empty))

    assert (result.playable, result.error) == (False, "the file is empty")


def test_missing_ffprobe_is_a_retryable_failure_not_the_files_fault(media, settings):
    settings.RETROVUE_FFPROBE = "/nonexistent/ffprobe"

    result = probe_media_file(str(media.clip))

    assert result.playable is False
    assert result.retry is True
    assert "could not be started" in result.error


def test_embedded_chapters_are_read_in_order(media):
    assert probe_chapters(str(media.chaptered)) == [("Cold open", 0), ("Act one", 800), ("Act two", 1500)]
    assert probe_media_file(str(media.chaptered)).chapters == [
        ("Cold open", 0),
        ("Act one", 800),
        ("Act two", 1500),
    ]


def test_file_without_chapters_has_none(media):
    assert probe_chapters(str(media.clip)) == []


def test_chapters_of_a_corrupt_file_raise_a_probe_error(media):
    with pytest.raises(ProbeError, match="not a readable media file"):
        probe_chapters(str(media.corrupt))


def test_ffprobe_command_uses_the_configured_binary_and_cannot_mistake_a_name_for_an_option(settings):
    settings.RETROVUE_FFPROBE = "/opt/ff/ffprobe"

    argv = ffprobe_argv("/media/-rf.mp4")

    assert argv[0] == "/opt/ff/ffprobe"
    assert argv[-2:] == ["-i", "file:/media/-rf.mp4"]
    assert {"-show_format", "-show_streams", "-show_chapters"} <= set(argv)


def test_apply_probe_copies_everything_onto_the_media_file(media):
    result = probe_media_file(str(media.clip))
    media_file = MediaFile()

    apply_probe(media_file, result)

    assert media_file.duration_ms == result.duration_ms
    assert media_file.video_codec == "h264"
    assert media_file.width == 160
    assert media_file.frame_rate == Decimal("25.000")
    assert media_file.size_bytes == result.size_bytes
    assert media_file.playable_ok is True
    assert media_file.probe_error == ""
    assert media_file.probed_at == result.probed_at
    assert media_file.state == FileState.NORMAL


def test_a_retryable_failure_leaves_the_file_unprobed_and_can_keep_the_state(media):
    media_file = MediaFile(state=FileState.REMOTE_ONLY)
    failed = ProbeResult(
        path=str(media.clip), probed_at=None, error="ffprobe timed out after 60 s", retry=True
    )

    apply_probe(media_file, failed, set_state=False)

    assert media_file.probed_at is None
    assert media_file.playable_ok is False
    assert media_file.probe_error == "ffprobe timed out after 60 s"
    assert media_file.state == FileState.REMOTE_ONLY
