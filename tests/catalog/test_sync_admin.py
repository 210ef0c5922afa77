"""Sync now buttons and the live progress page."""

import pytest
from django.urls import reverse

from catalog.models import Library, SyncRun
from tests.factories import PlexSourceFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued_tasks(monkeypatch):
    sent = []
    monkeypatch.setattr("catalog.tasks.run_sync.delay", lambda run_id: sent.append(run_id))
    return sent


def test_source_page_has_a_sync_now_button(staff_client):
    source = PlexSourceFactory()
    html = staff_client.get(reverse("admin:catalog_mediasource_change", args=[source.pk])).content.decode()
    assert reverse("admin:catalog_mediasource_sync", args=[source.pk]) in html
    assert "Sync now" in html


def test_sync_now_queues_a_run_and_shows_its_progress(staff_client, queued_tasks):
    source = PlexSourceFactory()
    response = staff_client.post(
        reverse("admin:catalog_mediasource_sync", args=[source.pk]), {"mode": "full"}
    )
    run = SyncRun.objects.get(source=source)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:catalog_syncrun_progress", args=[run.pk])
    assert (run.kind, run.trigger, run.status) == ("full", "button", "queued")
    assert queued_tasks == [run.pk]
    page = staff_client.get(response["Location"]).content.decode()
    assert 'role="progressbar"' in page and "Waiting for a worker" in page


def test_pressing_twice_shows_the_same_run(staff_client, queued_tasks):
    source = PlexSourceFactory()
    url = reverse("admin:catalog_mediasource_sync", args=[source.pk])
    first = staff_client.post(url)["Location"]
    second = staff_client.post(url)["Location"]
    assert first == second
    assert SyncRun.objects.filter(source=source).count() == 1


def test_library_button_syncs_just_that_library(staff_client, queued_tasks):
    source = PlexSourceFactory()
    library = Library.objects.create(source=source, section_key="2", title="TV Shows", kind="show")
    staff_client.post(reverse("admin:catalog_library_sync", args=[library.pk]), {"mode": "incremental"})
    assert SyncRun.objects.get(source=source).library == library


def test_sync_needs_post_and_staff(client, staff_client):
    source = PlexSourceFactory()
    url = reverse("admin:catalog_mediasource_sync", args=[source.pk])
    assert staff_client.get(url).status_code == 405
    assert client.post(url).status_code == 302  # to the login page
    assert not SyncRun.objects.exists()


def test_progress_json_reports_bar_counts_and_changes(staff_client):
    source = PlexSourceFactory()
    run = SyncRun.objects.create(
        source=source, status="running", progress_done=30, progress_total=120,
        progress_label="TV Shows (1/2) · Cheers / Pilot (30/120)", added=3, changes=["Added episode: Cheers S01E01 Pilot"],
    )  # fmt: skip
    state = staff_client.get(reverse("admin:catalog_syncrun_progress_json", args=[run.pk])).json()
    assert (state["percent"], state["active"], state["counts"]["added"]) == (25, True, 3)
    assert state["changes"] == ["Added episode: Cheers S01E01 Pilot"]
    assert state["label"].startswith("TV Shows (1/2)")


def test_disabled_source_is_not_synced(staff_client, queued_tasks):
    source = PlexSourceFactory(enabled=False)
    staff_client.post(reverse("admin:catalog_mediasource_sync", args=[source.pk]))
    assert not SyncRun.objects.exists()
