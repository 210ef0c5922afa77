"""Per channel, "resume the interrupted program" on clear: the feed tells the interrupt source the
channel is back, at the exact schedule time, before it asks the log what airs there; the alerts app
then ripples the channel's day from the cut (scheduling.resume) and records it in the alert's
history."""

# ruff: noqa: F811  (the feed tests' `channel` fixture is a parameter here)
from __future__ import annotations

import threading
import time as wall
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from django.utils.timezone import now as timezone_now

from alerts.choices import EventKind, OnClear
from alerts.interrupts import AlertInterrupts
from alerts.models import AlertEvent, ChannelAlertSettings
from alerts.services import AlertDraft, issue_alert
from playout import feed as feed_module
from playout.feed import ChannelFeed, Planner, slate_file
from playout.models import AsRunEntry
from retrovue.core import interrupts
from retrovue.core.interrupts import Interruption
from scheduling.builder import build_channel
from scheduling.models import Piece, ProgramEntry
from tests.alerts.test_feed_cut import LEAD, SEGMENT, Clock, channel  # noqa: F401
from tests.live_check import LiveCheck
from tests.playout.test_channel_process import air, item_for, ready
from tests.playout.test_frame_exact_joins import _ffmpeg
from tests.scheduling.station import channel_with_slot, short_form_library, sitcom

T0 = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
ISSUED = T0 + timedelta(seconds=2.5)
CLEARED = T0 + timedelta(seconds=7.3)


class ResumingStandIn:
    """Interrupts from ISSUED to CLEARED (wall clock); when told the channel is back, it rewrites the
    log there as a resume would: a new piece starting at exactly that schedule time."""

    def __init__(self, clock, path, rest_item, channel):
        self.clock, self.path, self.rest_item, self.channel = clock, path, rest_item, channel
        self.returns = []
        self.rest_piece = None

    def _on(self, moment):
        return ISSUED <= self.clock.now < CLEARED and moment >= ISSUED

    def current_key(self, channel_id, profile_id, moment):
        return "alert:1" if self._on(moment) else None

    def interruption(self, channel_id, profile_id, moment):
        if not self._on(moment):
            return None
        return Interruption(key="alert:1", label="alert 1", path=self.path, duration_ms=3500)

    def aired(self, channel_id, key, started, ended):
        pass

    def returned(self, channel_id, key, interrupted_at, returned_at):
        self.returns.append((key, interrupted_at, returned_at))
        ProgramEntry.objects.filter(channel_id=channel_id, stop__gt=returned_at).delete()
        self.rest_piece = air(self.channel, returned_at, self.rest_item, 3000, 13_000)


def test_the_feed_tells_the_source_the_channel_is_back_before_it_reads_the_log(
    channel, tmp_path, monkeypatch
):
    piece_file = tmp_path / "piece.ts"
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=20",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=20",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
        "-c:a", "aac", "-f", "mpegts", str(piece_file),
    )  # fmt: skip
    item = item_for(piece_file, duration_ms=20_000)
    ready(channel, item, 0, 20_000, source=piece_file)
    air(channel, T0, item, 0, 20_000)
    rest_item = item_for(piece_file, duration_ms=20_000)
    alert_file = slate_file(channel.stream_profile, tmp_path / "slates")
    clock = Clock(T0 - LEAD * SEGMENT)
    source = ResumingStandIn(clock, alert_file, rest_item, channel)
    interrupts.register(source)
    monkeypatch.setattr(feed_module, "INTERRUPT_POLL_SECONDS", 0.001)
    try:
        feed = ChannelFeed(
            channel, Planner(channel, slate=alert_file), segment=SEGMENT, resume_at=T0, lead_segments=LEAD,
            clock=clock,
        )  # fmt: skip
        cursors = []
        for index in range(4):  # the programme, the alert twice, the rest of the programme
            feed.serve(index, lambda data: None)
            cursors.append(feed.cursor)
    finally:
        interrupts.unregister(source)

    assert source.returns == [("alert:1", cursors[0], cursors[2])]
    back = AsRunEntry.objects.filter(channel=channel).order_by("pk").last()
    # The rewritten log airs from the very instant the channel came back, from its first frame.
    assert (back.piece_id, back.actual_start) == (source.rest_piece.pk, cursors[2])
    assert back.origin == "live"  # the new piece isn't pre-generated yet: transcoded live meanwhile


@pytest.fixture
def evening(db, monkeypatch):
    monkeypatch.setattr("alerts.services._encode_slates_soon", lambda alert_id: None)
    monkeypatch.setattr("alerts.services.prepare_standby_cards", lambda: None)
    show, _ = sitcom(episodes=10)
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[show], start=time(18), end=time(23))
    day = datetime(2026, 11, 28, tzinfo=UTC)
    build_channel(channel, day, day + timedelta(days=2), fine_until=day + timedelta(days=2))
    return channel, day


