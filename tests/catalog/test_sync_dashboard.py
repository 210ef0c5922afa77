"""The staff sync dashboard: runs per day, error rate, sources needing sign-in, recent failures."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.admin.sync_dashboard import dashboard_data
from catalog.choices import AuthState
from catalog.models import SyncItemError, SyncRun
from tests.factories import PlexSourceFactory

pytestmark = pytest.mark.django_db

DASHBOARD = "/admin/catalog/sync-dashboard/"


def run(source, days_ago=0, status="succeeded", seconds=30, error="", **counts):
    # Noon of the day, so a run "today" stays today whenever the test runs.
    created = timezone.localtime().replace(hour=12, minute=0) - timedelta(days=days_ago)
    return SyncRun.objects.create(
        source=source,
        status=status,
        created_at=created,
        started_at=created,
        finished_at=created + timedelta(seconds=seconds),
        error=error,
        **counts,
    )


def test_days_count_runs_changes_and_durations_in_the_window():
    source = PlexSourceFactory(name="Den Plex")
    run(source, days_ago=0, seconds=10, added=5)
    run(source, days_ago=0, status="partial", seconds=30, failed=2, updated=1)
    run(source, days_ago=2, status="failed", seconds=4)
    run(source, days_ago=40)  # outside a 30-day window

    data = dashboard_data(30)

    assert len(data["per_day"]) == 30
    today, two_days_ago = data["per_day"][-1], data["per_day"][-3]
    assert (today.total, today.succeeded, today.partial, today.failed) == (2, 1, 1, 0)
    assert (today.added, today.updated, today.item_failures) == (5, 1, 2)
    assert today.avg_seconds == pytest.approx(20) and today.max_seconds == pytest.approx(30)
    assert (two_days_ago.total, two_days_ago.failed) == (1, 1)
    assert data["per_day"][-2].total == 0
    assert data["totals"]["runs"] == 3
    assert data["totals"]["error_rate"] == pytest.approx(2 / 3)
    assert data["runs_chart"]["peak"] == 2
    assert data["runs_chart"]["svg"].count("<g>") == 30
    assert len(dashboard_data(365)["per_day"]) == 365
    assert dashboard_data(365)["totals"]["runs"] == 4


def test_sources_whose_token_was_refused_need_a_new_sign_in(staff_client):
    refused = PlexSourceFactory(name="Refused Plex", auth_state=AuthState.NEEDS_SIGN_IN)
    PlexSourceFactory(name="Signed-in Plex", auth_state=AuthState.OK)
    down = PlexSourceFactory(name="Down Plex")
    run(refused, status="failed", error="needs sign-in: http://10.0.0.5:32400 refused the token (401)")
    run(down, status="failed", error="http://10.0.0.6:32400 could not be reached")

    response = staff_client.get(DASHBOARD)

    assert response.status_code == 200
    assert [source.name for source in response.context["sign_in"]] == ["Refused Plex"]
    page = response.content.decode()
    assert "Needs a new Plex sign-in" in page
    assert "could not be reached" in page  # in recent failures
    assert "<svg" in page and 'src="http' not in page  # inline charts, nothing from a CDN


def test_open_item_errors_are_listed_and_resolved_ones_are_not(staff_client):
    source = PlexSourceFactory()
    SyncItemError.objects.create(
        source=source, item_kind="movie", item_key="1", title="Lost Film", error_kind="malformed"
    )
    SyncItemError.objects.create(
        source=source,
        item_kind="movie",
        item_key="2",
        title="Found Film",
        error_kind="orphan",
        resolved_at=timezone.now(),
    )
    page = staff_client.get(DASHBOARD).content.decode()
    assert "Lost Film" in page and "Found Film" not in page


def test_dashboard_query_count_does_not_grow_with_history_or_sources(staff_client):
    source = PlexSourceFactory()
    run(source)
    staff_client.get(DASHBOARD)
    with CaptureQueriesContext(connection) as few:
        assert staff_client.get(DASHBOARD + "?days=365").status_code == 200
    for number in range(8):
        other = PlexSourceFactory()
        for days_ago in range(0, 300, 10):
            run(other, days_ago=days_ago, status="failed" if number % 2 else "partial", error="boom")
        SyncItemError.objects.create(source=other, item_kind="movie", item_key="1", error_kind="orphan")
    with CaptureQueriesContext(connection) as many:
        assert staff_client.get(DASHBOARD + "?days=365").status_code == 200
    assert len(many) == len(few), "\n".join(query["sql"][:160] for query in many.captured_queries)


def test_dashboard_is_for_staff_and_linked_from_the_admin_index(staff_client, django_user_model):
    assert Client().get(DASHBOARD).status_code == 302
    visitor = django_user_model.objects.create_user("viewer", password="x")
    client = Client()
    client.force_login(visitor)
    assert client.get(DASHBOARD).status_code == 302
    assert reverse("admin:catalog_sync_dashboard") == DASHBOARD
    assert DASHBOARD in staff_client.get("/admin/").content.decode()
