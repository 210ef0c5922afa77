"""Sharing a station's channels among playout workers (one supervisor per playout machine).

Each worker has a capacity in CPU cores (`--capacity`, `RETROVUE_PLAYOUT_CAPACITY`; by default
three quarters of the machine's cores) and each channel an estimated cost, by how it airs:

- a channel whose next `COVERAGE_WINDOW` is pre-generated is stream-copied by its ffmpeg and paced
  by the supervisor's feed: `RETROVUE_PLAYOUT_COPY_COST` cores (0.01; bench/README.md measured
  0.008–0.009 per channel on air);
- a channel that is not transcodes live: its profile's pixel rate times
  `RETROVUE_PLAYOUT_TRANSCODE_COST` cores per megapixel a second (0.05: an SD 640×480 at 29.97
  profile, 9.2 Mpx/s, costs 0.46 core, about what the SD encodes in bench/README.md take).

A worker's fair share is the wanted channels' total cost split in proportion to the capacities of
the live, not draining workers (the rows of `PlayoutWorker`), never more than its own capacity. It
claims free channels while its load is under its share, and hands channels to the least used peer
(load over capacity) while, after the move, it is still at least as used as that peer: the
station spreads evenly (to within one channel) whichever worker started first, and one joining or
leaving rebalances it.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from playout.models import ChannelRuntime, PlayoutWorker
from scheduling.models import Channel

logger = logging.getLogger(__name__)

# A channel counts as stream-copied when this much of its schedule ahead is pre-generated.
COVERAGE_WINDOW = timedelta(minutes=10)
DEFAULT_COPY_COST = 0.01
DEFAULT_TRANSCODE_COST_PER_MEGAPIXEL = 0.05
DEFAULT_CAPACITY_SHARE = 0.75
# Loads are sums of float costs: compare them with this slack, so 3 × 0.46 counts as 1.38.
EPSILON = 1e-6


def default_capacity() -> float:
    configured = getattr(settings, "RETROVUE_PLAYOUT_CAPACITY", None)
    if configured:
        return float(configured)
    return round((os.cpu_count() or 1) * DEFAULT_CAPACITY_SHARE, 2)


def copy_cost() -> float:
    return float(getattr(settings, "RETROVUE_PLAYOUT_COPY_COST", None) or DEFAULT_COPY_COST)


def transcode_cost(channel: Channel) -> float:
    per_megapixel = float(
        getattr(settings, "RETROVUE_PLAYOUT_TRANSCODE_COST", None) or DEFAULT_TRANSCODE_COST_PER_MEGAPIXEL
    )
    profile = channel.stream_profile
    megapixels = profile.width * profile.height * float(profile.frame_rate) / 1_000_000
    return round(megapixels * per_megapixel, 4)


def channel_costs(channels: Iterable[Channel], now: datetime) -> dict[int, float]:
    """Estimated cores per channel id: copy when pre-generated ahead, else a live transcode."""
    from playout import pregen

    channels = list(channels)
    if not channels:
        return {}
    coverage = pregen.coverage_by_channel(
        now, within=COVERAGE_WINDOW, channel_ids=[channel.pk for channel in channels]
    )
    return {
        channel.pk: copy_cost()
        if coverage.get(channel.pk, timedelta(0)) >= COVERAGE_WINDOW
        else transcode_cost(channel)
        for channel in channels
    }


def fair_share(capacity: float, total_capacity: float, total_cost: float) -> float:
    """This worker's part of `total_cost`, in proportion to its capacity, capped by it."""
    if total_capacity <= 0:
        return 0.0
    return min(capacity, total_cost * capacity / total_capacity)


# --- The workers' rows --------------------------------------------------------------------------------


@dataclass
class Peer:
    """Another live worker as this one sees it (its load is updated locally as channels go to it)."""

    worker_id: str
    capacity: float
    load: float


def beat(worker_id: str, *, capacity: float, load: float, channels: int, origin: str, now: datetime) -> None:
    PlayoutWorker.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname(),
            "capacity": capacity,
            "load": load,
            "channels": channels,
            "origin": origin,
            "last_seen_at": now,
        },
    )


def mark_draining(worker_id: str) -> None:
    PlayoutWorker.objects.filter(worker_id=worker_id).update(draining=True)


