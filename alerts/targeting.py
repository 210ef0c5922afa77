"""Which channels an alert reaches, and which alert a channel airs.

Area codes overlap when either contains the other: SAME/FIPS `PSSCCC` (47 CFR §11.31(c)) has P = 0
for a whole county, CCC = 000 for a whole state and 000000 for the whole country; UGC `SSFNNN` has
NNN = ALL for every county or zone of a state. A channel serving a whole state receives an alert for
one of its counties, and a channel serving part of a county receives one for the whole county.
"""

from __future__ import annotations

from collections.abc import Iterable

from alerts.choices import Targeting
from alerts.models import Alert, ChannelAlertSettings
from alerts.models.settings import parse_area_codes


def _same_contains(outer: str, inner: str) -> bool:
    if outer == inner or outer == "000000":
        return True
    if outer[3:] == "000":
        return outer[1:3] == inner[1:3]
    return outer[0] == "0" and outer[1:] == inner[1:]


def _ugc_contains(outer: str, inner: str) -> bool:
    return outer == inner or (outer[3:] == "ALL" and outer[:3] == inner[:3])


def codes_overlap(first: str, second: str) -> bool:
    if first.isdigit() != second.isdigit():
        return False  # SAME and UGC name areas differently; a sender that means both lists both
    contains = _same_contains if first.isdigit() else _ugc_contains
    return contains(first, second) or contains(second, first)


def areas_overlap(alert_codes: Iterable[str], channel_codes: Iterable[str]) -> bool:
    channel_codes = list(channel_codes)
    return any(codes_overlap(a, c) for a in alert_codes for c in channel_codes)


def targeted_channel_ids(alert: Alert, channel_ids: Iterable[int]) -> set[int]:
    """The subset of `channel_ids` this alert reaches."""
    channel_ids = set(channel_ids)
    if alert.targeting == Targeting.ALL:
        return channel_ids
    if alert.targeting == Targeting.CHANNELS:
        return channel_ids & {channel.pk for channel in alert.channels.all()}
    alert_codes = parse_area_codes(alert.area_codes)
    covered = ChannelAlertSettings.objects.filter(channel_id__in=channel_ids).exclude(area_codes="")
    return {row.channel_id for row in covered if areas_overlap(alert_codes, row.codes)}


def alerts_on_channel(channel_id: int, moment) -> list[Alert]:
    """Active alerts that reach this channel, the one on air first, the rest queued by priority."""
    active = list(Alert.objects.active_at(moment).by_precedence().prefetch_related("channels"))
    return [alert for alert in active if channel_id in targeted_channel_ids(alert, [channel_id])]


def alert_on_air(channel_id: int, moment) -> Alert | None:
    queue = alerts_on_channel(channel_id, moment)
    return queue[0] if queue else None
