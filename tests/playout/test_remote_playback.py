"""Remote-only items (no path mapping reaches their files) play from the Plex server's Part URL.

An emulator library is synced with no path mappings, so its files are `remote_only`; a real clip
(made here with ffmpeg, moov atom at the end so reading it needs seeks) is registered as the bytes
of one Part. Pre-generation and the live-transcode fallback read it through the loopback relay,
and the Plex token must show up in no process list, /proc entry, log record or ffmpeg output.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from catalog.models import MediaFile
from playout import ffmpeg_commands as commands
from playout import pregen, pregen_encode
from playout.feed import ChannelFeed, Planner, slate_file
from playout.models import AsRunEntry, PregenStatus
from playout.plex_relay import relay
from plex_emulator import EmulatorConfig, PlexEmulator
from retrovue.subprocesses import run_command
from scheduling.models import Channel, Piece, ProgramEntry, StreamProfile
from tests.catalog.plex_helpers import source_for, sync

pytestmark = pytest.mark.django_db

# Unguessable per run, so finding it anywhere can only mean it leaked from this run.
TOKEN = f"plex-secret-{secrets.token_hex(12)}"
CLIP_SECONDS = 8
NOW = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
LIBRARY = EmulatorConfig(
    seed=5, shows=1, seasons_per_show=1, episodes_per_season=2, specials_per_show=0, movies=1,
    multi_part_fraction=0.0, multi_version_fraction=0.0, token=TOKEN,
)  # fmt: skip


def top_level_atoms(path: Path) -> list[str]:
    names, data, at = [], path.read_bytes(), 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        names.append(data[at + 4 : at + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[at + 8 : at + 16], "big")
        if size < 8:
            break
        at += size
    return names


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """An MP4 with its index (moov) after the media data: no +faststart, so playing it seeks."""
    path = tmp_path_factory.mktemp("remote") / "clip.mp4"
    run_command(
        [
            settings.RETROVUE_FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc=size=320x240:rate=25:duration={CLIP_SECONDS}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={CLIP_SECONDS}",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-f", "mp4", str(path),
        ],
        timeout=60,
    )  # fmt: skip
    atoms = top_level_atoms(path)
    assert atoms.index("moov") > atoms.index("mdat"), atoms
    return path


@pytest.fixture
def emulator():
    with PlexEmulator(LIBRARY) as running:
        yield running


@pytest.fixture(autouse=True)
def store(settings, tmp_path) -> Path:
    settings.RETROVUE_PREGEN_ROOT = str(tmp_path / "pregen")
    settings.RETROVUE_PREGEN_PRESET = "ultrafast"
    settings.DATA_DIR = tmp_path / "data"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "pregen"


@pytest.fixture
def remote_item(emulator, clip):
    """A synced episode whose file is not on this machine, with the clip behind its Part key."""
    source = source_for(emulator)
    sync(source, "full")
    media_file = MediaFile.objects.select_related("playable").filter(playable__kind="episode").first()
    assert media_file.state == "remote_only" and media_file.part_key.startswith("/library/parts/")
    assert not os.path.exists(media_file.local_path)
    emulator.parts.register(media_file.part_key, clip)
    return media_file.playable


def make_channel(number: str = "9") -> Channel:
    profile = StreamProfile.objects.create(
        name="Test 320×240", width=320, height=240, frame_rate=Decimal("25"),
        video_bitrate_kbps=300, audio_bitrate_kbps=64, segment_seconds=2,
    )  # fmt: skip
    return Channel.objects.create(number=number, name="Remote", time_zone="UTC", stream_profile=profile)


def air(channel: Channel, start: datetime, item, in_ms: int, out_ms: int) -> Piece:
    stop = start + timedelta(milliseconds=out_ms - in_ms)
    program = ProgramEntry.objects.create(channel=channel, start=start, stop=stop, title="Program")
    return Piece.objects.create(
        channel=channel, program=program, sequence=0, start=start, stop=stop, kind="content",
        playable=item, in_ms=in_ms, out_ms=out_ms,
    )  # fmt: skip


def probe_duration(path: Path) -> float:
    report = run_command(
        [
            settings.RETROVUE_FFPROBE,
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "json",
            str(path),
        ],
        timeout=30,
    )
    return float(json.loads(report.stdout)["format"]["duration"])


class ProcessWatcher:
    """Samples `ps -ww -eo args` (full width: a cut line could hide a token) and every ffmpeg/ffprobe's /proc cmdline and environ until stopped."""

    def __init__(self):
        self.ps_samples: list[str] = []
        self.proc_samples: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._ps), threading.Thread(target=self._proc)]

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def _ps(self):
        while not self._stop.is_set():
            self.ps_samples.append(
                run_command(["ps", "-ww", "-eo", "args"], timeout=10).stdout.decode("utf-8", "replace")
            )

    def _proc(self):
        while not self._stop.wait(0.005):
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                try:
                    cmdline = (
                        Path(entry.path, "cmdline")
                        .read_bytes()
                        .replace(b"\0", b" ")
                        .decode("utf-8", "replace")
                    )
                    if "ffmpeg" in cmdline or "ffprobe" in cmdline:
                        environ = Path(entry.path, "environ").read_bytes().decode("utf-8", "replace")
                        self.proc_samples.append(f"{cmdline}\n{environ}")
                except OSError:  # gone meanwhile, or not ours
                    continue

    @property
    def everything(self) -> str:
        return "\n".join(self.ps_samples + self.proc_samples)


