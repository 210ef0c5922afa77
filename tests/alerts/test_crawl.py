"""Crawl mode: an alert's text scrolls over the running programme on the channels the station can
re-encode live (its crawl capacity); beyond that, channels get the alert's slate.

The end-to-end test airs two channels with real ffmpeg, the feed, HLS and the shared HLS checker:
one crawls, one (over capacity) gets the slate, and on clear the crawling channel goes back to
stream-copying its pre-generated programme."""

# ruff: noqa: F811  (pytest fixtures imported from the channel-process tests are parameters here)
from __future__ import annotations

import subprocess
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.utils import timezone

from alerts import crawl
from alerts.choices import EventKind, Mode, Targeting
from alerts.interrupts import SOURCE, AlertInterrupts
from alerts.models import Alert, AlertEvent, StationAlertSettings
from alerts.services import AlertDraft, clear_alert, issue_alert
from alerts.slate import encode_slates_for
from playout import crawl as playout_crawl
from playout.ffmpeg_commands import test_pattern_argv
from playout.models import AsRunEntry
from playout.supervisor import Supervisor
from retrovue.subprocesses import run_command
from tests.live_check import LiveCheck
from tests.playout.test_channel_process import (  # noqa: F401  (fixtures)
    SEGMENT,
    TOOLS,
    _playlist,
    _wait,
    air,
    clips,
    dirs,
    encoded,
    item_for,
    make_channel,
    ready,
)

WIDTH, HEIGHT = 320, 240
SD = SimpleNamespace(width=640, height=480, frame_rate="29.97", video_bitrate_kbps=1500,
                     audio_bitrate_kbps=128, segment_seconds=2)  # fmt: skip


# --- The text and the command line -------------------------------------------------------------------


def test_the_crawl_line_is_one_line_and_says_a_test_is_not_real():
    line = crawl.crawl_line("Tornado\nwarning", "Take  shelter\n now.", "Go to a basement.", "Test", "NWS")
    assert "\n" not in line
    assert line.startswith("TEST MESSAGE: NOT A REAL EMERGENCY")
    assert "Tornado warning" in line and "Take shelter now." in line and "Go to a basement." in line


def test_a_long_crawl_is_cut_to_the_ecig_limit_and_marked():
    line = crawl.crawl_line("Flood", "water " * 600, "", "Actual")
    assert len(line) <= crawl.MAX_CRAWL_CHARS and line.endswith("***")


def test_the_crawl_reads_its_text_from_a_file_and_never_puts_it_in_the_filtergraph(tmp_path):
    hostile = "Evacuate'; drawtext=text=pwned:[out] %{localtime} \\ now"
    folder = tmp_path / "it's: a [folder], really"
    folder.mkdir()
    text_file = folder / "alert.txt"
    text_file.write_text(hostile)
    profile = SimpleNamespace(width=WIDTH, height=HEIGHT, frame_rate="30", video_bitrate_kbps=300,
                              audio_bitrate_kbps=64, segment_seconds=2)  # fmt: skip
    programme = folder / "programme.ts"
    run_command(test_pattern_argv(4000, profile, programme, preset="ultrafast"), timeout=60)
    argv = playout_crawl.crawl_file_argv(programme, 1500, 2000, profile, text_file, preset="ultrafast")
    assert "pwned" not in " ".join(argv) and "localtime" not in " ".join(argv)
    assert argv[argv.index("-ss") + 1] == "1.500"
    # The folder's quote, colon, comma and brackets survive the filtergraph: real ffmpeg reads it.
    crawled = run_command(argv, timeout=60).stdout
    assert len(crawled) > 10_000
    frame = _decode(crawled, 0.0)
    bars = _decode(programme, 1.5)
    assert _difference(frame, bars, BAND_ROWS) > 25 and _difference(frame, bars, PICTURE_ROWS) < 12


