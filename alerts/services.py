"""Issuing and clearing alerts: the one place the admin page, the API and CAP feeds go through."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from alerts.choices import EventKind, MessageStatus, Mode, Origin, Severity, Targeting
from alerts.models import Alert, AlertEvent
from alerts.models.settings import parse_area_codes
from scheduling.models import Channel


@dataclass
class AlertDraft:
    """What staff compose; validated by `issue_alert`."""

    headline: str
    message: str = ""
    instruction: str = ""
    severity: str = Severity.SEVERE
    priority: int = 50
    status: str = MessageStatus.ACTUAL
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    targeting: str = Targeting.ALL
    channel_ids: list[int] = field(default_factory=list)
    area_codes: str = ""
    mode: str = Mode.SLATE
    sender: str = ""


def build_alert(draft: AlertDraft, user=None) -> Alert:
    """An unsaved, validated alert (the preview shows it without sending it)."""
    alert = Alert(
        headline=" ".join((draft.headline or "").split()),
        message=(draft.message or "").strip(),
        instruction=(draft.instruction or "").strip(),
        severity=draft.severity,
        priority=draft.priority,
        status=draft.status,
        starts_at=draft.starts_at or timezone.now(),
        ends_at=draft.ends_at,
        targeting=draft.targeting,
        area_codes=" ".join(parse_area_codes(draft.area_codes)) if draft.area_codes else "",
        mode=draft.mode,
        sender=(draft.sender or (user.get_username() if user else "") or "Station").strip(),
        origin=Origin.STAFF,
        created_by=user if user and user.is_authenticated else None,
    )
    alert.full_clean(exclude=["channels"])
    if draft.targeting == Targeting.CHANNELS:
        found = set(Channel.objects.filter(pk__in=draft.channel_ids).values_list("pk", flat=True))
        missing = sorted(set(draft.channel_ids) - found)
        if missing:
            raise ValidationError({"channel_ids": f"No such channel: {', '.join(map(str, missing))}."})
        if not found:
            raise ValidationError({"channel_ids": "Choose at least one channel."})
    return alert


@transaction.atomic
def issue_alert(draft: AlertDraft, user=None) -> Alert:
    alert = build_alert(draft, user)
    alert.save()
    if draft.targeting == Targeting.CHANNELS:
        alert.channels.set(draft.channel_ids)
    AlertEvent.objects.create(
        alert=alert, kind=EventKind.ISSUED, user=alert.created_by, detail=_summary(alert)
    )
    transaction.on_commit(lambda: _encode_slates_soon(alert.pk))
    prepare_standby_cards()
    return alert


def prepare_standby_cards() -> None:
    """Make sure each profile's stand-by card exists (encoded once ever, about a second each), so a
    feed never has to make one at the moment it breaks in."""
    from alerts.slate import ensure_standby

    for profile_id in (
        Channel.objects.filter(enabled=True).values_list("stream_profile_id", flat=True).distinct()
    ):
        ensure_standby(profile_id)


def _encode_slates_soon(alert_id: int) -> None:
    """The slates encode on the worker (`default` queue); the stand-by card covers the seconds."""
    from alerts.tasks import encode_slates

    encode_slates.delay(alert_id)


def _summary(alert: Alert) -> str:
    return f"{alert.status} {alert.severity}, priority {alert.priority}, {alert.get_targeting_display().lower()}"[
        :300
    ]


def clear_alert(alert: Alert, user=None) -> bool:
    """Clear one alert; False if it was already cleared or over."""
    now = timezone.now()
    cleared = Alert.objects.not_finished(now).filter(pk=alert.pk).update(cleared_at=now, cleared_by=user)
    if cleared:
        AlertEvent.objects.create(alert_id=alert.pk, at=now, kind=EventKind.CLEARED, user=user)
    return bool(cleared)


def clear_all(user=None) -> int:
    """Clear every alert that is on or still to come, with one UPDATE: it needs nothing but the
    database, so it works while workers, queues and encoders are busy or down."""
    now = timezone.now()
    count = Alert.objects.not_finished(now).update(cleared_at=now, cleared_by=user)
    if count:
        cleared_ids = Alert.objects.filter(cleared_at=now).values_list("pk", flat=True)
        AlertEvent.objects.bulk_create(
            AlertEvent(alert_id=pk, at=now, kind=EventKind.CLEARED, user=user, detail="Clear all")
            for pk in cleared_ids
        )
    return count


def resume_interrupted_program(
    channel_id: int, alert_id: int, interrupted_at: datetime, returned_at: datetime
):
    """The channel resumes the program the alert cut into, the rest of its day rippling later
    (`scheduling.resume`); the alert's history says what resumed and by how much the day moved."""
    from scheduling.resume import resume_after_interruption

    channel = Channel.objects.filter(pk=channel_id).first()
    alert = Alert.objects.filter(pk=alert_id).first()
    if channel is None:
        return None
    headline = alert.headline if alert else ""
    resumed = resume_after_interruption(
        channel,
        interrupted_at,
        returned_at,
        title=f"Emergency alert: {headline}" if headline else "Emergency alert",
        description=alert.message if alert else "",
    )
    if resumed is not None and alert is not None:
        what = (
            f"{resumed.program.title} resumed {_clock(resumed.resumes_from_ms)} in"
            if resumed.program
            else "the schedule resumed"
        )
        local_end = timezone.localtime(resumed.ripple_ends, channel.zone)
        AlertEvent.objects.create(
            alert=alert,
            channel=channel,
            kind=EventKind.RESUMED,
            at=returned_at,
            detail=f"{what}; the rest of the day airs {_clock(resumed.pushed.total_seconds() * 1000)} "
            f"later until {local_end:%H:%M}"[:300],
        )
    return resumed


def _clock(ms: float) -> str:
    seconds = round(ms / 1000)
    return (
        f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        if seconds >= 3600
        else f"{seconds // 60}:{seconds % 60:02d}"
    )