@pytest.fixture
def ffmpeg_output(monkeypatch) -> list[str]:
    """What every ffmpeg of the encode printed, run at debug level (which logs its HTTP requests)."""
    printed: list[str] = []
    real = pregen_encode.run_encoder

    def run_loudly(argv, **options):
        argv = list(argv)
        if "-loglevel" in argv:
            argv[argv.index("-loglevel") + 1] = "debug"
        result = real(argv, **options)
        printed.append(result.stderr.decode("utf-8", "replace"))
        return result

    monkeypatch.setattr(pregen_encode, "run_encoder", run_loudly)
    return printed


def test_a_remote_part_is_read_from_its_relay_url_with_a_read_timeout():
    profile = StreamProfile(width=320, height=240, frame_rate=Decimal("25"), video_bitrate_kbps=300,
                            audio_bitrate_kbps=64, segment_seconds=2)  # fmt: skip
    url = "http://127.0.0.1:41234/part/abc/file.mkv"
    part = commands.SourcePart("/library/parts/1/2/file.mkv", url=url)
    argv = commands.pregen_argv([part], 61_500, 64_000, profile)
    at = argv.index("-i")
    assert argv[at + 1] == url and argv[at - 2 : at] == ["-rw_timeout", "60000000"]
    assert argv.index("-ss") < at and argv[argv.index("-ss") + 1] == "61.500"
    assert not any(value.startswith("file:") and "parts" in value for value in argv)


def test_a_remote_only_item_is_pregenerated_from_the_part_url_without_the_token_showing(
    emulator, remote_item, store, caplog, ffmpeg_output
):
    caplog.set_level(logging.DEBUG)
    emulator.latency_ms = 150  # each request of ffmpeg's takes a while, so the sampler sees it run
    piece = air(make_channel(), NOW, remote_item, 3000, 7000)

    with ProcessWatcher() as watcher:
        row = pregen.encode(pregen.piece_for(piece))

    assert row.status == PregenStatus.READY, row.error
    output = store / row.path
    assert abs(probe_duration(output) - 4.0) <= 0.04 and abs(row.duration_ms - 4000) <= 40
    # ffmpeg really ran on the relay URL while it was watched, and it seeked through the file.
    assert any("ffmpeg" in sample and "/part/" in sample for sample in watcher.ps_samples)
    assert any("127.0.0.1" in sample and "/part/" in sample for sample in watcher.proc_samples)
    assert any("request: GET /part/" in printed for printed in ffmpeg_output)
    ranges = [served.range for served in emulator.parts.served if served.status == 206]
    assert any(value and not value.startswith("bytes=0-") for value in ranges), ranges
    assert relay().active_jobs() == 0  # the relay URL died with the encode

    assert TOKEN not in watcher.everything
    assert TOKEN not in caplog.text and "Relaying /library/parts/" in caplog.text
    assert not any(TOKEN in printed for printed in ffmpeg_output)
    assert TOKEN not in row.error


