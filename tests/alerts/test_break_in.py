"""Break-in, end to end: channels on the air (the playout supervisor in its own process, real
ffmpeg, the feed, HLS and MPEG-TS), an alert issued through the API, its slate encoded by a real
Celery worker through Redis, every channel's playlist and TS carrying the alert within 2 × the
segment, and on clear each channel back at the schedule's wall-clock position. The shared HLS
checker and a TS reader run across the break-in and the return; every channel's TS is read
throughout."""

# ruff: noqa: F811  (pytest fixtures imported from the channel-process tests are parameters here)
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from alerts.choices import EventKind
from alerts.models import Alert, AlertEvent, AlertSlate, SlateState
from alerts.tasks import encode_slates
from playout.feed import LEAD_SEGMENTS
from playout.models import AsRunEntry, ViewerTally
from retrovue.core.models import ApiToken
from retrovue.subprocesses import start_process, stop_processes
from tests.alerts.channel_watch import (
    BANNER_YELLOW,
    PlaylistWatch,
    TsCapture,
    alert_frame,
    distribution,
    frame_rgb,
    get_bytes,
    near,
)
from tests.integration.celery_worker import PROJECT_ROOT, database_url_for_subprocesses, running_worker
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

# Three channels by default, to keep the suite's time down; the issue's 20 (or any count) with
# RETROVUE_TEST_ALERT_CHANNELS=20, or `bench/alert_break_in.py`, which runs this test and prints the
# distribution (20 channels held the same bound on a shared, loaded 2-core box).
CHANNELS = [str(7 + index) for index in range(int(os.environ.get("RETROVUE_TEST_ALERT_CHANNELS", "3")))]


def _token_client() -> Client:
    user = get_user_model().objects.create_user("alert-bridge", is_staff=True)
    for codename in ("add_alert", "change_alert", "view_alert"):
        user.user_permissions.add(Permission.objects.get(content_type__app_label="alerts", codename=codename))
    _, token = ApiToken.issue(user, "alerts")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


# A segment's program date-time comes from ffmpeg's stream clock (90 kHz, frame-rounded), the cut
# from the schedule: they may differ by a frame or so, far less than this.
PDT_SLACK = timedelta(milliseconds=100)
# How long the feeds may take to notice the alert (the API call, the interrupt source's 0.5 s
# snapshot, the feed's 0.1 s poll), on top of the lead and the segment that bound its schedule time.
# It was 2 s while the first alert encoded the stand-by card inside the API call; now the card is
# made as channels go on the air: 6.55-7.45 s of the 9 s allowed with 20 channels, load 9-16.
NOTICE_TOLERANCE = 1.0
# Where the figures go when a benchmark asks (bench/alert_break_in.py).
REPORT = os.environ.get("RETROVUE_BREAK_IN_REPORT", "")


def _on_air_events(alert, channels) -> dict:
    """Channel number → schedule time of the alert's first on-air on it, for channels it reached."""
    found = {}
    for channel_number, at in (
        AlertEvent.objects.filter(alert=alert, kind=EventKind.ON_AIR)
        .order_by("at")
        .values_list("channel__number", "at")
    ):
        found.setdefault(channel_number, at)
    return found