def test_a_channel_set_to_resume_ripples_its_day_and_the_alert_history_says_so(evening):
    channel, day = evening
    ChannelAlertSettings.objects.create(channel=channel, on_clear=OnClear.RESUME)
    alert = issue_alert(AlertDraft(headline="Tornado warning", message="Take shelter."))
    cut_into = ProgramEntry.objects.get(channel=channel, start=day + timedelta(hours=18, minutes=30))
    interrupted = cut_into.start + timedelta(minutes=9, seconds=4)
    returned = interrupted + timedelta(minutes=2)

    AlertInterrupts().returned(channel.pk, f"alert:{alert.pk}", interrupted, returned)

    rest = ProgramEntry.objects.get(channel=channel, start=returned)
    assert rest.playable_id == cut_into.playable_id and rest.joined_from == cut_into.start + timedelta(
        minutes=2
    )
    assert (
        ProgramEntry.objects.get(channel=channel, start=interrupted).title
        == "Emergency alert: Tornado warning"
    )
    event = AlertEvent.objects.get(alert=alert, channel=channel, kind=EventKind.RESUMED)
    assert event.at == returned
    assert event.detail == "Cheers resumed 9:04 in; the rest of the day airs 2:00 later until 00:00"


@pytest.mark.parametrize(
    ("on_clear", "key"), [(OnClear.REJOIN, "alert:{pk}"), (OnClear.RESUME, "alert:{pk}:crawl")]
)
def test_rejoining_channels_and_crawls_leave_the_schedule_alone(evening, on_clear, key):
    channel, day = evening
    ChannelAlertSettings.objects.create(channel=channel, on_clear=on_clear)
    alert = issue_alert(AlertDraft(headline="Tornado warning"))
    before = list(ProgramEntry.objects.filter(channel=channel).values_list("start", "stop", "playable_id"))
    pieces = Piece.objects.filter(channel=channel).count()
    interrupted = day + timedelta(hours=18, minutes=39)

    AlertInterrupts().returned(
        channel.pk, key.format(pk=alert.pk), interrupted, interrupted + timedelta(minutes=2)
    )

    assert (
        list(ProgramEntry.objects.filter(channel=channel).values_list("start", "stop", "playable_id"))
        == before
    )
    assert Piece.objects.filter(channel=channel).count() == pieces
    assert not AlertEvent.objects.filter(kind=EventKind.RESUMED).exists()