def test_a_server_that_forbids_downloads_fails_the_piece_with_that_reason(emulator, remote_item):
    emulator.parts.forbid_downloads()
    row = pregen.encode(pregen.piece_for(air(make_channel(), NOW, remote_item, 0, 2000)))
    assert row.status == PregenStatus.FAILED
    assert row.error.startswith("Source unavailable:") and "forbids downloading" in row.error
    assert "(403)" in row.error and TOKEN not in row.error


def test_a_server_without_bandwidth_fails_the_piece_for_a_retry_and_it_succeeds_later(emulator, remote_item):
    emulator.parts.fail_with(509)
    row = pregen.encode(pregen.piece_for(air(make_channel(), NOW, remote_item, 0, 2000)))
    assert row.status == PregenStatus.FAILED and "509" in row.error and "bandwidth" in row.error
    emulator.parts.fail_with(None)
    assert pregen.plan_horizon(hours=1, now=NOW - timedelta(minutes=1)) == [row]
    assert pregen.encode(row).status == PregenStatus.READY


def test_a_source_that_disallows_remote_playback_does_not_stream(emulator, remote_item):
    type(remote_item.source).objects.filter(pk=remote_item.source_id).update(allow_remote_playback=False)
    row = pregen.encode(pregen.piece_for(air(make_channel(), NOW, remote_item, 0, 2000)))
    assert row.status == PregenStatus.FAILED and "remote playback is off" in row.error
    assert not emulator.parts.served


def test_a_remote_item_not_pregenerated_in_time_is_transcoded_live_from_plex(
    emulator, remote_item, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    channel = make_channel()
    start = timezone.now().replace(microsecond=0)
    piece = air(channel, start, remote_item, 1000, 7000)
    tuned_in = start + timedelta(seconds=2)

    planner = Planner(channel, slate=slate_file(channel.stream_profile))
    entry = planner.plan(tuned_in)
    assert (entry.origin, entry.piece) == ("live", piece)
    assert "from Plex" in entry.note
    argv = " ".join(entry.argv)
    assert "-ss 3.000" in argv and "http://127.0.0.1:" in argv and "/part/" in argv
    assert TOKEN not in argv
    entry.release()

    calls = []

    def clock():  # the first reading picks the entry; after that every GOP is due at once
        calls.append(1)
        return tuned_in if len(calls) == 1 else tuned_in + timedelta(hours=1)

    feed = ChannelFeed(channel, planner, segment=timedelta(seconds=2), clock=clock)
    output = tmp_path / "live.ts"
    with ProcessWatcher() as watcher, output.open("wb") as sink:
        feed.serve(0, sink.write)

    assert feed.cursor == piece.stop
    assert abs(probe_duration(output) - 4.0) <= 0.1
    assert relay().active_jobs() == 0
    assert TOKEN not in watcher.everything and TOKEN not in caplog.text


def test_a_live_transcode_refused_by_plex_airs_the_slate_and_logs_plex_reason(
    emulator, remote_item, tmp_path
):
    channel = make_channel()
    start = timezone.now().replace(microsecond=0)
    air(channel, start, remote_item, 0, 4000)
    emulator.parts.forbid_downloads()
    calls = []

    def clock():
        calls.append(1)
        return start if len(calls) == 1 else start + timedelta(hours=1)

    feed = ChannelFeed(
        channel,
        Planner(channel, slate=slate_file(channel.stream_profile)),
        segment=timedelta(seconds=2),
        clock=clock,
    )
    with (tmp_path / "entry.ts").open("wb") as sink:
        feed.serve(0, sink.write)

    rows = list(AsRunEntry.objects.filter(channel=channel).order_by("pk").values_list("origin", "error"))
    assert [origin for origin, _error in rows] == ["live", "slate"]
    assert "forbids downloading" in rows[0][1] and "(403)" in rows[0][1] and TOKEN not in rows[0][1]
    assert relay().active_jobs() == 0
