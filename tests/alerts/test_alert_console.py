"""The alert console: compose, preview, send, clear, and "Clear all"."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from alerts.choices import AttentionSignal, EventKind
from alerts.models import Alert, StationAlertSettings
from alerts.services import AlertDraft, issue_alert
from scheduling.models import Channel

pytestmark = pytest.mark.django_db
CONSOLE = "/admin/alerts/console/"
CLEAR_ALL = "/admin/alerts/console/clear-all/"


def _staff(*permissions: str) -> Client:
    user = get_user_model().objects.create_user("desk", is_staff=True)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = Client()
    client.force_login(user)
    return client


COMPOSE = {
    "headline": "Tornado warning for the county",
    "message": "A tornado was sighted near the river.",
    "instruction": "Go to a basement now.",
    "severity": "Extreme",
    "priority": "90",
    "status": "Test",
    "targeting": "all",
    "mode": "slate",
}


def test_preview_shows_the_slate_and_reach_without_sending():
    Channel.objects.create(number="7", name="Seven")
    Channel.objects.create(number="9", name="Nine")
    client = _staff("alerts.view_alert", "alerts.add_alert")

    response = client.post(CONSOLE, {**COMPOSE, "action": "preview"})

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="rv-preview"' in page and "Tornado warning for the county" in page
    assert 'id="rv-reach">2<' in page
    assert "Station alert tone" in page
    assert not Alert.objects.exists()


def test_the_preview_names_the_eas_signal_only_for_a_real_alert_on_an_eas_station():
    StationAlertSettings.objects.create(pk=1, attention_signal=AttentionSignal.EAS, eas_station_id="KXYZ/TV")
    client = _staff("alerts.view_alert", "alerts.add_alert")

    test_page = client.post(CONSOLE, {**COMPOSE, "action": "preview"}).content.decode()
    real_page = client.post(CONSOLE, {**COMPOSE, "status": "Actual", "action": "preview"}).content.decode()

    assert "Station alert tone" in test_page and "EAS attention signal" not in test_page
    assert "EAS attention signal" in real_page


def test_send_issues_the_alert_and_lists_it_with_a_clear_button():
    client = _staff("alerts.view_alert", "alerts.add_alert", "alerts.change_alert")

    response = client.post(CONSOLE, {**COMPOSE, "action": "send"}, follow=True)

    alert = Alert.objects.get()
    assert alert.status == "Test" and alert.sender == "desk"
    page = response.content.decode()
    assert f'data-alert="{alert.pk}"' in page and 'class="rv-clear"' in page

    client.post(CONSOLE, {"action": "clear", "alert_id": str(alert.pk)})
    alert.refresh_from_db()
    assert alert.cleared_at is not None


def test_a_bad_draft_shows_the_reason_and_sends_nothing():
    client = _staff("alerts.view_alert", "alerts.add_alert")

    response = client.post(CONSOLE, {**COMPOSE, "targeting": "areas", "area_codes": "", "action": "send"})

    assert response.status_code == 200
    assert "Area targeting needs at least one area code" in response.content.decode()
    assert not Alert.objects.exists()


def test_viewers_cannot_send_or_clear():
    alert = issue_alert(AlertDraft(headline="Stays on"))
    client = _staff("alerts.view_alert")

    assert client.get(CONSOLE).status_code == 200
    assert client.post(CONSOLE, {**COMPOSE, "action": "send"}).status_code == 403
    assert client.post(CONSOLE, {"action": "clear", "alert_id": str(alert.pk)}).status_code == 403
    assert client.post(CLEAR_ALL).status_code == 403
    assert Alert.objects.filter(cleared_at__isnull=True).count() == 1


def test_clear_all_clears_every_alert_and_only_answers_post():
    for number in range(3):
        issue_alert(AlertDraft(headline=f"Alert {number}"))
    client = _staff("alerts.view_alert", "alerts.change_alert")

    assert client.get(CLEAR_ALL).status_code == 405
    response = client.post(CLEAR_ALL, follow=True)

    assert "Cleared 3 alerts." in response.content.decode()
    assert not Alert.objects.filter(cleared_at__isnull=True).exists()
    assert Alert.objects.filter(events__kind=EventKind.CLEARED).count() == 3


def test_a_crawl_preview_says_how_many_channels_crawl_and_which_get_the_slate(monkeypatch):
    from alerts.interrupts import SOURCE

    SOURCE.forget()
    for number in ("7", "8", "9"):
        Channel.objects.create(number=number, name=f"Channel {number}")
    StationAlertSettings.objects.create(pk=1, crawl_capacity=2)
    client = _staff("alerts.view_alert", "alerts.add_alert")

    page = client.post(CONSOLE, {**COMPOSE, "mode": "crawl", "action": "preview"}).content.decode()

    assert 'id="rv-crawl-capacity"' in page and "crawls at most\n   <strong>2</strong> channels" in page
    plan = page[page.index('id="rv-crawl-plan"') :].split("</p>")[0]
    assert "<strong>2</strong> channels will crawl" in plan
    assert "<strong>1</strong> gets the slate instead, because this box crawls at most 2 channels" in plan


def test_the_list_says_how_many_channels_a_crawl_is_crawling_on(monkeypatch):
    from alerts.interrupts import SOURCE

    monkeypatch.setattr("alerts.services._encode_slates_soon", lambda alert_id: None)
    monkeypatch.setattr("alerts.services.prepare_standby_cards", lambda: None)
    for number in ("7", "8", "9"):
        Channel.objects.create(number=number, name=f"Channel {number}")
    StationAlertSettings.objects.create(pk=1, crawl_capacity=1)
    issue_alert(AlertDraft(headline="Flood warning", mode="crawl"))
    SOURCE.forget()
    client = _staff("alerts.view_alert")

    page = client.get(CONSOLE).content.decode()

    assert "crawling on 1 channel; the others it reaches get the slate" in page
