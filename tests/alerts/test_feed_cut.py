"""How the feed cuts to an alert and back (playout.feed with a stand-in interrupt source): it notices
the alert while a GOP waits for its time, cuts before the first GOP it had not yet sent, sends the
first two GOPs of the alert at once (so ffmpeg can list the alert's first segment right away), then
lets the lead come back gradually; on clear it returns to the piece scheduled at that moment.

The clock is simulated: each reading moves it on by a fixed step, so the test takes well under a
second of real time and its outcome does not depend on the machine's load."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from playout import feed as feed_module
from playout.feed import ChannelFeed, Planner, slate_file
from playout.models import AsRunEntry
from retrovue.core import interrupts
from retrovue.core.interrupts import Interruption
from scheduling.models import Channel, StreamProfile
from tests.playout.test_channel_process import air, item_for, ready
from tests.playout.test_frame_exact_joins import _ffmpeg

T0 = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
SEGMENT = timedelta(seconds=1)
LEAD = 2  # segments
STEP = timedelta(milliseconds=20)  # simulated time per clock reading
ISSUED = T0 + timedelta(seconds=2.5)  # wall clock: the feed has sent the GOPs up to T0 + 4 s by then
CLEARED = T0 + timedelta(seconds=7.3)


class Clock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        self.now += STEP
        return self.now


class AlertStandIn:
    """Interrupts every channel from ISSUED to CLEARED (wall clock), as the alerts app would once
    its snapshot shows the alert: for every schedule moment from the issue on."""

    def __init__(self, clock: Clock, path):
        self.clock, self.path, self.events = clock, path, []

    def _on(self, moment: datetime) -> bool:
        return ISSUED <= self.clock.now < CLEARED and moment >= ISSUED

    def current_key(self, channel_id, profile_id, moment):
        return "alert:1" if self._on(moment) else None

    def interruption(self, channel_id, profile_id, moment):
        if not self._on(moment):
            return None
        # 3.5 s of a 1 s-GOP file per entry: the alert loops off the programme's keyframe grid.
        return Interruption(key="alert:1", label="alert 1", path=self.path, duration_ms=3500)

    def aired(self, channel_id, key, started, ended):
        self.events.append(("off" if ended else "on", started if ended is None else ended))


@pytest.fixture
def channel(settings, tmp_path, transactional_db) -> Channel:
    settings.HLS_ROOT = tmp_path / "hls"
    settings.DATA_DIR = tmp_path / "data"
    settings.RETROVUE_PREGEN_ROOT = tmp_path / "data" / "pregen"  # alert slates live in the store
    settings.RETROVUE_PREGEN_ROOT = str(tmp_path / "pregen")
    profile = StreamProfile.objects.create(
        name="tiny", width=160, height=120, frame_rate=Decimal("25"), video_bitrate_kbps=200,
        audio_bitrate_kbps=64, segment_seconds=1,
    )  # fmt: skip
    return Channel.objects.create(number="5", name="Cuts", time_zone="UTC", stream_profile=profile)


def test_an_alert_cuts_in_before_the_first_unsent_gop_and_the_programme_resumes_on_schedule(
    channel, tmp_path, monkeypatch
):
    profile = channel.stream_profile
    piece_file = tmp_path / "piece.ts"
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=20",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=20",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
        "-c:a", "aac", "-f", "mpegts", str(piece_file),
    )  # fmt: skip
    item = item_for(piece_file, duration_ms=20_000)
    ready(channel, item, 0, 20_000, source=piece_file)
    piece = air(channel, T0, item, 0, 20_000)
    alert_file = slate_file(profile, tmp_path / "slates")

    clock = Clock(T0 - LEAD * SEGMENT)
    source = AlertStandIn(clock, alert_file)
    interrupts.register(source)
    monkeypatch.setattr(feed_module, "INTERRUPT_POLL_SECONDS", 0.001)
    try:
        feed = ChannelFeed(
            channel,
            Planner(channel, slate=alert_file),
            segment=SEGMENT,
            resume_at=T0,
            lead_segments=LEAD,
            clock=clock,
        )
        sends: list[tuple[int, datetime]] = []
        cursors = []
        for index in range(4):  # the programme, the alert twice, the programme again
            feed.serve(index, lambda data, index=index: sends.append((index, clock.now)))
            cursors.append(feed.cursor)
        programme_until, alert_until = cursors[0], cursors[2]
    finally:
        interrupts.unregister(source)

    # The programme was cut before the GOP it was waiting to send when the alert came (the one at
    # T0 + 4 s was due at T0 + 2 s and went out; the one at T0 + 5 s, due at T0 + 3 s, did not), as
    # soon as the alert was known, not when that GOP was due.
    assert programme_until == T0 + timedelta(seconds=5)
    alert_sends = [at for index, at in sends if index in (1, 2)]
    assert alert_sends[0] - ISSUED < timedelta(milliseconds=100)
    # Its first two GOPs went out at once; the next ones early by less each time, never more than
    # 1.5 segments after the one before, until the lead is back to normal.
    assert alert_sends[1] - alert_sends[0] < timedelta(milliseconds=100)
    gaps = [later - earlier for earlier, later in itertools.pairwise(alert_sends[1:])]
    assert all(gap <= 1.5 * SEGMENT for gap in gaps), gaps
    on_air = [at for kind, at in source.events if kind == "on"]
    assert on_air == [programme_until]

    # On clear (wall T0 + 7.3 s) the alert is cut before its next unsent GOP (T0 + 10.5 s, between
    # two keyframes of the piece), and the piece scheduled then comes back at that moment on the
    # schedule, from its keyframe just before (half a second late, cut as much short): no slate, no
    # overlap in the as-run log, and the next entry would start at the piece's end.
    assert alert_until == T0 + timedelta(seconds=10.5)
    assert CLEARED + LEAD * SEGMENT < alert_until <= CLEARED + (LEAD + 2) * SEGMENT
    assert cursors[3] == piece.stop
    assert [kind for kind, _ in source.events] == ["on", "off"]
    rows = list(
        AsRunEntry.objects.filter(channel=channel)
        .order_by("pk")
        .values_list("origin", "piece", "actual_start")
    )
    assert rows[-1] == ("pregen", piece.pk, alert_until), rows
    assert rows[-2][0] == "slate" and rows[-2][2] == programme_until, rows
