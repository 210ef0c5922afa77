"""Viewers per channel, counted where they are served and summed over machines.

Two kinds, counted the way each protocol allows:

- MPEG-TS: open connections. The TS fan-out server of each machine (`playout.ts_fanout`) knows
  its connections; on the embedded default Django's own TS view counts them per web process.
- HLS: distinct clients (address and player) that fetched a segment of the channel in the last
  `HLS_RECENT_SECONDS`; a player fetches one every segment. Behind nginx the segment requests
  reach each machine's fan-out server as access-log lines (syslog over UDP, see deploy/nginx.conf);
  on the embedded default Django's segment view counts them.

Each counting process (`source`: host and role, so a restarted process overwrites its own rows)
publishes its per-channel counts every `PUBLISH_SECONDS` as `ViewerTally` rows with a time stamp;
the station's figure is the sum of rows younger than `STALE_SECONDS`, so a machine that dies
stops counting once its rows go stale, and those rows are deleted by whoever publishes next.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from playout.models import ViewerKind, ViewerTally
from scheduling.models import Channel

PUBLISH_SECONDS = 5.0
STALE_SECONDS = 20.0  # four missed publications
HLS_RECENT_SECONDS = 12.0  # a few segment durations: a player that stopped fetching has left


def source_name(role: str) -> str:
    return f"{socket.gethostname()}:{role}"[:120]


@dataclass(frozen=True)
class ChannelViewers:
    hls: int = 0
    ts: int = 0

    @property
    def total(self) -> int:
        return self.hls + self.ts


def publish(source: str, kind: str, counts: dict[str, int]) -> None:
    """Replace `source`'s `kind` rows with `counts` (channel number → viewers; zeros dropped)."""
    now = timezone.now()
    numbers = [number for number, viewers in counts.items() if viewers > 0]
    ids = dict(Channel.objects.filter(number__in=numbers).values_list("number", "pk")) if numbers else {}
    rows = [
        ViewerTally(
            source=source, channel_id=ids[number], kind=kind, viewers=counts[number], refreshed_at=now
        )
        for number in numbers
        if number in ids
    ]
    with transaction.atomic():
        ViewerTally.objects.filter(source=source, kind=kind).exclude(channel_id__in=ids.values()).delete()
        if rows:
            ViewerTally.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["source", "channel", "kind"],
                update_fields=["viewers", "refreshed_at"],
            )
    ViewerTally.objects.filter(refreshed_at__lt=now - timedelta(seconds=STALE_SECONDS)).delete()


def withdraw(source: str) -> None:
    """A source that stops (cleanly) takes its rows with it instead of letting them go stale."""
    ViewerTally.objects.filter(source=source).delete()


def viewers_by_channel(now=None) -> dict[int, ChannelViewers]:
    """Channel id → fresh viewers summed over every source: one query."""
    now = now or timezone.now()
    sums: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        ViewerTally.objects.filter(refreshed_at__gte=now - timedelta(seconds=STALE_SECONDS))
        .values("channel_id", "kind")
        .annotate(viewers=Sum("viewers"))
    )
    for row in rows:
        sums[row["channel_id"]][row["kind"]] = row["viewers"]
    return {
        channel_id: ChannelViewers(hls=kinds.get(ViewerKind.HLS, 0), ts=kinds.get(ViewerKind.TS, 0))
        for channel_id, kinds in sums.items()
    }


class RecentClients:
    """HLS viewers seen by one process: channel → client key → when it last fetched a segment."""

    def __init__(self, recent_seconds: float = HLS_RECENT_SECONDS, clock=time.monotonic):
        self._seen: dict[str, dict[str, float]] = defaultdict(dict)
        self._recent = recent_seconds
        self._clock = clock
        self._lock = threading.Lock()

    def saw(self, number: str, client: str) -> None:
        with self._lock:
            self._seen[number][client] = self._clock()

    def counts(self) -> dict[str, int]:
        horizon = self._clock() - self._recent
        with self._lock:
            for number in list(self._seen):
                clients = self._seen[number]
                for client in [key for key, at in clients.items() if at < horizon]:
                    del clients[client]
                if not clients:
                    del self._seen[number]
            return {number: len(clients) for number, clients in self._seen.items()}


class WebProcessTally:
    """The embedded default's counts, kept by each web process (Django serves TS and HLS itself):
    open TS streams, and HLS clients by segment requests. Published when a TS stream opens or
    closes and at most every `PUBLISH_SECONDS` otherwise (from requests and open streams)."""

    def __init__(self):
        self.source = source_name(f"web-{os.getpid()}")
        self._ts: dict[str, int] = defaultdict(int)
        self.hls = RecentClients()
        self._lock = threading.Lock()
        self._published_at = 0.0

    def ts_opened(self, number: str) -> None:
        with self._lock:
            self._ts[number] += 1
        self.publish()

    def ts_closed(self, number: str) -> None:
        with self._lock:
            self._ts[number] = max(0, self._ts[number] - 1)
        self.publish()

    def maybe_publish(self) -> bool:
        """Publish when the last publication is `PUBLISH_SECONDS` old; True when it did."""
        if time.monotonic() - self._published_at < PUBLISH_SECONDS:
            return False
        self.publish()
        return True

    def publish(self) -> None:
        self._published_at = time.monotonic()
        with self._lock:
            ts = dict(self._ts)
        publish(self.source, ViewerKind.TS, ts)
        publish(self.source, ViewerKind.HLS, self.hls.counts())


_web_tally: WebProcessTally | None = None
_web_tally_pid: int | None = None


def web_tally() -> WebProcessTally:
    """This web process's tally (a new one after a fork: the source name carries the pid)."""
    global _web_tally, _web_tally_pid
    if _web_tally is None or _web_tally_pid != os.getpid():
        _web_tally, _web_tally_pid = WebProcessTally(), os.getpid()
    return _web_tally


def client_key(address: str, user_agent: str) -> str:
    """One HLS viewer: its address and player, hashed (kept in memory only, never in the clear)."""
    return hashlib.blake2b(f"{address} {user_agent}".encode(), digest_size=8).hexdigest()


def count_hls_viewer(request, number: str) -> None:
    """A segment request served by Django (the embedded default; nginx reports its own to the
    fan-out server): the client counts as watching `number` for `HLS_RECENT_SECONDS`."""
    tally = web_tally()
    tally.hls.saw(
        number, client_key(request.META.get("REMOTE_ADDR", ""), request.headers.get("User-Agent", ""))
    )
    tally.maybe_publish()
