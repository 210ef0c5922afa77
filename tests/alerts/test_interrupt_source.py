"""What playout hears when it asks whether an alert interrupts a channel (retrovue.core.interrupts)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.choices import EventKind, MessageStatus, Origin
from alerts.interrupts import AlertInterrupts
from alerts.models import Alert, AlertEvent, AlertSlate, ChannelAlertSettings, SlateState
from alerts.services import AlertDraft, clear_alert, issue_alert
from retrovue.core import interrupts
from scheduling.models import Channel

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.RETROVUE_PREGEN_ROOT = tmp_path / "pregen"  # alert slates live in the store


@pytest.fixture
def source():
    return AlertInterrupts(snapshot_seconds=0)  # no caching between the steps of a test


@pytest.fixture
def channel():
    return Channel.objects.create(number="7", name="Seven")


def _ready(alert, profile_id, path="alert-1/slate.ts"):
    AlertSlate.objects.create(
        alert=alert, profile_id=profile_id, state=SlateState.READY, path=path, duration_ms=16000
    )


def test_the_alerts_app_registers_itself_with_core():
    from alerts.interrupts import SOURCE

    assert SOURCE in interrupts._sources


def test_a_stand_by_card_breaks_in_while_the_slate_encodes_then_the_slate(source, channel):
    alert = issue_alert(AlertDraft(headline="Flood"))
    now = timezone.now()
    profile = channel.stream_profile_id

    assert source.current_key(channel.pk, profile, now) == f"alert:{alert.pk}:waiting"
    standby = source.interruption(channel.pk, profile, now)
    assert standby.path.name.startswith("standby-") and standby.path.is_file()

    _ready(alert, profile)

    assert source.current_key(channel.pk, profile, now) == f"alert:{alert.pk}"
    found = source.interruption(channel.pk, profile, now)
    assert found.path.name == "slate.ts" and found.duration_ms == 16000 and "Flood" in found.label


def test_a_higher_priority_alert_changes_the_key_and_clearing_brings_the_next_back(source, channel):
    profile = channel.stream_profile_id
    low = issue_alert(AlertDraft(headline="Low", priority=10))
    _ready(low, profile)
    assert source.current_key(channel.pk, profile, timezone.now()) == f"alert:{low.pk}"

    high = issue_alert(AlertDraft(headline="High", priority=90))
    _ready(high, profile, "alert-2/slate.ts")
    assert source.current_key(channel.pk, profile, timezone.now()) == f"alert:{high.pk}"

    clear_alert(high)
    assert source.current_key(channel.pk, profile, timezone.now()) == f"alert:{low.pk}"
    clear_alert(low)
    assert source.current_key(channel.pk, profile, timezone.now()) is None


def test_a_feed_planning_ahead_sees_an_alert_that_starts_soon(source, channel):
    now = timezone.now()
    alert = issue_alert(AlertDraft(headline="Soon", starts_at=now + timedelta(seconds=4)))

    assert source.current_key(channel.pk, channel.stream_profile_id, now) is None
    assert source.current_key(channel.pk, channel.stream_profile_id, now + timedelta(seconds=6)) is not None
    assert alert.pk


def test_cap_test_messages_air_only_on_channels_that_opted_in(source, channel):
    other = Channel.objects.create(number="9", name="Nine")
    ChannelAlertSettings.objects.create(channel=other, airs_test_messages=True)
    Alert.objects.create(headline="Monthly test", status=MessageStatus.TEST, origin=Origin.CAP, sender="nws")
    now = timezone.now()

    assert source.current_key(channel.pk, channel.stream_profile_id, now) is None
    assert source.current_key(other.pk, other.stream_profile_id, now) is not None


def test_on_and_off_air_are_recorded_per_channel(source, channel):
    alert = issue_alert(AlertDraft(headline="Flood"))
    started = timezone.now()

    ready_at, ended = started + timedelta(seconds=4), started + timedelta(seconds=30)
    source.aired(channel.pk, f"alert:{alert.pk}:waiting", started, None)
    source.aired(channel.pk, f"alert:{alert.pk}:waiting", started, ready_at)
    source.aired(channel.pk, f"alert:{alert.pk}", ready_at, None)
    source.aired(channel.pk, f"alert:{alert.pk}", ready_at, ended)
    source.aired(channel.pk, "something:else", started, None)  # not an alert: not recorded

    rows = list(AlertEvent.objects.filter(alert=alert, channel=channel).values_list("kind", "at", "detail"))
    assert rows == [
        (EventKind.ON_AIR, started, "stand-by card"),
        (EventKind.OFF_AIR, ready_at, "stand-by card"),
        (EventKind.ON_AIR, ready_at, "slate"),
        (EventKind.OFF_AIR, ended, "slate"),
    ]


@pytest.mark.django_db(transaction=True)  # the card is made in a thread, with its own connection
def test_a_channel_going_on_the_air_has_its_stand_by_card_made_before_any_alert(channel, monkeypatch):
    from alerts.slate import standby_root

    source = AlertInterrupts(snapshot_seconds=0)
    monkeypatch.setattr(interrupts, "_sources", [source])
    interrupts.prepare(channel.stream_profile_id)
    made = None
    for _ in range(300):  # about a second of encoding; a loaded box takes longer
        made = source._standby.get(channel.stream_profile_id)
        if made is not None:
            break
        time.sleep(0.1)
    assert made is not None and made.is_file() and made.parent == standby_root()
    assert not Alert.objects.exists()  # nothing had to be issued for it


def test_sources_without_a_prepare_step_are_skipped(monkeypatch):
    class Quiet:
        def interruption(self, *args):
            return None

    monkeypatch.setattr(interrupts, "_sources", [Quiet()])
    interrupts.prepare(1)  # no AttributeError
