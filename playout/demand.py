"""Viewer demand for on-demand channels: requests stamp the channel, the supervisor runs it while
the stamp is recent (RETROVUE_ON_DEMAND_IDLE_SECONDS) and stops it after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from playout.models import ChannelRuntime
from scheduling.models import Channel

STAMP_EVERY = timedelta(seconds=30)  # a viewer polls every few seconds; one write per half minute
_stamped_here: dict[int, datetime] = {}


def note_demand(channel: Channel) -> None:
    # Called on every playlist and segment request: no query when this process stamped the channel
    # recently, else one conditional UPDATE (a row is created only the first time).
    now = timezone.now()
    if now - _stamped_here.get(channel.pk, datetime.min.replace(tzinfo=UTC)) < STAMP_EVERY:
        return
    _stamped_here[channel.pk] = now
    stale = Q(last_requested_at__isnull=True) | Q(last_requested_at__lt=now - STAMP_EVERY)
    if not ChannelRuntime.objects.filter(stale, channel=channel).update(last_requested_at=now):
        ChannelRuntime.objects.get_or_create(channel=channel, defaults={"last_requested_at": now})
