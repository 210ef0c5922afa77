"""CAP documents into alerts: what airs, what replaces, what ends, and what is only recorded.

- duplicates (same identifier, sender and sent, IPAWS profile) are ignored;
- Cancel ends the alerts it references; Update replaces them (they end, the new one airs);
- only scope Public airs; Draft and System never; Test and Exercise are issued but air only on
  channels that opted in (see `alerts.interrupts`), and never with EAS tones (`alerts.attention`);
- an alert whose `expires` has passed never airs;
- targets: the SAME/FIPS and UGC geocodes of its areas, else the feed's areas, else every channel;
- priority from the staff-edited severity × urgency × certainty table.
A malformed document is rejected with the parser's reason and recorded; nothing else changes.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from alerts.cap import CapAlert, CapError, CapInfo, parse_cap
from alerts.choices import EventKind, Mode, Origin, Targeting
from alerts.models import Alert, AlertEvent, CapDocument, CapFeed, CapPriorityRule
from alerts.models.settings import AREA_CODE
from alerts.services import prepare_standby_cards

Outcome = CapDocument.Outcome
SEVERITY_BASE = {"Extreme": 90, "Severe": 70, "Moderate": 50, "Minor": 30, "Unknown": 20}
URGENCY_BONUS = {"Immediate": 8, "Expected": 4, "Future": 0, "Past": -20, "Unknown": 0}
CERTAINTY_BONUS = {"Observed": 2, "Likely": 1, "Possible": 0, "Unlikely": -10, "Unknown": 0}
HEADLINE_MAX = 160


def default_priority(info: CapInfo) -> int:
    score = SEVERITY_BASE.get(info.severity, 20) + URGENCY_BONUS.get(info.urgency, 0)
    return max(0, min(100, score + CERTAINTY_BONUS.get(info.certainty, 0)))


def priority_for(info: CapInfo) -> int:
    rules = CapPriorityRule.objects.filter(
        severity__in=("", info.severity), urgency__in=("", info.urgency), certainty__in=("", info.certainty)
    )
    best = max(
        rules, key=lambda rule: bool(rule.severity) + bool(rule.urgency) + bool(rule.certainty), default=None
    )
    return best.priority if best else default_priority(info)


def area_codes(info: CapInfo) -> list[str]:
    codes = []
    for area in info.areas:
        for name, value in area.geocodes:
            value = value.strip().upper()
            if name.upper() in ("SAME", "FIPS6", "UGC") and AREA_CODE.fullmatch(value):
                codes.append(value)
    return list(dict.fromkeys(codes))


def import_cap(
    document: bytes | str, *, feed: CapFeed | None = None, now: datetime | None = None
) -> CapDocument:
    """Parse and act on one CAP document; the returned row says what happened and why."""
    now = now or timezone.now()
    size = len(document.encode() if isinstance(document, str) else document)
    try:
        cap = parse_cap(document)
    except CapError as error:
        return CapDocument.objects.create(
            feed=feed, outcome=Outcome.REJECTED, reason=str(error), size_bytes=size
        )
    record = CapDocument(
        feed=feed, identifier=cap.identifier[:255], sender=cap.sender[:255], sent=cap.sent,
        msg_type=cap.msg_type, status=cap.status, size_bytes=size,
    )  # fmt: skip
    with transaction.atomic():
        outcome, reason, alert = _act(cap, feed, now)
        record.outcome, record.reason, record.alert = outcome, reason, alert
        record.save()
    return record


def _act(cap: CapAlert, feed: CapFeed | None, now: datetime) -> tuple[str, str, Alert | None]:
    duplicate = CapDocument.objects.filter(
        identifier=cap.identifier, sender=cap.sender, sent=cap.sent
    ).exclude(outcome__in=(Outcome.REJECTED, Outcome.DUPLICATE))
    if duplicate.exists():
        return Outcome.DUPLICATE, "Already received (same identifier, sender and sent).", None
    if cap.msg_type in ("Ack", "Error"):
        return Outcome.IGNORED, f"msgType {cap.msg_type} is not for air.", None
    if cap.status in ("Draft", "System"):
        return Outcome.IGNORED, f"status {cap.status} never airs.", None
    if cap.scope != "Public":
        return Outcome.IGNORED, f"scope {cap.scope} is not for broadcast.", None
    if cap.msg_type == "Cancel":
        ended = _end_referenced(cap, now, "Cancelled by the sender")
        return Outcome.CANCELLED, f"Ended {ended} alert(s).", None
    info = cap.info_for(("en",))
    if info is None:
        return Outcome.IGNORED, "No <info> block: nothing to air.", None
    if info.expires is not None and info.expires <= now:
        if cap.msg_type == "Update":
            _end_referenced(cap, now, "Updated (the update has expired)")
        return Outcome.IGNORED, f"Expired at {info.expires.isoformat()}.", None
    replaced = _end_referenced(cap, now, "Replaced by an update") if cap.msg_type == "Update" else 0
    alert = _issue(cap, info, feed, now)
    if replaced:
        return Outcome.UPDATED, f"Replaced {replaced} alert(s).", alert
    return Outcome.AIRED, "", alert


def _end_referenced(cap: CapAlert, now: datetime, why: str) -> int:
    count = 0
    for reference in cap.references:
        for alert in Alert.objects.filter(
            origin=Origin.CAP, sender=reference.sender, cap_identifier=reference.identifier
        ).not_finished(now):
            Alert.objects.filter(pk=alert.pk).update(cleared_at=now)
            AlertEvent.objects.create(
                alert=alert, at=now, kind=EventKind.ENDED, detail=f"{why}: {cap.identifier}"[:300]
            )
            count += 1
    return count


def _issue(cap: CapAlert, info: CapInfo, feed: CapFeed | None, now: datetime) -> Alert:
    codes = area_codes(info)
    if codes:
        targeting, target_codes = Targeting.AREAS, " ".join(codes)
    elif feed is not None and feed.area_codes.strip():
        targeting, target_codes = Targeting.AREAS, feed.area_codes
    else:
        targeting, target_codes = Targeting.ALL, ""
    headline = info.headline or info.event
    if len(headline) > HEADLINE_MAX:
        headline = headline[: HEADLINE_MAX - 1] + "…"
    starts = info.effective or cap.sent
    same_event = info.event_code("SAME").upper()
    alert = Alert.objects.create(
        headline=headline,
        message=info.description,
        instruction=info.instruction,
        severity=info.severity,
        priority=priority_for(info),
        status=cap.status,
        starts_at=starts,
        ends_at=info.expires,
        targeting=targeting,
        area_codes=target_codes,
        mode=Mode.SLATE,
        sender=cap.sender[:200],  # the identity Update/Cancel references name
        origin=Origin.CAP,
        cap_identifier=cap.identifier[:255],
        cap_sent=cap.sent,
        same_event_code=same_event if len(same_event) == 3 and same_event.isalpha() else "CEM",
    )
    AlertEvent.objects.create(
        alert=alert, at=now, kind=EventKind.ISSUED,
        detail=f"CAP {cap.msg_type} from {feed.name if feed else 'POST'}: {info.event}"[:300],
    )  # fmt: skip
    transaction.on_commit(lambda: _encode_slates_soon(alert.pk))
    prepare_standby_cards()
    return alert


def _encode_slates_soon(alert_id: int) -> None:
    from alerts.tasks import encode_slates

    encode_slates.delay(alert_id)
