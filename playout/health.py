"""What playout adds to `/healthz`: one check per enabled channel, and the supervisor standing in
for the `playout` queue (channels run in the supervisor, a process of its own, not a Celery task).

A channel airing the technical-difficulties slate (or a live event's "right back" card) is on the
air but not right: `degraded`, with the as-run log's reason, instead of "on air". One query reads
what every channel is airing now (the latest as-run row that has started), whatever the count of
channels.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.db.models import OuterRef, Q, Subquery

from retrovue.core.health import Check

# The supervisor touches its heartbeat file every 2 s (LEASE_RENEW_SECONDS).
SUPERVISOR_STALE_SECONDS = 60
# ffmpeg writes a segment every target duration (a few seconds); three missed ones is a stall.
SEGMENT_STALE_SECONDS = 30
# A channel may take this long between claiming its lease and its first segment.
STARTING_GRACE_SECONDS = 60


def supervisor_alive(now: datetime) -> bool:
    """This machine's supervisor heartbeat file is fresh, or some supervisor holds a live lease."""
    from playout.models import ChannelRuntime
    from playout.supervisor import heartbeat_path

    try:
        touched = heartbeat_path().stat().st_mtime
    except OSError:
        touched = None
    if touched is not None and time.time() - touched <= SUPERVISOR_STALE_SECONDS:
        return True
    return ChannelRuntime.objects.exclude(lease_owner="").filter(lease_expires_at__gt=now).exists()


def check_playout_queue(now: datetime) -> Check:
    if supervisor_alive(now):
        return Check("queue:playout", True, "the playout supervisor is alive")
    return Check("queue:playout", False, "no playout supervisor heartbeat")


def channel_check(channel, runtime, now: datetime, wanted: bool, airing: str | None = None) -> Check:
    """`airing` is the origin of what the channel's as-run log says is on the air now."""
    from playout.models import AsRunEntry, RuntimeState

    name = f"channel:{channel.number}"
    if not wanted:
        return Check(name, True, "off the air (on demand, no recent viewer)")
    if runtime is None:
        return Check(name, False, "not claimed by a playout supervisor")
    machine = runtime.lease_owner
    segment_age = (now - runtime.last_segment_at).total_seconds() if runtime.last_segment_at else None
    if runtime.state == RuntimeState.ON_AIR:
        if segment_age is not None and segment_age <= SEGMENT_STALE_SECONDS:
            if airing == AsRunEntry.Origin.SLATE:
                return Check(name, True, f"on air, airing the slate, last segment {segment_age:.0f} s ago",
                             degraded=True, machine=machine)  # fmt: skip
            return Check(name, True, f"on air, last segment {segment_age:.0f} s ago", machine=machine)
        age = "no segment yet" if segment_age is None else f"last segment {segment_age:.0f} s ago"
        return Check(name, False, f"on air but stalled, {age}", machine=machine)
    if runtime.state == RuntimeState.STARTING:
        leased = runtime.lease_expires_at is not None and runtime.lease_expires_at > now
        started = runtime.started_at
        if leased and (started is None or now - started <= timedelta(seconds=STARTING_GRACE_SECONDS)):
            return Check(name, True, "starting", machine=machine)
        return Check(
            name,
            False,
            "starting for too long" if leased else "starting, but no supervisor holds it",
            machine=machine,
        )
    return Check(name, False, RuntimeState(runtime.state).label.lower(), machine=machine)


def check_channels(now: datetime) -> list[Check]:
    from playout.models import AsRunEntry, ChannelRuntime
    from playout.supervisor import on_demand_idle
    from scheduling.models import Channel

    recently = Q(runtime__last_requested_at__gte=now - on_demand_idle())
    on_air_now = AsRunEntry.objects.filter(channel=OuterRef("pk"), actual_start__lte=now).order_by(
        "-actual_start"
    )
    channels = list(
        Channel.objects.filter(enabled=True)
        .select_related("runtime")
        .annotate(airing=Subquery(on_air_now.values("origin")[:1]))
    )
    wanted = set(
        Channel.objects.filter(Q(always_on=True) | recently, enabled=True).values_list("pk", flat=True)
    )
    channels.sort(key=lambda channel: channel.sort_key)
    checks = []
    for channel in channels:
        try:
            runtime = channel.runtime
        except ChannelRuntime.DoesNotExist:
            runtime = None
        checks.append(channel_check(channel, runtime, now, channel.pk in wanted, channel.airing))
    return checks
