"""The alerts app's answer to playout's question "does anything interrupt this channel now?"
(`retrovue.core.interrupts`), registered when the app loads.

Every feed asks once per segment, so the answer comes from a snapshot of the alerts that are on or
coming, their targets and their ready slates, refreshed by one round of queries at most every
`SNAPSHOT_SECONDS` per process however many channels ask.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from django.db.models import Q
from django.utils import timezone

from alerts import crawl
from alerts.choices import EventKind, MessageStatus, Mode, OnClear, Origin, Targeting
from alerts.models import (
    Alert,
    AlertEvent,
    AlertSlate,
    ChannelAlertSettings,
    SlateState,
    StationAlertSettings,
)
from alerts.models.settings import parse_area_codes
from alerts.slate import STANDBY_MS
from alerts.targeting import areas_overlap
from retrovue.core.interrupts import Interruption
from scheduling.models import Channel

SNAPSHOT_SECONDS = 0.5
# The snapshot also holds alerts starting this soon, so a feed planning ahead sees them.
LOOKAHEAD = timedelta(minutes=5)
KEY_PREFIX = "alert:"
CRAWL_SOON = timedelta(seconds=30)


@dataclass(frozen=True)
class _Alert:
    pk: int
    priority: int
    starts_at: datetime
    ends_at: datetime | None
    targeting: str
    channel_ids: frozenset[int]
    area_codes: tuple[str, ...]
    needs_opt_in: bool  # a CAP Test/Exercise message airs only where the channel opted in
    headline: str
    mode: str = Mode.SLATE
    crawl_line: str = ""

    def active_at(self, moment: datetime) -> bool:
        return self.starts_at <= moment and (self.ends_at is None or moment < self.ends_at)


@dataclass(frozen=True)
class _Snapshot:
    alerts: tuple[_Alert, ...]  # by precedence
    channel_codes: dict[int, tuple[str, ...]]
    opted_in: frozenset[int]
    ready: dict[tuple[int, int], tuple[str, int]]  # (alert, profile) → (relative path, duration ms)
    crawling: frozenset[tuple[int, int]] = frozenset()  # (alert, channel) pairs that crawl
    crawl_capacity: int = 0


def _load(now: datetime) -> _Snapshot:
    rows = (
        Alert.objects.filter(cleared_at__isnull=True, starts_at__lte=now + LOOKAHEAD)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .by_precedence()
        .prefetch_related("channels")
    )
    alerts = tuple(
        _Alert(
            pk=alert.pk,
            priority=alert.priority,
            starts_at=alert.starts_at,
            ends_at=alert.ends_at,
            targeting=alert.targeting,
            channel_ids=frozenset(channel.pk for channel in alert.channels.all()),
            area_codes=tuple(parse_area_codes(alert.area_codes)),
            needs_opt_in=alert.origin == Origin.CAP and alert.status != MessageStatus.ACTUAL,
            headline=alert.headline,
            mode=alert.mode,
            crawl_line=crawl.crawl_line(
                alert.headline, alert.message, alert.instruction, alert.status, alert.sender
            )
            if alert.mode == Mode.CRAWL
            else "",
        )
        for alert in rows
    )
    settings_rows = ChannelAlertSettings.objects.all()
    ready = {
        (slate.alert_id, slate.profile_id): (slate.path, slate.duration_ms or 0)
        for slate in AlertSlate.objects.filter(alert_id__in=[a.pk for a in alerts], state=SlateState.READY)
    }
    snapshot = _Snapshot(
        alerts=alerts,
        channel_codes={row.channel_id: tuple(row.codes) for row in settings_rows if row.area_codes},
        opted_in=frozenset(row.channel_id for row in settings_rows if row.airs_test_messages),
        ready=ready,
    )
    if not any(alert.mode == Mode.CRAWL for alert in alerts):
        return snapshot
    capacity = crawl.crawl_capacity(StationAlertSettings.current())
    on_air = Channel.objects.filter(enabled=True).values_list("pk", flat=True)
    # Crawl slots go to what is on (or about to be, within a feed's lead), not alerts minutes away.
    starting = [alert for alert in alerts if alert.starts_at <= now + CRAWL_SOON]
    crawling = crawl.allocate(
        starting, on_air, lambda alert, channel_id: _reaches(snapshot, alert, channel_id), capacity
    )
    return replace(snapshot, crawling=crawling, crawl_capacity=capacity)


def _reaches(snapshot: _Snapshot, alert: _Alert, channel_id: int) -> bool:
    if alert.needs_opt_in and channel_id not in snapshot.opted_in:
        return False
    if alert.targeting == Targeting.ALL:
        return True
    if alert.targeting == Targeting.CHANNELS:
        return channel_id in alert.channel_ids
    return alert.targeting == Targeting.AREAS and areas_overlap(
        alert.area_codes, snapshot.channel_codes.get(channel_id, ())
    )


class AlertInterrupts:
    """The interrupt source (see `retrovue.core.interrupts.InterruptSource`)."""

    def __init__(self, snapshot_seconds: float = SNAPSHOT_SECONDS, clock=timezone.now):
        self.snapshot_seconds = snapshot_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._loaded_at = 0.0
        self._version = 0  # counts the snapshots that differed from the one before (state_token)
        self._standby: dict[int, Path | None] = {}
        self._standby_lock = threading.Lock()
        self._preparing: set[int] = set()

    def snapshot(self) -> _Snapshot:
        with self._lock:
            if self._snapshot is None or time.monotonic() - self._loaded_at >= self.snapshot_seconds:
                loaded = _load(self.clock())
                if loaded != self._snapshot:
                    self._version += 1
                    self._snapshot = loaded
                self._loaded_at = time.monotonic()
            return self._snapshot

    def state_token(self) -> tuple:
        """Changes when `current_key` may answer differently: the snapshot's content (alerts, their
        targets, ready slates, crawls; reloaded at most every `snapshot_seconds`) or the stand-by
        cards made."""
        self.snapshot()
        with self._standby_lock:
            cards = frozenset((profile, path) for profile, path in self._standby.items() if path is not None)
        return self._version, cards

    def forget(self) -> None:
        """Drop the snapshot (after issuing or clearing in this process, and in tests)."""
        with self._lock:
            self._snapshot = None

    def _on_air(self, snapshot: _Snapshot, channel_id: int, moment: datetime) -> _Alert | None:
        for alert in snapshot.alerts:
            if alert.active_at(moment) and _reaches(snapshot, alert, channel_id):
                return alert
        return None

    def current_key(self, channel_id: int, profile_id: int, moment: datetime) -> str | None:
        snapshot = self.snapshot()
        alert = self._on_air(snapshot, channel_id, moment)
        if alert is None:
            return None
        if (alert.pk, channel_id) in snapshot.crawling:
            return f"{KEY_PREFIX}{alert.pk}:crawl"
        if (alert.pk, profile_id) in snapshot.ready:
            return f"{KEY_PREFIX}{alert.pk}"
        if self.standby(profile_id) is None:
            return None  # nothing to break in with yet: the programme goes on
        return f"{KEY_PREFIX}{alert.pk}:waiting"

    def standby(self, profile_id: int) -> Path | None:
        """The stand-by card for this profile, made once (about a second of encoding) if missing."""
        from alerts.slate import ensure_standby

        with self._standby_lock:
            known = self._standby.get(profile_id)
            if known is None or not known.is_file():  # never made, or its data folder was cleaned
                self._standby[profile_id] = ensure_standby(profile_id)
            return self._standby[profile_id]

    def prepare(self, profile_id: int) -> None:
        """Make the profile's stand-by card as its channels go on the air (in a thread: the channel
        starts meanwhile). Without it the first alert would encode it, in the API call that issues it
        and in the feeds that break in, and every channel's break-in would wait for that."""
        with self._standby_lock:
            known = self._standby.get(profile_id)
            if (known is not None and known.is_file()) or profile_id in self._preparing:
                return
            self._preparing.add(profile_id)

        def make() -> None:
            from django.db import connections

            try:
                self.standby(profile_id)
            finally:
                with self._standby_lock:
                    self._preparing.discard(profile_id)
                connections.close_all()  # this thread's own

        threading.Thread(target=make, name=f"standby-card {profile_id}", daemon=True).start()

    def interruption(self, channel_id: int, profile_id: int, moment: datetime) -> Interruption | None:
        from alerts.slate import slate_path

        snapshot = self.snapshot()
        alert = self._on_air(snapshot, channel_id, moment)
        if alert is None:
            return None
        ready = snapshot.ready.get((alert.pk, profile_id))
        if (alert.pk, channel_id) in snapshot.crawling:
            # The programme goes on under the crawl; the slate (or the stand-by card) is what airs
            # where the programme can't be re-encoded.
            path, duration_ms = (
                (slate_path(ready[0]), ready[1]) if ready else (self.standby(profile_id), STANDBY_MS)
            )
            return Interruption(
                key=f"{KEY_PREFIX}{alert.pk}:crawl",
                label=f"alert {alert.pk}: crawl: {alert.headline}"[:200],
                path=path,
                duration_ms=duration_ms,
                crawl_text=crawl.crawl_text_file(alert.pk, alert.crawl_line),
                crawl_since=alert.starts_at,
            )
        if ready is None:
            # The alert's own slate is still encoding: the stand-by card breaks in meanwhile.
            return Interruption(
                key=f"{KEY_PREFIX}{alert.pk}:waiting",
                label=f"alert {alert.pk}: stand-by card while its slate encodes",
                path=self.standby(profile_id),
                duration_ms=STANDBY_MS,
            )
        path, duration_ms = ready
        return Interruption(
            key=f"{KEY_PREFIX}{alert.pk}",
            label=f"alert {alert.pk}: {alert.headline}"[:200],
            path=slate_path(path),
            duration_ms=duration_ms,
        )

    def aired(self, channel_id: int, key: str, started: datetime, ended: datetime | None) -> None:
        alert_id = _alert_id(key)
        if alert_id is None:
            return
        kind = EventKind.ON_AIR if ended is None else EventKind.OFF_AIR
        at = started if ended is None else ended
        what = {"waiting": "stand-by card", "crawl": "crawl"}.get(key.rsplit(":", 1)[-1], "slate")
        if Alert.objects.filter(pk=alert_id).exists():
            AlertEvent.objects.create(alert_id=alert_id, channel_id=channel_id, kind=kind, at=at, detail=what)

    def returned(self, channel_id: int, key: str, interrupted_at: datetime, returned_at: datetime) -> None:
        """A channel set to resume the program an alert cut into does so from `returned_at` (a crawl
        cut into nothing: the programme ran on under it)."""
        alert_id = _alert_id(key)
        if alert_id is None or key.endswith(":crawl"):
            return
        on_clear = ChannelAlertSettings.objects.filter(channel_id=channel_id).values_list(
            "on_clear", flat=True
        )
        if on_clear.first() == OnClear.RESUME:
            from alerts.services import resume_interrupted_program

            resume_interrupted_program(channel_id, alert_id, interrupted_at, returned_at)


def _alert_id(key: str) -> int | None:
    if not key.startswith(KEY_PREFIX):
        return None
    number = key[len(KEY_PREFIX) :].split(":", 1)[0]
    return int(number) if number.isdigit() else None


SOURCE = AlertInterrupts()
