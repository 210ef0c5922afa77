"""What the alerts put on each channel right now, for the console's "Channels now" panel.

Read from the alerts' own history: playout tells the interrupt source when an alert goes on and off
the air on a channel (`AlertEvent` on_air / off_air), at the schedule time the feed cut at. The
feed runs a few seconds ahead of the wall clock, so an event can still be in the future: viewers
get to it at that time, and the panel shows it as coming ("slate at 10:04:12").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q

from alerts.choices import EventKind
from alerts.models import Alert, AlertEvent
from scheduling.models import Channel

# Alerts cleared or ended this long ago still count, so the panel shows each channel's return.
RECENT = timedelta(minutes=10)
PROGRAMME = "programme"


@dataclass(frozen=True)
class ChannelState:
    number: str
    name: str
    showing: str  # "programme", "stand-by card" or "slate"
    alert_id: int | None
    headline: str
    since: datetime | None  # when what it shows went on the air (None: no alert in a while)
    coming: str  # what it switches to next, if the feed already cut to it ("" if nothing)
    coming_at: datetime | None

    def as_dict(self) -> dict:
        return {
            "number": self.number,
            "name": self.name,
            "showing": self.showing,
            "alert_id": self.alert_id,
            "headline": self.headline,
            "since": self.since.isoformat() if self.since else None,
            "coming": self.coming,
            "coming_at": self.coming_at.isoformat() if self.coming_at else None,
        }


def channel_states(now: datetime) -> list[ChannelState]:
    """Every enabled channel, with what alerts show on it at `now` (two queries)."""
    recent = Alert.objects.filter(
        Q(pk__in=Alert.objects.not_finished(now).values("pk"))
        | Q(cleared_at__gte=now - RECENT)
        | Q(ends_at__gte=now - RECENT, ends_at__lte=now)
    )
    events = (
        AlertEvent.objects.filter(
            alert__in=recent, kind__in=(EventKind.ON_AIR, EventKind.OFF_AIR), channel__isnull=False
        )
        .select_related("alert")
        .order_by("at", "pk")
    )
    by_channel: dict[int, list[AlertEvent]] = {}
    for event in events:
        by_channel.setdefault(event.channel_id, []).append(event)
    return [
        _state(channel, by_channel.get(channel.pk, []), now)
        for channel in Channel.objects.filter(enabled=True).order_by("number")
    ]


def _state(channel: Channel, events: list[AlertEvent], now: datetime) -> ChannelState:
    showing, alert, since = PROGRAMME, None, None
    coming, coming_at = "", None
    for event in events:
        # An off-air and the on-air that replaces it share their time: the on-air, written after
        # it, wins. What is still ahead of `now` is only the next change.
        what = (event.detail or "slate") if event.kind == EventKind.ON_AIR else PROGRAMME
        if event.at <= now:
            showing, since = what, event.at
            alert = event.alert if event.kind == EventKind.ON_AIR else None
        elif coming_at is None or event.at == coming_at:
            coming, coming_at = what, event.at
    if coming == showing:
        coming, coming_at = "", None
    return ChannelState(
        number=channel.number,
        name=channel.name,
        showing=showing,
        alert_id=alert.pk if alert else None,
        headline=alert.headline if alert else "",
        since=since,
        coming=coming,
        coming_at=coming_at,
    )
