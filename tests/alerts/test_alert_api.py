"""Issuing and clearing alerts through the API, and which channels an alert reaches."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from alerts.choices import EventKind, Targeting
from alerts.models import Alert, ChannelAlertSettings
from alerts.services import AlertDraft, clear_all, issue_alert
from alerts.targeting import alert_on_air, alerts_on_channel, codes_overlap
from retrovue.core.models import ApiToken
from scheduling.models import Channel

pytestmark = pytest.mark.django_db


def _token_client(*permissions: str) -> tuple[Client, object]:
    user = get_user_model().objects.create_user("operator", is_staff=True)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    _, token = ApiToken.issue(user, "alert script")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}"), user


def _post(client, body):
    return client.post("/api/alerts/", json.dumps(body), content_type="application/json")


def test_a_staff_token_issues_an_alert_for_every_channel():
    client, user = _token_client("alerts.add_alert", "alerts.view_alert")
    seven = Channel.objects.create(number="7", name="Seven")

    response = _post(client, {"headline": "Tornado warning", "message": "Take shelter now.", "priority": 80})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "active" and body["targeting"] == "all" and body["sender"] == "operator"
    alert = Alert.objects.get(pk=body["id"])
    assert alert.created_by == user
    assert list(alert.events.values_list("kind", flat=True)) == [EventKind.ISSUED]
    assert alert_on_air(seven.pk, timezone.now()) == alert


def test_issuing_needs_the_add_permission_and_clearing_the_change_permission():
    client, _ = _token_client("alerts.view_alert")
    assert _post(client, {"headline": "No"}).status_code == 403
    alert = issue_alert(AlertDraft(headline="Stays"))
    assert client.delete(f"/api/alerts/{alert.pk}").status_code == 403
    assert Alert.objects.get(pk=alert.pk).cleared_at is None


def test_anonymous_callers_are_refused():
    assert Client().post("/api/alerts/", "{}", content_type="application/json").status_code == 401


def test_delete_clears_the_alert_and_keeps_its_history():
    client, user = _token_client("alerts.change_alert", "alerts.view_alert")
    alert = issue_alert(AlertDraft(headline="Boil water"))

    response = client.delete(f"/api/alerts/{alert.pk}")

    assert response.status_code == 200
    assert response.json()["state"] == "cleared"
    alert.refresh_from_db()
    assert alert.cleared_by == user
    assert list(alert.events.values_list("kind", flat=True)) == [EventKind.ISSUED, EventKind.CLEARED]
    assert client.delete("/api/alerts/999999").status_code == 404


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"headline": ""}, "headline"),
        ({"headline": "x", "priority": 101}, "priority"),
        ({"headline": "x", "targeting": "channels", "channel_ids": [424242]}, "No such channel"),
        ({"headline": "x", "targeting": "channels"}, "at least one channel"),
        ({"headline": "x", "targeting": "areas"}, "area code"),
        ({"headline": "x", "targeting": "areas", "area_codes": "NY"}, "Not an area code"),
        ({"headline": "x", "ends_at": "2000-01-01T00:00:00Z"}, "end must come after"),
        ({"headline": "x", "status": "Real"}, "status"),
    ],
)
def test_bad_alerts_are_refused_with_a_clear_reason_and_nothing_is_saved(body, complaint):
    client, _ = _token_client("alerts.add_alert")

    response = _post(client, body)

    assert response.status_code in (400, 422)
    assert complaint in response.content.decode()
    assert not Alert.objects.exists()


def test_chosen_channels_only_reach_those_channels():
    seven = Channel.objects.create(number="7", name="Seven")
    nine = Channel.objects.create(number="9", name="Nine")
    client, _ = _token_client("alerts.add_alert")

    response = _post(client, {"headline": "Road closed", "targeting": "channels", "channel_ids": [nine.pk]})

    assert response.status_code == 201
    now = timezone.now()
    assert alert_on_air(seven.pk, now) is None
    assert alert_on_air(nine.pk, now).headline == "Road closed"


@pytest.mark.parametrize(
    ("alert_code", "channel_code", "overlap"),
    [
        ("036061", "036061", True),
        ("036000", "036061", True),  # whole state reaches a county
        ("000000", "048201", True),  # whole country
        ("036061", "036000", True),  # a county alert reaches a channel serving the state
        ("036061", "136061", True),  # whole county reaches part of it
        ("136061", "236061", False),  # two different parts of one county
        ("036061", "036047", False),
        ("NYZ072", "NYZ072", True),
        ("NYZALL", "NYZ072", True),
        ("NYZ072", "NYC061", False),
        ("NYZ072", "036061", False),  # SAME and UGC are different vocabularies
    ],
)
def test_area_codes_overlap_when_one_contains_the_other(alert_code, channel_code, overlap):
    assert codes_overlap(alert_code, channel_code) is overlap


def test_area_targeting_reaches_channels_configured_with_overlapping_codes():
    manhattan = Channel.objects.create(number="2", name="Manhattan")
    houston = Channel.objects.create(number="4", name="Houston")
    ChannelAlertSettings.objects.create(channel=manhattan, area_codes="036061, NYZ072")
    ChannelAlertSettings.objects.create(channel=houston, area_codes="048201")

    alert = issue_alert(AlertDraft(headline="Flood", targeting=Targeting.AREAS, area_codes="036000"))

    now = timezone.now()
    assert alert_on_air(manhattan.pk, now) == alert
    assert alert_on_air(houston.pk, now) is None


def test_higher_priority_preempts_and_the_rest_queue_by_priority():
    channel = Channel.objects.create(number="7", name="Seven")
    low = issue_alert(AlertDraft(headline="Low", priority=10))
    high = issue_alert(AlertDraft(headline="High", priority=90))
    middle = issue_alert(AlertDraft(headline="Middle", priority=50))

    assert alerts_on_channel(channel.pk, timezone.now()) == [high, middle, low]
    clear_all()
    assert alerts_on_channel(channel.pk, timezone.now()) == []


def test_scheduled_and_ended_alerts_are_not_on_air():
    channel = Channel.objects.create(number="7", name="Seven")
    now = timezone.now()
    issue_alert(AlertDraft(headline="Later", starts_at=now + timedelta(hours=1)))
    issue_alert(
        AlertDraft(headline="Over", starts_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1))
    )

    assert alert_on_air(channel.pk, now) is None


def test_clear_all_is_one_update_and_records_each_alert():
    for number in range(5):
        issue_alert(AlertDraft(headline=f"Alert {number}"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        count = clear_all()

    assert count == 5
    updates = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    assert Alert.objects.filter(cleared_at__isnull=True).count() == 0
    assert sum(alert.events.filter(kind=EventKind.CLEARED).count() for alert in Alert.objects.all()) == 5
