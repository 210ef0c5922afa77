"""The alert console in headless Chromium with a channel on the air: staff compose, preview and send
an alert, watch the channel switch to it (on the console's "Channels now" panel, in the channel's
playlist, and in the channel's own watch page playing in a second tab), clear it, and watch the
channel go back to its programme. Screenshots go to RETROVUE_SHOTS (or tmp)."""

# ruff: noqa: F811  (pytest fixtures imported from the channel-process tests are parameters here)
from __future__ import annotations

import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.utils import timezone

from alerts.choices import EventKind
from alerts.interrupts import SOURCE
from alerts.models import Alert, AlertEvent, AlertSlate, SlateState
from playout.models import AsRunEntry
from playout.supervisor import Supervisor
from tests.alerts.channel_watch import (
    BANNER_YELLOW,
    STANDBY_RGB,
    PlaylistWatch,
    alert_frame,
    near,
)
from tests.playout.test_channel_process import (  # noqa: F401  (fixtures)
    SEGMENT,
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
from tests.scheduling.test_desk_browser import CHROMIUM, CHROMIUM_ARGS

PDT_SLACK = timedelta(milliseconds=100)
# The watch page's player sits about three target durations behind the playlist's end, which the
# feed keeps a few segments ahead of the wall clock: a viewer sees a switch some 10 s after it is
# listed, more on a loaded box.
VIEWER_SECONDS = 40

# The pixel of the video's current frame (drawn at its own size onto a canvas), as [r, g, b].
VIDEO_PIXEL = """([x, y]) => {
  const video = document.getElementById('player');
  if (!video || video.readyState < 2 || !video.videoWidth) return null;
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(video, 0, 0);
  return Array.from(context.getImageData(x, y, 1, 1).data.slice(0, 3));
}"""


def _shows_alert(page) -> bool:
    """Whether the watch page's video shows the stand-by card or the alert slate right now."""
    body, banner = page.evaluate(VIDEO_PIXEL, [8, 120]), page.evaluate(VIDEO_PIXEL, [160, 4])
    return bool(body and banner and (near(body, STANDBY_RGB) or near(banner, BANNER_YELLOW)))


def _shows_programme(page) -> bool:
    body, banner = page.evaluate(VIDEO_PIXEL, [8, 120]), page.evaluate(VIDEO_PIXEL, [160, 4])
    return bool(body and banner and not near(body, STANDBY_RGB) and not near(banner, BANNER_YELLOW))


def _wait_in_page(page, predicate, timeout: float) -> bool:
    deadline = timezone.now() + timedelta(seconds=timeout)
    while timezone.now() < deadline:
        if predicate(page):
            return True
        page.wait_for_timeout(250)
    return predicate(page)


@pytest.mark.e2e
def test_staff_send_an_alert_watch_the_channel_switch_and_clear_it_in_the_browser(
    transactional_db, live_server, settings, dirs, clips, encoded, tmp_path, monkeypatch
):
    from playwright.sync_api import sync_playwright

    from alerts.slate import encode_slates_for

    # Playwright's sync API keeps a loop in this thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    monkeypatch.setattr(SOURCE, "snapshot_seconds", 0.2)
    SOURCE.forget()
    # The slate encodes beside the web app instead of on a worker (the break-in test runs the real
    # Celery path); the stand-by card airs meanwhile, as it would.
    encodes: list[threading.Thread] = []

    def encode(alert_id: int) -> None:
        try:
            encode_slates_for(alert_id)
        finally:
            connections.close_all()  # this thread's own connection, or the test database stays busy

    def encode_soon(alert_id: int) -> None:
        encodes.append(threading.Thread(target=encode, args=(alert_id,), daemon=True))
        encodes[-1].start()

    monkeypatch.setattr("alerts.services._encode_slates_soon", encode_soon)
    shots = Path(os.environ.get("RETROVUE_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)

    channel = make_channel("7")
    items = {name: item_for(clips[name]) for name in ("red", "blue", "green")}
    cycle = [("green", 0, 9000), ("red", 0, 7000), ("blue", 1000, 6000)]
    for name, in_ms, out_ms in cycle:
        ready(channel, items[name], in_ms, out_ms, encoded[(name, in_ms, out_ms)])
    start = timezone.now().replace(microsecond=0) - timedelta(seconds=3)
    end = start + timedelta(minutes=5)
    while start < end:
        for name, in_ms, out_ms in cycle:
            start = air(channel, start, items[name], in_ms, out_ms).stop
    get_user_model().objects.create_superuser("duty", "duty@example.com", "duty-password-1")

    supervisor = Supervisor(worker_id="console-test", channel_numbers=["7"], lease_seconds=30)
    runner = threading.Thread(target=supervisor.run, kwargs={"install_signal_handlers": False}, daemon=True)
    base = live_server.url
    watch = PlaylistWatch(settings.HLS_ROOT / "7" / "index.m3u8")
    errors: list[str] = []
    runner.start()
    try:
        assert _wait(lambda: _playlist(f"{base}/hls/7/index.m3u8"), timeout=30)
        watch.start()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"],
            )
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 1000}, timezone_id="UTC")
                console = context.new_page()
                console.on("pageerror", lambda error: errors.append(f"console: {error}"))
                console.goto(f"{base}/admin/login/?next=/admin/alerts/console/")
                console.fill("#id_username", "duty")
                console.fill("#id_password", "duty-password-1")
                console.click("input[type=submit]")
                console.wait_for_selector("#rv-compose")
                row = '#rv-on-air tr[data-channel="7"]'
                assert console.inner_text(f"{row} .rv-showing") == "programme"

                # The channel, as a viewer sees it, in a second tab.
                viewer = context.new_page()
                viewer.on("pageerror", lambda error: errors.append(f"watch: {error}"))
                viewer.goto(f"{base}/watch/7")
                assert _wait_in_page(viewer, _shows_programme, timeout=30), "the watch page never played"
                viewer.screenshot(path=str(shots / "alert-watch-1-programme.png"))

                console.bring_to_front()
                console.fill("#id_headline", "Tornado warning for Channel county")
                console.fill("#id_message", "A tornado was seen near Elm Street moving east.")
                console.fill("#id_instruction", "Go to a basement or an inside room now.")
                console.select_option("#id_status", "Test")
                console.click("#rv-preview-button")
                console.wait_for_selector("#rv-preview")
                assert "TORNADO WARNING" in console.inner_text("#rv-preview .rv-slate")
                assert console.inner_text("#rv-reach") == "1"
                console.screenshot(path=str(shots / "alert-console-1-preview.png"), full_page=True)
                assert not Alert.objects.exists()  # a preview sends nothing

                console.click("#rv-send")
                console.wait_for_selector("#rv-current tr[data-alert]")
                alert = Alert.objects.get()

                # The console's panel sees the channel switch (the stand-by card, then the slate).
                console.wait_for_selector(
                    f"{row}.rv-shows-stand-by-card, {row}.rv-shows-slate", timeout=30_000
                )
                assert "Tornado warning" in console.inner_text(f"{row} .rv-showing")
                console.screenshot(path=str(shots / "alert-console-2-on-air.png"), full_page=True)
                # ... and so does the channel's playlist: from the cut on, its segments are the alert.
                cut = AlertEvent.objects.filter(alert=alert, channel=channel, kind=EventKind.ON_AIR).first()
                assert _wait(lambda: watch.first_from(cut.at, PDT_SLACK)[0], timeout=6 * SEGMENT)
                first, before = watch.first_from(cut.at, PDT_SLACK)
                assert first and alert_frame(f"{base}/hls/7/{first.uri}"), (cut.at, watch.segments()[-4:])
                assert before and not alert_frame(f"{base}/hls/7/{before.uri}")

                # The viewer's tab switches to the alert: the stand-by card, then the slate once encoded.
                viewer.bring_to_front()
                assert _wait_in_page(viewer, _shows_alert, timeout=VIEWER_SECONDS), "the viewer never saw it"
                viewer.screenshot(path=str(shots / "alert-watch-2-alert.png"))
                assert _wait(
                    lambda: AlertSlate.objects.filter(alert=alert, state=SlateState.READY).exists(),
                    timeout=60,
                )
                assert _wait_in_page(
                    viewer,
                    lambda page: near(page.evaluate(VIDEO_PIXEL, [160, 4]) or (0, 0, 0), BANNER_YELLOW),
                    timeout=VIEWER_SECONDS,
                ), "the viewer never saw the slate"
                viewer.screenshot(path=str(shots / "alert-watch-3-slate.png"))

                console.bring_to_front()
                console.wait_for_selector(f"{row}.rv-shows-slate", timeout=30_000)
                console.click(f'#rv-current tr[data-alert="{alert.pk}"] .rv-clear')
                console.wait_for_selector("#rv-none")
                alert.refresh_from_db()
                assert alert.cleared_at is not None
                console.wait_for_selector(f"{row}.rv-shows-programme", timeout=30_000)
                console.screenshot(path=str(shots / "alert-console-3-cleared.png"), full_page=True)

                # Back on the programme where the schedule is now (the show went on underneath).
                off = AlertEvent.objects.filter(alert=alert, channel=channel, kind=EventKind.OFF_AIR).last()
                back = (
                    AsRunEntry.objects.filter(channel=channel, actual_start__gte=off.at)
                    .exclude(piece__isnull=True)
                    .order_by("actual_start")
                    .first()
                )
                assert back and back.origin == "pregen" and back.actual_start == off.at, back
                assert back.piece.start <= off.at < back.piece.stop
                viewer.bring_to_front()
                assert _wait_in_page(viewer, _shows_programme, timeout=VIEWER_SECONDS), (
                    "the viewer stayed on it"
                )
                viewer.screenshot(path=str(shots / "alert-watch-4-back.png"))
            finally:
                browser.close()
    finally:
        watch.stop()
        supervisor.stopping.set()
        runner.join(timeout=20)
        for encode in encodes:
            encode.join(timeout=60)
        SOURCE.forget()
    assert errors == []
