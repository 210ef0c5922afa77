"""The console's "Channels now" panel: what the alerts show on each channel, from their on/off-air
history, including a switch the feed has made but viewers get to a few seconds later."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from alerts.choices import EventKind
from alerts.models import Alert, AlertEvent
from alerts.on_air import channel_states
from scheduling.models import Channel

pytestmark = pytest.mark.django_db
ON_AIR_URL = "/admin/alerts/console/on-air/"


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


def _alert(headline="Flood warning", **fields) -> Alert:
    return Alert.objects.create(headline=headline, starts_at=timezone.now() - timedelta(minutes=1), **fields)


def _event(alert, channel, kind, at, detail="slate"):
    return AlertEvent.objects.create(alert=alert, channel=channel, kind=kind, at=at, detail=detail)


def test_a_channel_no_alert_reached_shows_its_programme():
    Channel.objects.create(number="3", name="Three")
    _alert()

    [state] = channel_states(timezone.now())

    assert (state.number, state.showing, state.since, state.coming) == ("3", "programme", None, "")


def test_the_stand_by_card_shows_now_and_the_slate_it_already_switched_to_is_coming():
    now = timezone.now()
    channel = Channel.objects.create(number="3", name="Three")
    alert = _alert()
    _event(alert, channel, EventKind.ON_AIR, now - timedelta(seconds=5), "stand-by card")
    _event(alert, channel, EventKind.OFF_AIR, now + timedelta(seconds=3), "stand-by card")
    _event(alert, channel, EventKind.ON_AIR, now + timedelta(seconds=3), "slate")

    [state] = channel_states(now)

    assert (state.showing, state.headline, state.alert_id) == ("stand-by card", "Flood warning", alert.pk)
    assert state.since == now - timedelta(seconds=5)
    assert (state.coming, state.coming_at) == ("slate", now + timedelta(seconds=3))


def test_after_a_clear_the_channel_shows_its_programme_from_the_return():
    now = timezone.now()
    channel = Channel.objects.create(number="3", name="Three")
    alert = _alert(cleared_at=now - timedelta(seconds=20))
    _event(alert, channel, EventKind.ON_AIR, now - timedelta(seconds=60))
    _event(alert, channel, EventKind.OFF_AIR, now - timedelta(seconds=12))

    [state] = channel_states(now)

    assert (state.showing, state.since, state.alert_id, state.coming) == (
        "programme",
        now - timedelta(seconds=12),
        None,
        "",
    )


def test_an_alert_cleared_long_ago_no_longer_counts():
    now = timezone.now()
    channel = Channel.objects.create(number="3", name="Three")
    alert = _alert(cleared_at=now - timedelta(hours=2))
    _event(alert, channel, EventKind.ON_AIR, now - timedelta(hours=3))

    [state] = channel_states(now)

    assert state.showing == "programme" and state.since is None


def test_the_panel_data_needs_view_permission_and_lists_every_enabled_channel():
    Channel.objects.create(number="3", name="Three")
    Channel.objects.create(number="4", name="Four", enabled=False)

    assert _staff().get(ON_AIR_URL).status_code == 403
    response = Client().get(ON_AIR_URL)
    assert response.status_code == 302  # to the admin login

    get_user_model().objects.all().delete()
    answer = _staff("alerts.view_alert").get(ON_AIR_URL)
    assert answer.status_code == 200 and "no-store" in answer["Cache-Control"]
    assert [row["number"] for row in answer.json()["channels"]] == ["3"]
    assert answer.json()["channels"][0]["showing"] == "programme"


@pytest.mark.parametrize("channels", [5, 50])
def test_the_panel_costs_the_same_queries_for_5_or_50_channels(channels, django_assert_max_num_queries):
    now = timezone.now()
    alert = _alert()
    for number in range(channels):
        channel = Channel.objects.create(number=str(100 + number), name=f"C{number}")
        _event(alert, channel, EventKind.ON_AIR, now - timedelta(seconds=2))

    with django_assert_max_num_queries(2):
        states = channel_states(now)

    assert len(states) == channels and {state.showing for state in states} == {"slate"}