def forget(worker_id: str) -> None:
    PlayoutWorker.objects.filter(worker_id=worker_id).delete()


def live_peers(
    worker_id: str, now: datetime, stale_after: timedelta, costs: dict[int, float] | None = None
) -> list[Peer]:
    """Workers other than this one that beat within `stale_after` and are not draining. With
    `costs` (channel id → cores), a peer's load is counted from the leases it holds now, not from
    its last beat (which is up to a beat old: two workers evening out on stale loads would pass
    channels back and forth)."""
    rows = (
        PlayoutWorker.objects.filter(last_seen_at__gte=now - stale_after, draining=False)
        .exclude(worker_id=worker_id)
        .values_list("worker_id", "capacity", "load")
    )
    peers = [Peer(worker, capacity, load) for worker, capacity, load in rows]
    if costs is not None and peers:
        held: dict[str, float] = {peer.worker_id: 0.0 for peer in peers}
        leases = list(
            ChannelRuntime.objects.filter(lease_owner__in=list(held), lease_expires_at__gt=now).values_list(
                "lease_owner", "channel_id"
            )
        )
        unknown = {channel_id for _, channel_id in leases if channel_id not in costs}
        if unknown:
            costs.update(
                channel_costs(Channel.objects.filter(pk__in=unknown).select_related("stream_profile"), now)
            )
        for owner, channel_id in leases:
            held[owner] += costs.get(channel_id, copy_cost())
        for peer in peers:
            peer.load = held[peer.worker_id]
    return peers


def receiver_for(peers: list[Peer], cost: float) -> Peer | None:
    """The least used peer (load over capacity) that can take `cost` within its capacity."""
    room = [peer for peer in peers if peer.capacity > 0 and peer.load + cost <= peer.capacity + EPSILON]
    if not room:
        return None
    return min(room, key=lambda peer: peer.load / peer.capacity)


def origin_for(number: str, now: datetime) -> str | None:
    """Base URL of the HLS of the machine airing channel `number` now (None when none holds it):
    what a front door routing viewers to a channel's origin looks up."""
    owner = (
        ChannelRuntime.objects.filter(channel__number=number, lease_expires_at__gt=now)
        .exclude(lease_owner="")
        .values_list("lease_owner", flat=True)
        .first()
    )
    if owner is None:
        return None
    return PlayoutWorker.objects.filter(worker_id=owner).values_list("origin", flat=True).first() or None


# What the front door may proxy a viewer to: a scheme, a host name or address and a port, nothing
# else. No path (the machine serves its HLS root at `/hls/`, the same path as the front door), no
# user, query or fragment, so an origin names a machine and never a URL on it.
ORIGIN_PATTERN = re.compile(
    r"^https?://"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:.]{2,45}\])"
    r"(?::(?P<port>[0-9]{1,5}))?$"
)


def checked_origin(origin: str) -> str:
    """`origin` (an `http(s)://host[:port]` base, one trailing slash allowed) without the slash;
    ValueError for anything else."""
    candidate = origin.strip().removesuffix("/")
    match = ORIGIN_PATTERN.fullmatch(candidate)
    if match is None or not 0 < int(match["port"] or 80) <= 65535:
        raise ValueError(
            "A playout origin (RETROVUE_PLAYOUT_ORIGIN, --origin) is http(s)://host[:port] with no path, user, query or fragment"
        )
    return candidate


def front_door_origin(number: str, now: datetime) -> str | None:
    """Where the front door should proxy channel `number`'s HLS to: the airing machine's checked
    origin, or None to serve it from the front door's own disk (no machine airs it, the machine
    set no origin, or it is this machine's own `RETROVUE_PLAYOUT_ORIGIN`). An origin that fails
    the check is never used (a tampered or mistyped row cannot point nginx anywhere else)."""
    origin = origin_for(number, now)
    if not origin:
        return None
    try:
        origin = checked_origin(origin)
    except ValueError:
        logger.warning("Channel %s: its playout worker's origin is not an http(s)://host[:port] URL", number)
        return None
    own = (getattr(settings, "RETROVUE_PLAYOUT_ORIGIN", "") or "").strip().removesuffix("/")
    return None if origin == own else origin
