"""The alert console, one admin page: compose, preview, send, clear, and a big "Clear all".

Seeing it needs `alerts.view_alert`; sending `alerts.add_alert`; clearing `alerts.change_alert`.
"Clear all" has its own URL and does one UPDATE (see `services.clear_all`), so it answers even when
workers, queues and encoders are saturated. "Channels now" shows what the alerts put on each channel
(see `alerts.on_air`); the page refreshes it every second from `console/on-air/` (JSON).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from alerts.attention import attention_signal_for
from alerts.choices import AttentionSignal, Mode
from alerts.crawl import crawl_capacity
from alerts.forms import ComposeForm
from alerts.models import Alert, StationAlertSettings
from alerts.on_air import channel_states
from alerts.services import build_alert, clear_alert, clear_all, issue_alert
from alerts.targeting import targeted_channel_ids
from scheduling.models import Channel

LIST_LIMIT = 50


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _preview(form: ComposeForm, request) -> dict | None:
    """What the slate will show and where, for an unsaved draft; None with the form's errors set."""
    draft = form.draft()
    try:
        alert = build_alert(draft, request.user)
    except ValidationError as error:
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return None
    every_channel = list(Channel.objects.filter(enabled=True).values_list("pk", flat=True))
    if draft.targeting == "channels":  # the unsaved alert has no channel rows yet
        reached = set(draft.channel_ids) & set(every_channel)
    else:
        reached = targeted_channel_ids(alert, every_channel)
    signal = attention_signal_for(alert, StationAlertSettings.current())
    return {
        "alert": alert,
        "channels": Channel.objects.filter(pk__in=reached),
        "signal": AttentionSignal(signal).label,
        "eas": signal == AttentionSignal.EAS,
        "crawl": _crawl_plan(len(reached)) if draft.mode == Mode.CRAWL else None,
    }


def _crawl_plan(reached: int) -> dict:
    """How many of the channels a crawl reaches would crawl, given the capacity and the crawls on air
    now (an alert of higher priority may change it when it airs)."""
    from alerts.interrupts import SOURCE

    capacity = crawl_capacity()
    busy = len(SOURCE.snapshot().crawling)
    crawls = min(reached, max(0, capacity - busy))
    return {"capacity": capacity, "busy": busy, "crawls": crawls, "slate": reached - crawls}


def _crawling_by_alert() -> dict[int, int]:
    from alerts.interrupts import SOURCE

    counts: dict[int, int] = {}
    for alert_id, _channel_id in SOURCE.snapshot().crawling:
        counts[alert_id] = counts.get(alert_id, 0) + 1
    return counts


def console(request, admin_site):
    _require(request, "alerts.view_alert")
    form = ComposeForm(request.POST or None)
    preview = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "clear":
            _require(request, "alerts.change_alert")
            alert = get_object_or_404(Alert, pk=_int(request.POST.get("alert_id")))
            if clear_alert(alert, request.user):
                messages.success(request, f"Cleared: {alert.headline}")
            return redirect(reverse("admin:alerts_console"))
        _require(request, "alerts.add_alert")
        if form.is_valid():
            preview = _preview(form, request)
            if preview is not None and action == "send":
                alert = issue_alert(form.draft(), request.user)
                messages.success(request, f"Sent: {alert.headline}")
                return redirect(reverse("admin:alerts_console"))
    now = timezone.now()
    crawling = _crawling_by_alert()
    current = list(Alert.objects.not_finished(now).by_precedence().prefetch_related("channels")[:LIST_LIMIT])
    for alert in current:
        alert.crawling_channels = crawling.get(alert.pk, 0)
    context = {
        **admin_site.each_context(request),
        "title": "Emergency alerts",
        "form": form,
        "preview": preview,
        "current": current,
        "crawl_capacity": crawl_capacity(),
        "recent": Alert.objects.exclude(pk__in=Alert.objects.not_finished(now).values("pk"))[:10],
        "can_send": request.user.has_perm("alerts.add_alert"),
        "can_clear": request.user.has_perm("alerts.change_alert"),
        "now": now,
        "channel_states": channel_states(now),
    }
    return TemplateResponse(request, "alerts/console.html", context)


def console_clear_all(request, admin_site):
    _require(request, "alerts.change_alert")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    count = clear_all(request.user)
    messages.success(request, f"Cleared {count} alert{'s' if count != 1 else ''}.")
    return redirect(reverse("admin:alerts_console"))


def console_on_air(request, admin_site):
    """The "Channels now" panel's data: what the alerts show on each channel at this moment."""
    _require(request, "alerts.view_alert")
    now = timezone.now()
    return JsonResponse(
        {"now": now.isoformat(), "channels": [state.as_dict() for state in channel_states(now)]}
    )


def _int(value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return number if 0 < number < 2**63 else 0


def alert_console_urls(admin_site) -> list:
    return [
        path(
            "alerts/console/",
            admin_site.admin_view(console),
            {"admin_site": admin_site},
            name="alerts_console",
        ),
        path(
            "alerts/console/clear-all/",
            admin_site.admin_view(console_clear_all),
            {"admin_site": admin_site},
            name="alerts_clear_all",
        ),
        path(
            "alerts/console/on-air/",
            admin_site.admin_view(console_on_air),
            {"admin_site": admin_site},
            name="alerts_on_air",
        ),
    ]
