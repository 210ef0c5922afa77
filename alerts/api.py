"""The /api/alerts/ router: issue, list, read and clear alerts (staff session or staff API token).

Clearing is `DELETE /api/alerts/<id>`: the alert ends now and its row and history stay, because the
history records what aired; so it needs `alerts.change_alert`, not `delete_alert`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from alerts.choices import MessageStatus, Mode, Severity, Targeting
from alerts.models import Alert
from alerts.models.alerts import PRIORITY_MAX
from alerts.services import AlertDraft, clear_alert, issue_alert
from retrovue.core.api_paging import PageNumberPagination
from retrovue.core.api_permissions import requires

router = Router(tags=["alerts"])


class AlertIn(Schema):
    headline: str = Field(min_length=1, max_length=160)
    message: str = Field("", max_length=10_000)
    instruction: str = Field("", max_length=10_000)
    severity: Severity = Severity.SEVERE
    priority: int = Field(50, ge=0, le=PRIORITY_MAX, description="Higher pre-empts lower on a channel.")
    status: MessageStatus = Field(MessageStatus.ACTUAL, description="Test/Exercise never carry EAS tones.")
    starts_at: datetime | None = Field(None, description="Default: now. Times without an offset are UTC.")
    ends_at: datetime | None = Field(None, description="Default: until cleared.")
    targeting: Targeting = Targeting.ALL
    channel_ids: list[int] = Field([], max_length=10_000, description="For targeting=channels.")
    area_codes: str = Field("", max_length=4000, description="For targeting=areas: SAME/FIPS or UGC codes.")
    mode: Mode = Mode.SLATE
    sender: str = Field("", max_length=200, description="Default: the signed-in user's name.")


class AlertOut(Schema):
    id: int
    headline: str
    message: str
    instruction: str
    severity: str
    priority: int
    status: str
    starts_at: datetime
    ends_at: datetime | None
    cleared_at: datetime | None
    targeting: str
    channel_ids: list[int]
    area_codes: str
    mode: str
    sender: str
    origin: str
    state: str = Field(description="scheduled, active, ended or cleared.")

    @staticmethod
    def resolve_channel_ids(alert: Alert) -> list[int]:
        return sorted(channel.pk for channel in alert.channels.all())


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and timezone.is_naive(moment):
        return moment.replace(tzinfo=UTC)
    return moment


def _messages(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{key}: {' '.join(value)}" for key, value in error.message_dict.items())
    return " ".join(error.messages)


@router.post(
    "", response={201: AlertOut}, summary="Issue an alert (it breaks in at each channel's next boundary)"
)
@requires("alerts.add_alert")
def create_alert(request, payload: AlertIn):
    draft = AlertDraft(
        **{**payload.dict(), "starts_at": _aware(payload.starts_at), "ends_at": _aware(payload.ends_at)}
    )
    try:
        alert = issue_alert(draft, request.user)
    except ValidationError as error:
        raise HttpError(422, _messages(error)) from None
    return Status(201, alert)


class CapResultOut(Schema):
    id: int
    outcome: str = Field(description="aired, updated, cancelled, duplicate, ignored or rejected.")
    reason: str
    alert_id: int | None


@router.post(
    "/cap",
    response={200: CapResultOut, 201: CapResultOut, 400: CapResultOut},
    summary="Receive a CAP 1.2 document (the request body, application/cap+xml)",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/cap+xml": {"schema": {"type": "string"}}}}
    },
)
@requires("alerts.add_alert")
def receive_cap(request):
    from alerts.cap_import import import_cap

    record = import_cap(request.body)
    Outcome = record.Outcome
    status = {Outcome.REJECTED: 400, Outcome.AIRED: 201, Outcome.UPDATED: 201}.get(record.outcome, 200)
    return Status(status, record)


@router.get("", response=list[AlertOut], summary="Alerts, newest first")
@paginate(PageNumberPagination, page_size=50)
@requires("alerts.view_alert")
def list_alerts(request):
    return Alert.objects.prefetch_related("channels")


@router.get("/{alert_id}", response=AlertOut, summary="One alert")
@requires("alerts.view_alert")
def get_alert(request, alert_id: int):
    return get_object_or_404(Alert.objects.prefetch_related("channels"), pk=alert_id)


@router.delete(
    "/{alert_id}", response=AlertOut, summary="Clear an alert: every channel returns to its schedule"
)
@requires("alerts.change_alert")
def delete_alert(request, alert_id: int):
    alert = get_object_or_404(Alert, pk=alert_id)
    clear_alert(alert, request.user)
    return get_object_or_404(Alert.objects.prefetch_related("channels"), pk=alert_id)
