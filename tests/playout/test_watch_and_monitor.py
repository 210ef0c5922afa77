"""The watch page (hls.js served locally, now and next from the program log) and the staff
playout monitor (process, playlist, coverage, viewers, CPU from /proc; bounded queries), plus a
browser check that the watch page really plays, when Playwright is at hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client
from django.urls import include, path
from django.utils import timezone

from playout import monitor, viewer_counts
from playout.models import ChannelRuntime, RuntimeState
from scheduling.models import Channel, ProgramEntry
from tests.playout.test_channel_process import make_channel

# These pages' URLs as the lead adds them to retrovue/urls.py.
urlpatterns = [
    path("admin/", (monitor.monitor_urls(admin.site) + admin.site.get_urls(), "admin", admin.site.name)),
    path("", include("scheduling.urls")),
    path("", include("playout.urls")),
    path("", include("playout.watch_urls")),
]
pytestmark = pytest.mark.urls(__name__)

REPO = Path(__file__).resolve().parents[2]
# Playwright (a dev requirement) drives Debian's Chromium: its own browser download is not available.
PLAYWRIGHT_PYTHON = Path(os.environ.get("RETROVUE_PLAYWRIGHT_PYTHON", sys.executable))
CHROMIUM = Path(os.environ.get("RETROVUE_CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture
def hls_root(settings, tmp_path) -> Path:
    settings.HLS_ROOT = tmp_path / "hls"
    settings.DATA_DIR = tmp_path / "data"
    settings.RETROVUE_PREGEN_ROOT = str(tmp_path / "pregen")
    return settings.HLS_ROOT


@pytest.fixture
def channel(db, hls_root) -> Channel:
    return make_channel("7")


def program(channel: Channel, start, minutes: int, title: str, **fields) -> ProgramEntry:
    return ProgramEntry.objects.create(
        channel=channel, start=start, stop=start + timedelta(minutes=minutes), title=title, **fields
    )


# --- The watch page --------------------------------------------------------------------------------


def test_watch_page_plays_the_channel_with_local_hls_js_and_shows_now_and_next(channel):
    now = timezone.now()
    program(
        channel,
        now - timedelta(minutes=10),
        30,
        "Cheers",
        subtitle="Pilot",
        season_number=1,
        episode_number=1,
    )
    program(channel, now + timedelta(minutes=20), 30, "Taxi")
    response = Client().get("/watch/7")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-src="/hls/7/index.m3u8"' in page and "<video" in page
    assert "/static/playout/vendor/hls.min.js" in page and "//cdn" not in page
    assert "Cheers — Pilot" in page and "Taxi" in page and "Channel 7" in page
    assert 'href="/guide"' in page
    assert response["Cache-Control"] == "no-cache"


def test_hls_js_is_vendored_with_its_licence():
    vendor = REPO / "playout" / "static" / "playout" / "vendor"
    assert (vendor / "hls.min.js").stat().st_size > 100_000
    assert "Apache License" in (vendor / "hls.js-LICENSE.txt").read_text()


def test_a_gap_in_the_guide_shows_only_what_comes_next(channel):
    program(channel, timezone.now() + timedelta(minutes=5), 30, "Taxi")
    data = Client().get("/watch/7/now.json").json()
    assert data["now"] is None and data["next"]["title"] == "Taxi"


def test_now_and_next_json_follows_the_log(channel):
    now = timezone.now()
    program(channel, now - timedelta(minutes=1), 30, "Cheers", season_number=2, episode_number=3)
    program(channel, now + timedelta(minutes=29), 30, "Taxi")
    data = Client().get("/watch/7/now.json").json()
    assert (data["now"]["title"], data["now"]["episode"], data["next"]["title"]) == (
        "Cheers",
        "S02E03",
        "Taxi",
    )


def test_unknown_or_disabled_channels_have_no_watch_page(channel):
    Channel.objects.filter(pk=channel.pk).update(enabled=False)
    assert Client().get("/watch/7").status_code == 404
    assert Client().get("/watch/99").status_code == 404


def test_stream_token_is_handed_on_to_the_player(channel):
    page = Client().get("/watch/7?token=abc123").content.decode()
    assert 'data-src="/hls/7/index.m3u8?token=abc123"' in page


# --- The monitor -----------------------------------------------------------------------------------


def test_monitor_is_for_staff_only(channel):
    assert Client().get("/admin/playout/monitor/").status_code == 302
    assert Client().get("/admin/playout/monitor/data.json").status_code == 302


def test_monitor_shows_a_channel_on_air_with_its_ffmpeg_cpu(channel, staff_client):
    busy = subprocess.Popen(
        [settings.RETROVUE_FFMPEG, "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
         "-t", "30", "-c:v", "libx264", "-preset", "ultrafast", "-f", "null", "-"],
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        now = timezone.now()
        ChannelRuntime.objects.create(
            channel=channel, state=RuntimeState.ON_AIR, pid=busy.pid, started_at=now - timedelta(hours=1, seconds=5),
            restarts=2, media_sequence=1234, last_segment_at=now - timedelta(seconds=3),
            last_error="ffmpeg exited with 1",
        )  # fmt: skip
        viewer_counts.publish("box-a:ts-fanout", "ts", {"7": 1})
        time.sleep(0.5)
        page = staff_client.get("/admin/playout/monitor/")
        assert page.status_code == 200 and b"Playout monitor" in page.content and b"On air" in page.content
        # On a loaded box ffmpeg may not have run yet between two samples: refresh as the page does.
        for _ in range(20):
            data = staff_client.get("/admin/playout/monitor/data.json").json()
            if data["channels"][0]["cpu_percent"]:
                break
            time.sleep(0.5)
    finally:
        busy.kill()
        busy.wait()
    (row,) = data["channels"]
    assert (row["number"], row["state"], row["pid"], row["restarts"], row["media_sequence"]) == (
        "7", "on_air", busy.pid, 2, 1234,
    )  # fmt: skip
    assert row["uptime"].startswith("01:00") and row["last_segment_age_seconds"] >= 2.5
    assert row["viewers"] == 1 and row["last_error"] == "ffmpeg exited with 1"
    assert row["coverage"] == "00:00"  # nothing pre-generated
    assert row["cpu_percent"] is not None and row["cpu_percent"] > 0  # a busy box may starve ffmpeg
    assert data["tuners_in_use"] == 0 and data["tuner_count"] >= 1


def test_cpu_is_only_read_for_an_ffmpeg_process(tmp_path):
    (tmp_path / "41").mkdir()
    fields = " ".join(["S"] + ["0"] * 10 + ["150", "50"] + ["0"] * 30)
    (tmp_path / "41" / "stat").write_text(f"41 (ffmpeg) {fields}\n")
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "stat").write_text(f"42 (python (x)) {fields}\n")
    assert monitor.cpu_ticks(41, tmp_path) == 200
    assert monitor.cpu_ticks(42, tmp_path) is None  # a reused pid: not ours
    assert monitor.cpu_ticks(43, tmp_path) is None  # gone


def test_cpu_share_comes_from_the_tick_delta_between_samples(tmp_path):
    stat = tmp_path / "41" / "stat"
    stat.parent.mkdir()
    ticks = iter([100, 150, 400])
    clock = iter([0.0, 0.5, 5.5])

    def write(value):
        stat.write_text(f"41 (ffmpeg) S {'0 ' * 10}{value} 0 0\n")

    write(next(ticks))
    sampler = monitor.CpuSampler(
        proc=tmp_path, clock=lambda: next(clock), sleep=lambda _s: write(next(ticks))
    )
    first = sampler.usage([41])  # first sight: two samples 0.5 s apart
    assert first[41] == pytest.approx(50 / monitor.CLOCK_TICKS / 0.5)
    write(next(ticks))
    assert sampler.usage([41])[41] == pytest.approx(250 / monitor.CLOCK_TICKS / 5.0)


def test_the_monitor_costs_the_same_queries_for_5_or_50_channels(db, hls_root, django_assert_max_num_queries):
    def add(count: int, first: int):
        for number in range(first, first + count):
            channel = make_channel(str(number))
            ChannelRuntime.objects.create(channel=channel, state=RuntimeState.ON_AIR, pid=None)
            start = timezone.now() - timedelta(minutes=5)
            program(channel, start, 30, "Show")

    add(5, 100)
    with django_assert_max_num_queries(8) as few:
        assert len(monitor.monitor_data()["channels"]) == 5
    add(45, 200)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(monitor.monitor_data()["channels"]) == 50


# --- In a real browser -----------------------------------------------------------------------------


def make_vod_hls(folder: Path, seconds: int = 24) -> None:
    """A finished HLS playlist of 2 s segments (a VOD stand-in for a channel's live one)."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [settings.RETROVUE_FFMPEG, "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=30:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
         "-c:a", "aac", "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
         "-hls_segment_filename", str(folder / "seg-%03d.ts"), str(folder / "index.m3u8")],
        check=True, timeout=120,
    )  # fmt: skip


def test_the_watch_page_plays_in_chromium(live_server, settings, tmp_path):
    settings.HLS_ROOT = tmp_path / "hls"
    make_channel("7")
    make_vod_hls(settings.HLS_ROOT / "7")
    shots = Path(os.environ.get("RETROVUE_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        [str(PLAYWRIGHT_PYTHON), str(REPO / "bench" / "watch_playback.py"), f"{live_server.url}/watch/7",
         "--seconds", "10", "--screenshot", str(shots / "watch.png"), "--chromium", str(CHROMIUM)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    print(completed.stdout, completed.stderr[-2000:], file=sys.stderr)
    result = json.loads(completed.stdout)
    assert result["hlsjs"] and result["advanced_seconds"] >= 8, result
    assert result["longest_stall_seconds"] <= 2 and completed.returncode == 0, result
