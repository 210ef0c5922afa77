"""Viewer demand for on-demand channels: requests stamp the channel, the supervisor runs it while
the stamp is recent (RETROVUE_ON_DEMAND_IDLE_SECONDS) and stops it after."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from playout.models import ChannelRuntime
from scheduling.models import Channel

STAMP_EVERY = timedelta(seconds=30)  # a viewer polls every few seconds; one write per half minute


def note_demand(channel: Channel) -> None:
    now = timezone.now()
    runtime, _ = ChannelRuntime.objects.get_or_create(channel=channel)
    ChannelRuntime.objects.filter(pk=runtime.pk).filter(
        Q(last_requested_at__isnull=True) | Q(last_requested_at__lt=now - STAMP_EVERY)
    ).update(last_requested_at=now)