# --- On the air ---------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_on_clear_a_resuming_channel_airs_the_rest_of_the_program_from_the_cut(
    transactional_db, live_server, settings, tmp_path, monkeypatch
):
    from alerts.interrupts import SOURCE
    from alerts.services import clear_alert
    from playout.supervisor import Supervisor
    from scheduling.models import DeskEntry
    from tests.playout.test_channel_process import _playlist, _wait, make_channel

    settings.HLS_ROOT = tmp_path / "hls"
    settings.DATA_DIR = tmp_path / "data"
    settings.RETROVUE_PREGEN_ROOT = tmp_path / "data" / "pregen"  # alert slates live in the store
    settings.RETROVUE_PREGEN_ROOT = str(tmp_path / "pregen")
    monkeypatch.setattr(SOURCE, "snapshot_seconds", 0.2)
    monkeypatch.setattr(
        "alerts.services._encode_slates_soon", lambda alert_id: None
    )  # the stand-by card airs
    SOURCE.forget()
    clip = tmp_path / "episode.mp4"
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=50",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=50",
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(clip),
    )  # fmt: skip
    channel = make_channel("7")
    ChannelAlertSettings.objects.create(channel=channel, on_clear=OnClear.RESUME)
    episode = item_for(clip, duration_ms=50_000)
    began = timezone_now().replace(microsecond=0) - timedelta(seconds=4)
    DeskEntry.objects.create(channel=channel, start=began, stop=began + timedelta(minutes=1), item_ids=[episode.pk],
                             grid_minutes=1)  # fmt: skip
    build_channel(channel, began, began + timedelta(hours=2), fine_until=began + timedelta(hours=2))
    assert ProgramEntry.objects.filter(channel=channel, start=began, playable=episode).exists()

    supervisor = Supervisor(worker_id="resume-test", channel_numbers=["7"], lease_seconds=30)
    runner = threading.Thread(target=supervisor.run, kwargs={"install_signal_handlers": False}, daemon=True)
    base = live_server.url
    runner.start()
    checker = None
    try:
        assert _wait(lambda: _playlist(f"{base}/hls/7/index.m3u8"), timeout=30)
        checker = LiveCheck(f"{base}/hls/7/index.m3u8", 60)
        wall.sleep(4)
        alert = issue_alert(AlertDraft(headline="Tornado warning", message="Take shelter."))
        SOURCE.forget()
        on = _wait(
            lambda: AlertEvent.objects.filter(alert=alert, channel=channel, kind=EventKind.ON_AIR).first(),
            timeout=10,
        )
        assert on is not None
        wall.sleep(6)
        assert clear_alert(alert)
        SOURCE.forget()
        resumed = _wait(
            lambda: AlertEvent.objects.filter(alert=alert, channel=channel, kind=EventKind.RESUMED).first(),
            timeout=12,
        )
        assert resumed is not None, list(AlertEvent.objects.values_list("kind", "detail"))
        print(f"\n{resumed.detail}")
        # The log: the episode up to the cut, the alert, then the rest of the episode from the cut.
        cut = ProgramEntry.objects.get(channel=channel, stop=on.at, playable=episode)
        alert_row = ProgramEntry.objects.get(channel=channel, start=on.at)
        rest = ProgramEntry.objects.get(channel=channel, start=resumed.at)
        assert (cut.start, alert_row.stop, alert_row.title) == (
            began,
            resumed.at,
            "Emergency alert: Tornado warning",
        )
        assert rest.playable_id == episode.pk and rest.joined_from == began + (resumed.at - on.at)
        # On the air: the first thing after the alert is the episode, from the point it was cut at.
        back = _wait(
            lambda: (
                AsRunEntry.objects.filter(channel=channel, actual_start__gte=resumed.at)
                .order_by("actual_start")
                .first()
            ),
            timeout=10,
        )
        assert back is not None and back.actual_start == resumed.at, back and (back.actual_start, back.error)
        assert back.playable_id == episode.pk and back.origin == "live", (back.origin, back.error)
        cut_at_ms = round((on.at - began).total_seconds() * 1000)
        assert abs(back.piece.in_ms - cut_at_ms) <= 1, (back.piece.in_ms, cut_at_ms)
        # The checker saw the return: the playlist has moved two segments past the resume.
        assert _wait(
            lambda: (
                _playlist(f"{base}/hls/7/index.m3u8").segments[-1].program_date_time
                >= resumed.at + 2 * SEGMENT
            ),
            timeout=20,
        )
        assert checker.running, "the checker stopped before the return"
        print(checker.stop().strip())
    finally:
        if checker is not None:
            checker.kill()
        supervisor.stopping.set()
        runner.join(timeout=20)
        SOURCE.forget()


class _Sequence:
    """An interrupt source answering from a list, one answer per boundary."""

    def __init__(self, answers):
        self.answers, self.returns = list(answers), []

    def interruption(self, channel_id, profile_id, moment):
        return self.answers.pop(0)

    def current_key(self, channel_id, profile_id, moment):
        return None

    def aired(self, channel_id, key, started, ended):
        pass

    def returned(self, channel_id, key, interrupted_at, returned_at):
        self.returns.append((key, interrupted_at, returned_at))


def test_a_resume_picks_the_program_up_from_where_the_full_screen_alert_cut_in_not_the_crawl_before(
    db, tmp_path, settings
):
    from playout.interruptions import entry_for
    from playout.planner import Entry

    profile = SimpleNamespace(pk=1, width=320, height=240, frame_rate="30", video_bitrate_kbps=300,
                              audio_bitrate_kbps=64, segment_seconds=2)  # fmt: skip

    class Planner:
        channel = SimpleNamespace(pk=5, number="5")

        def __init__(self):
            self.profile = profile

        def programme(self, cursor, on_the_cursor=False):
            return Entry(
                origin="slate", airs_at=cursor, duration=timedelta(seconds=10), path=tmp_path / "p.ts"
            )

    text = tmp_path / "crawl.txt"
    text.write_text("EMERGENCY ALERT")
    crawl = Interruption(key="alert:1:crawl", label="crawl", path=tmp_path / "slate.ts", crawl_text=text)
    slate = Interruption(key="alert:2", label="slate", path=tmp_path / "slate.ts", duration_ms=4000)
    source = _Sequence([crawl, slate, slate, None])
    planner = Planner()
    moments = [T0 + timedelta(seconds=4 * n) for n in range(4)]
    interrupts.register(source)
    try:
        entries = [entry_for(planner, moment) for moment in moments]
    finally:
        interrupts.unregister(source)

    assert entries[0].argv is not None and entries[0].interrupt_key == "alert:1:crawl"  # re-encoded
    assert entries[1].path == tmp_path / "slate.ts" and entries[3] is None
    assert source.returns == [("alert:2", moments[1], moments[3])]