def test_the_text_file_is_written_once_per_alert_and_text(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.RETROVUE_PREGEN_ROOT = tmp_path / "pregen"  # alert slates live in the store
    first = crawl.crawl_text_file(5, "EMERGENCY ALERT   •   Flood")
    assert first.read_text() == "EMERGENCY ALERT   •   Flood"
    assert crawl.crawl_text_file(5, "EMERGENCY ALERT   •   Flood") == first
    assert crawl.crawl_text_file(5, "EMERGENCY ALERT   •   Fire") != first


def test_the_default_capacity_comes_from_the_cores_and_the_measured_cost(settings):
    settings.RETROVUE_ALERT_CRAWL_CORE_COST = 0.2
    settings.RETROVUE_ALERT_CRAWL_CPU_SHARE = 0.5
    assert crawl.default_crawl_capacity(cores=2) == 5
    assert crawl.default_crawl_capacity(cores=8) == 20
    settings.RETROVUE_ALERT_CRAWL_CPU_SHARE = 0.0
    assert crawl.default_crawl_capacity(cores=2) == 1  # always at least one


# --- Who crawls --------------------------------------------------------------------------------------


def _alert(**fields) -> Alert:
    draft = AlertDraft(headline="Flood warning", message="Move to higher ground.", status="Actual", **fields)
    return issue_alert(draft)


@pytest.fixture
def quiet_slates(monkeypatch):
    monkeypatch.setattr("alerts.services._encode_slates_soon", lambda alert_id: None)
    monkeypatch.setattr("alerts.services.prepare_standby_cards", lambda: None)


@pytest.mark.django_db
def test_channels_beyond_the_crawl_capacity_get_the_slate(quiet_slates, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.RETROVUE_PREGEN_ROOT = tmp_path / "pregen"  # alert slates live in the store
    channels = [make_channel(str(number)) for number in (7, 8, 9)]
    StationAlertSettings.objects.update_or_create(pk=1, defaults={"crawl_capacity": 2})
    alert = _alert(mode=Mode.CRAWL)
    source = AlertInterrupts(snapshot_seconds=0)
    source.standby = lambda profile_id: tmp_path / "standby.ts"
    now = timezone.now()
    profile = channels[0].stream_profile_id
    keys = [source.current_key(channel.pk, profile, now) for channel in channels]
    assert keys == [f"alert:{alert.pk}:crawl", f"alert:{alert.pk}:crawl", f"alert:{alert.pk}:waiting"]
    crawling = source.interruption(channels[0].pk, profile, now)
    assert crawling.crawl_text.read_text().startswith("EMERGENCY ALERT")
    assert "Move to higher ground." in crawling.crawl_text.read_text()
    assert crawling.path == tmp_path / "standby.ts"  # where the programme can't be re-encoded
    assert source.interruption(channels[2].pk, profile, now).crawl_text is None


@pytest.mark.django_db
def test_a_slate_alert_on_top_takes_the_channel_and_frees_its_crawl_slot(quiet_slates, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.RETROVUE_PREGEN_ROOT = tmp_path / "pregen"  # alert slates live in the store
    channels = [make_channel(str(number)) for number in (7, 8)]
    StationAlertSettings.objects.update_or_create(pk=1, defaults={"crawl_capacity": 1})
    crawling = _alert(mode=Mode.CRAWL, priority=40)
    urgent = _alert(mode=Mode.SLATE, priority=90, targeting=Targeting.CHANNELS, channel_ids=[channels[0].pk])
    source = AlertInterrupts(snapshot_seconds=0)
    source.standby = lambda profile_id: tmp_path / "standby.ts"
    now, profile = timezone.now(), channels[0].stream_profile_id
    assert source.current_key(channels[0].pk, profile, now) == f"alert:{urgent.pk}:waiting"
    assert source.current_key(channels[1].pk, profile, now) == f"alert:{crawling.pk}:crawl"


# --- On the air ---------------------------------------------------------------------------------------


def _frame(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        data = response.read()
    return _decode(data, 0.0)


def _decode(data_or_path, at_seconds: float) -> bytes:
    source = (
        ["-i", "pipe:0"]
        if isinstance(data_or_path, bytes)
        else ["-ss", f"{at_seconds:.3f}", "-i", str(data_or_path)]
    )
    decoded = subprocess.run(
        [settings.RETROVUE_FFMPEG, "-v", "error", *source, "-frames:v", "1",
         "-s", f"{WIDTH}x{HEIGHT}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        input=data_or_path if isinstance(data_or_path, bytes) else None, capture_output=True, timeout=30,
    )  # fmt: skip
    assert decoded.returncode == 0 and len(decoded.stdout) >= WIDTH * HEIGHT * 3, decoded.stderr[-500:]
    return decoded.stdout


def _difference(first: bytes, second: bytes, rows: range) -> float:
    """Mean absolute difference per colour value over these rows."""
    start, stop = rows.start * WIDTH * 3, rows.stop * WIDTH * 3
    return sum(abs(a - b) for a, b in zip(first[start:stop], second[start:stop], strict=True)) / (
        stop - start
    )


CHECK_SECONDS = 90  # a bound: the check stops once the return is behind it


def _newest_number(base: str) -> int:
    """The media sequence number of the newest listed segment."""
    playlist = _playlist(f"{base}/hls/7/index.m3u8")
    return (playlist.media_sequence or 0) + len(playlist.segments) - 1


# The band: 5% down the frame, 1.8 × the text size (1/16 of the height) tall.
BAND_ROWS = range(round(HEIGHT * 0.05) + 2, round(HEIGHT * 0.05) + 24)
PICTURE_ROWS = range(HEIGHT // 2, HEIGHT - 40)


@pytest.mark.e2e
def test_a_crawl_scrolls_over_the_programme_and_the_channel_goes_back_to_stream_copy(
    transactional_db, live_server, settings, dirs, clips, encoded, monkeypatch
):
    monkeypatch.setattr(SOURCE, "snapshot_seconds", 0.2)
    monkeypatch.setattr("alerts.services._encode_slates_soon", lambda alert_id: None)
    SOURCE.forget()
    numbers = ["7", "8"]
    channels = [make_channel(number) for number in numbers]
    items = {name: item_for(clips[name]) for name in ("red", "blue", "green")}
    cycle = [("green", 0, 9000), ("red", 0, 7000), ("blue", 1000, 6000)]
    files = {}
    for name, in_ms, out_ms in cycle:
        ready(channels[0], items[name], in_ms, out_ms, encoded[(name, in_ms, out_ms)])
        files[items[name].pk] = encoded[(name, in_ms, out_ms)]
    begin = timezone.now().replace(microsecond=0) - timedelta(seconds=3)
    for channel in channels:
        start = begin
        while start < begin + timedelta(minutes=3):
            for name, in_ms, out_ms in cycle:
                start = air(channel, start, items[name], in_ms, out_ms).stop
    StationAlertSettings.objects.update_or_create(pk=1, defaults={"crawl_capacity": 1})

    supervisor = Supervisor(worker_id="crawl-test", channel_numbers=numbers, lease_seconds=30)
    runner = threading.Thread(target=supervisor.run, kwargs={"install_signal_handlers": False}, daemon=True)
    base = live_server.url
    runner.start()
    checker = None
    try:
        for number in numbers:
            assert _wait(lambda n=number: _playlist(f"{base}/hls/{n}/index.m3u8"), timeout=30), number
        checker = LiveCheck(f"{base}/hls/7/index.m3u8", CHECK_SECONDS)
        time.sleep(3)
        sequences = [_newest_number(base)]
        alert = _alert(mode=Mode.CRAWL)
        SOURCE.forget()

        crawl_on = _wait(
            lambda: AlertEvent.objects.filter(
                alert=alert, channel=channels[0], kind=EventKind.ON_AIR
            ).first(),
            timeout=6 * SEGMENT,
        )
        assert crawl_on is not None and crawl_on.detail == "crawl"
        # Over capacity, the other channel breaks in with the stand-by card, then the slate.
        slated = _wait(
            lambda: AlertEvent.objects.filter(
                alert=alert, channel=channels[1], kind=EventKind.ON_AIR
            ).first(),
            timeout=6 * SEGMENT,
        )
        assert slated is not None and slated.detail in ("stand-by card", "slate")
        encode_slates_for(alert.pk)

        # A crawl segment: the band differs from the programme frame it was drawn over, the rest of
        # the picture is that frame.
        def crawl_segment():
            playlist = _playlist(f"{base}/hls/7/index.m3u8")
            newest = playlist and playlist.segments[-1]
            if not newest or newest.program_date_time < crawl_on.at + timedelta(seconds=SEGMENT):
                return None
            return newest

        segment = _wait(crawl_segment, timeout=8 * SEGMENT, interval=0.2)
        assert segment is not None
        sequences.append(_newest_number(base))
        # (a program date-time is frame-rounded: a segment may be listed a frame before its piece)
        at = segment.program_date_time + timedelta(milliseconds=100)
        row = (
            AsRunEntry.objects.filter(channel=channels[0], actual_start__lte=at)
            .order_by("-actual_start")
            .first()
        )
        assert row.origin == "live" and "crawl" in row.error, (row.origin, row.error)
        aired = _frame(f"{base}/hls/7/{segment.uri}")
        programme = _decode(
            files[row.playable_id], max(0.0, (segment.program_date_time - row.piece.start).total_seconds())
        )
        band, picture = _difference(aired, programme, BAND_ROWS), _difference(aired, programme, PICTURE_ROWS)
        print(f"\ncrawl band differs by {band:.1f}, the picture below by {picture:.1f} (mean per value)")
        Path(settings.DATA_DIR, "crawl-frame.rgb").write_bytes(aired)
        assert band > 25 and picture < 12, (band, picture)

        # No crawl on the channel beyond capacity.
        assert not AlertEvent.objects.filter(alert=alert, channel=channels[1], detail="crawl").exists()

        time.sleep(2 * SEGMENT)
        assert clear_alert(alert)
        SOURCE.forget()
        off = _wait(
            lambda: AlertEvent.objects.filter(
                alert=alert, channel=channels[0], kind=EventKind.OFF_AIR, detail="crawl"
            ).first(),
            timeout=6 * SEGMENT,
        )
        assert off is not None
        back = _wait(
            lambda: (
                AsRunEntry.objects.filter(channel=channels[0], actual_start__gte=off.at)
                .order_by("actual_start")
                .first()
            ),
            timeout=6 * SEGMENT,
        )
        assert back is not None and back.origin == "pregen", back and (back.origin, back.error)
        # The media sequence kept rising through the crawl and the return, and the checker's window
        # (0 violations) covers both.
        assert _wait(
            lambda: _playlist(f"{base}/hls/7/index.m3u8").segments[-1].program_date_time >= back.actual_start,
            timeout=6 * SEGMENT,
        )
        sequences.append(_newest_number(base))
        assert sequences == sorted(sequences) and len(set(sequences)) == 3, sequences
        time.sleep(2 * SEGMENT)  # the checker polls the return's segments too
        assert checker.running, "the checker stopped before the return"
        print(checker.stop().strip())
    finally:
        if checker is not None:
            checker.kill()
        supervisor.stopping.set()
        runner.join(timeout=20)
        SOURCE.forget()