@pytest.mark.e2e
def test_an_alert_breaks_into_every_channel_within_two_segments_and_each_returns_to_its_schedule(
    transactional_db,
    live_server,
    settings,
    dirs,
    clips,
    encoded,
    tmp_path,
    monkeypatch,
):
    # The worker encodes the alert's slates into the store the supervisor reads them from.
    monkeypatch.setenv("RETROVUE_DATA_DIR", str(settings.DATA_DIR))
    monkeypatch.setenv("RETROVUE_PREGEN_ROOT", str(settings.RETROVUE_PREGEN_ROOT))
    settings.RETROVUE_HDHR_TUNER_COUNT = len(CHANNELS) + 1  # a TS reader on every channel, and tscheck
    channels = [make_channel(number) for number in CHANNELS]
    items = {name: item_for(clips[name]) for name in ("red", "blue", "green")}
    cycle = [("green", 0, 9000), ("red", 0, 7000), ("blue", 1000, 6000)]
    for name, in_ms, out_ms in cycle:  # one profile: every channel airs the same encoded pieces
        ready(channels[0], items[name], in_ms, out_ms, encoded[(name, in_ms, out_ms)])
    begin = timezone.now().replace(microsecond=0) - timedelta(seconds=3)
    pieces = {channel.pk: [] for channel in channels}
    for channel in channels:
        start = begin
        while start < begin + timedelta(minutes=4):
            for name, in_ms, out_ms in cycle:
                pieces[channel.pk].append(air(channel, start, items[name], in_ms, out_ms))
                start = pieces[channel.pk][-1].stop

    # The supervisor runs as it does in production, in its own process (`python -m playout`): in this
    # one it would share the interpreter with the web app serving twenty TS streams, the watchers
    # and the test, and measure their contention rather than its own.
    playout_log = (tmp_path / "playout.log").open("wb")
    supervisor = start_process(
        # --capacity: the schedule here is minutes long, shorter than the placement's coverage window,
        # so it would cost every channel as a live transcode and take only as many as 1.5 cores fit.
        [
            sys.executable,
            "-m",
            "playout",
            "--channels",
            ",".join(CHANNELS),
            "--worker-id",
            "alert-test",
            "--capacity",
            str(len(CHANNELS)),
        ],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "retrovue.settings_test",
            "DATABASE_URL": database_url_for_subprocesses(),
            "RETROVUE_DATA_DIR": str(settings.DATA_DIR),
            "RETROVUE_HLS_ROOT": str(settings.HLS_ROOT),
            "RETROVUE_PREGEN_ROOT": str(settings.RETROVUE_PREGEN_ROOT),
        },
        cwd=str(PROJECT_ROOT),
        stdout=playout_log,
        stderr=subprocess.STDOUT,
    )
    base = live_server.url
    checker = reader = None
    watches = {number: PlaylistWatch(settings.HLS_ROOT / number / "index.m3u8") for number in CHANNELS}
    captures = {number: TsCapture(f"{base}/iptv/channel/{number}.ts") for number in CHANNELS}
    try:
        for number in CHANNELS:
            assert _wait(lambda n=number: _playlist(f"{base}/hls/{n}/index.m3u8"), timeout=30), number
        for watcher in (*watches.values(), *captures.values()):
            watcher.start()
        checker = subprocess.Popen(
            [sys.executable, str(TOOLS / "hls_live_check.py"), f"{base}/hls/7/index.m3u8", "45"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        reader = subprocess.Popen(
            [sys.executable, str(TOOLS / "tscheck.py"), f"{base}/iptv/channel/8.ts", "40"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        time.sleep(4)  # some programme before the break-in

        with running_worker("default", tmp_path / "worker.log") as broker:
            monkeypatch.setattr(
                "alerts.services._encode_slates_soon",
                lambda alert_id: encode_slates.apply_async((alert_id,), connection=broker),
            )
            client = _token_client()
            requested = time.monotonic()
            issued_at = timezone.now()
            response = client.post(
                "/api/alerts/",
                {"headline": "Tornado warning", "message": "Take shelter now.", "status": "Test"},
                content_type="application/json",
            )
            assert response.status_code == 201, response.content
            alert = Alert.objects.get(pk=response.json()["id"])

            # Every channel lists an alert segment (the stand-by card first), and its TS carries it,
            # within 2 × the segment: the first segment whose schedule time is where the feed cut to
            # the alert, as the watchers saw it (see tests/alerts/channel_watch.py).
            events = _wait(
                lambda: (
                    _on_air_events(alert, channels)
                    if len(_on_air_events(alert, channels)) == len(channels)
                    else None
                ),
                timeout=6 * SEGMENT,
                interval=0.05,
            )
            assert events, list(AlertEvent.objects.values_list("kind", "channel_id", "at"))
            switched_to, listed_after, ts_after = {}, {}, {}
            for number in CHANNELS:
                first = _wait(
                    lambda n=number: watches[n].first_from(events[n], PDT_SLACK)[0], timeout=6 * SEGMENT
                )
                assert first, (number, events[number], watches[number].segments()[-6:])
                first, before = watches[number].first_from(events[number], PDT_SLACK)
                url = f"{base}/hls/{number}/{first.uri}"
                assert alert_frame(url), f"channel {number}: {first.uri} is not the alert"
                assert before and not alert_frame(f"{base}/hls/{number}/{before.uri}"), (
                    f"channel {number}: the alert was on before {first.uri}"
                )
                switched_to[number] = first
                listed_after[number] = first.first_seen - requested
                segment_bytes = get_bytes(url)
                arrived = _wait(
                    lambda n=number, d=segment_bytes: captures[n].arrival_of(d), timeout=6 * SEGMENT
                )
                assert arrived, (number, captures[number].error, captures[number].received)
                ts_after[number] = arrived - requested
            figures = {
                "channels": len(CHANNELS),
                "segment_seconds": SEGMENT,
                "hls_listed_s": {k: round(v, 3) for k, v in listed_after.items()},
                "ts_arrived_s": {k: round(v, 3) for k, v in ts_after.items()},
                "hls": distribution(listed_after.values()),
                "ts": distribution(ts_after.values()),
            }
            print(f"\nbreak-in, request to the alert segment listed in HLS (s): {figures['hls']}")
            print(f"break-in, request to the alert segment read from the TS (s): {figures['ts']}")
            # Its schedule time is where the feed cut: the first GOP it had not yet handed ffmpeg, so
            # at most the lead plus a segment after the request (a player at the live edge shows it
            # then; a shorter lead, RETROVUE_PLAYOUT_LEAD_SEGMENTS, brings that closer).
            scheduled = {
                k: round((s.program_date_time - issued_at).total_seconds(), 2) for k, s in switched_to.items()
            }
            figures["schedule_time_s"] = distribution(scheduled.values())
            print(f"break-in, request to the alert's schedule time (s): {figures['schedule_time_s']}")
            assert all(s.program_date_time >= issued_at for s in switched_to.values()), scheduled
            assert max(scheduled.values()) <= (LEAD_SEGMENTS + 1) * SEGMENT + NOTICE_TOLERANCE, scheduled
            assert max(listed_after.values()) <= 2 * SEGMENT, listed_after
            assert max(ts_after.values()) <= 2 * SEGMENT, ts_after

            # The worker encodes the slate once; every channel then switches to it.
            slate = _wait(
                lambda: AlertSlate.objects.filter(alert=alert, state=SlateState.READY).first(), timeout=60
            )
            assert slate, (tmp_path / "worker.log").read_text()[-3000:]
            assert AlertSlate.objects.filter(alert=alert).count() == 1  # one profile, one encode
            for channel in channels:

                def on_slate(channel=channel):
                    playlist = _playlist(f"{base}/hls/{channel.number}/index.m3u8")
                    newest = playlist and playlist.segments[-1]
                    url = newest and f"{base}/hls/{channel.number}/{newest.uri}"
                    return url if url and near(frame_rgb(url, 160, 4), BANNER_YELLOW) else None

                assert _wait(on_slate, timeout=6 * SEGMENT, interval=0.2), (
                    f"{channel.number} never aired the slate"
                )

            time.sleep(2)
            assert client.delete(f"/api/alerts/{alert.pk}").status_code == 200

            # The stand-by card leaving for the slate is an off-air event too (at a schedule time,
            # which runs ahead of the wall clock): the return is the off-air after the last on-air.
            gaps, returns = {}, {}
            for channel in channels:
                last_on = AlertEvent.objects.filter(
                    alert=alert, channel=channel, kind=EventKind.ON_AIR
                ).last()
                off = _wait(
                    lambda channel=channel, last_on=last_on: (
                        AlertEvent.objects.filter(
                            alert=alert, channel=channel, kind=EventKind.OFF_AIR, at__gte=last_on.at
                        )
                        .exclude(pk__lt=last_on.pk)
                        .first()
                    ),
                    timeout=4 * SEGMENT,
                    interval=0.05,
                )
                assert off, f"channel {channel.number} did not return"
                back = _wait(
                    lambda channel=channel, off=off: (
                        AsRunEntry.objects.filter(
                            channel=channel, actual_start__gte=off.at - timedelta(seconds=SEGMENT)
                        )
                        .exclude(origin="slate", piece__isnull=True)  # the alert's own rows
                        .order_by("actual_start")
                        .first()
                    ),
                    timeout=4 * SEGMENT,
                )
                aired = (
                    "; ".join(
                        f"{origin} {start:%H:%M:%S.%f}-{stop and f'{stop:%H:%M:%S.%f}'} piece {piece} {note}"
                        for origin, start, stop, piece, note in AsRunEntry.objects.filter(
                            channel=channel, actual_start__gte=off.at - timedelta(seconds=SEGMENT)
                        )
                        .order_by("actual_start")
                        .values_list("origin", "actual_start", "actual_stop", "piece_id", "error")[:4]
                    )
                    + f" (off air at {off.at:%H:%M:%S.%f})"
                )
                assert back, f"channel {channel.number} did not go back to its programme: {aired}"
                # The show went on underneath: the very next thing on air is the piece scheduled at
                # that moment, from that moment on the schedule (no slate in between, no overlap).
                assert back.origin == "pregen", aired
                assert back.piece.start <= off.at < back.piece.stop, aired
                gaps[channel.number] = (back.actual_start - off.at).total_seconds()
                assert gaps[channel.number] == 0, aired
                assert off.at > issued_at
                returns[channel.number] = off.at

            print(f"seconds from off-air to the programme's first frame on the schedule: {gaps}")
            # Viewers see it too: the first segment at the return is the programme, in the playlist
            # and in the TS, which every reader got without a break.
            for number, off_at in returns.items():
                back = _wait(
                    lambda n=number, at=off_at: watches[n].first_from(at, PDT_SLACK)[0], timeout=6 * SEGMENT
                )
                assert back, (number, off_at, watches[number].segments()[-6:])
                url = f"{base}/hls/{number}/{back.uri}"
                assert not alert_frame(url), f"channel {number}: {back.uri} is still the alert"
                programme = get_bytes(url)
                arrived = _wait(lambda n=number, d=programme: captures[n].arrival_of(d), timeout=6 * SEGMENT)
                capture = captures[number]
                assert arrived and not capture.ended and not capture.error, (
                    number,
                    capture.error,
                    capture.ended,
                )
                assert capture.status == 200 and capture.content_type == "video/mp2t", number
                assert capture.bad_sync() == 0, number
            if REPORT:
                Path(REPORT).write_text(json.dumps(figures, indent=2))
        output, _ = checker.communicate(timeout=60)
        print(output.decode().strip())
        assert checker.returncode == 0, output.decode()
        ts_output, _ = reader.communicate(timeout=60)
        print(ts_output.decode().strip())
        assert reader.returncode == 0, ts_output.decode()
    finally:
        for watcher in (*watches.values(), *captures.values()):
            watcher.stop()
        # Each hung-up stream ends at the server's next write (a new segment): wait for that while
        # the channels still run, so no request thread holds a database connection past the test.
        _wait(lambda: not ViewerTally.objects.filter(kind="ts").exists(), timeout=4 * SEGMENT)
        for process in (checker, reader):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        stop_processes([supervisor], grace_seconds=15)
        playout_log.close()
