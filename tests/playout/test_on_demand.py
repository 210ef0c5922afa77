"""On-demand channels: a viewer's request puts them on the supervisor's list; idle ones drop off."""

from datetime import timedelta

import pytest
from django.utils import timezone

from playout.models import ChannelRuntime
from playout.supervisor import Supervisor
from scheduling.models import Channel

pytestmark = pytest.mark.django_db


@pytest.fixture
def channels(settings, tmp_path):
    settings.HLS_ROOT = tmp_path
    always = Channel.objects.create(number="3", name="Always", time_zone="UTC", always_on=True)
    on_demand = Channel.objects.create(number="9", name="On demand", time_zone="UTC", always_on=False)
    return always, on_demand


def wanted(now=None):
    supervisor = Supervisor(worker_id="test", clock=(lambda: now) if now else timezone.now)
    return [channel.number for channel in supervisor.wanted_channels()]


def test_an_on_demand_channel_is_not_run_until_someone_asks(channels):
    assert wanted() == ["3"]


def test_a_playlist_request_starts_an_on_demand_channel(client, channels):
    response = client.get("/hls/9/index.m3u8")
    assert response.status_code == 503 and response["Retry-After"] == "2"
    assert ChannelRuntime.objects.get(channel__number="9").last_requested_at is not None
    assert wanted() == ["3", "9"]


def test_an_idle_on_demand_channel_drops_off(client, channels, settings):
    settings.RETROVUE_ON_DEMAND_IDLE_SECONDS = 300
    client.get("/hls/9/index.m3u8")
    assert wanted(timezone.now() + timedelta(seconds=301)) == ["3"]


def test_always_on_channels_are_not_stamped(client, channels):
    client.get("/hls/3/index.m3u8")
    assert not ChannelRuntime.objects.filter(channel__number="3", last_requested_at__isnull=False).exists()
