"""The Plex webhook: library.new syncs just that library, once per burst; every call is audited."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, RequestFactory
from django.utils import timezone

from catalog.models import SyncRun, WebhookEvent
from catalog.plex.webhooks import MAX_BODY_BYTES, webhook_url
from tests.factories import FolderSourceFactory, LibraryFactory, PlexSourceFactory

SERVER_UUID = "0123456789abcdef0123456789abcdef01234567"


def plex_payload(event="library.new", section=2, server_uuid=SERVER_UUID, **metadata) -> dict:
    """A payload shaped like the ones Plex Media Server sends (fields RetroVue doesn't read trimmed)."""
    return {
        "event": event,
        "user": True,
        "owner": True,
        "Account": {"id": 1, "title": "station-owner"},
        "Server": {"title": "Basement", "uuid": server_uuid},
        "Player": {"local": True, "title": "Living room"},
        "Metadata": {
            "librarySectionType": "show",
            "ratingKey": "123",
            "key": "/library/metadata/123",
            "librarySectionID": section,
            "librarySectionTitle": "TV Shows",
            "type": "episode",
            "grandparentTitle": "Battlestar Galactica",
            "parentTitle": "Season 1",
            "title": "Saga of a Star World",
            **metadata,
        },
    }


def post(client: Client, url: str, payload: dict | None = None, **extra):
    data = {"payload": json.dumps(payload if payload is not None else plex_payload())}
    data.update(extra)
    return client.post(url, data)  # multipart/form-data, as Plex sends it


@pytest.fixture
def queued_tasks(monkeypatch):
    sent = []
    monkeypatch.setattr("catalog.tasks.run_sync.delay", lambda run_id: sent.append(run_id))
    monkeypatch.setattr(
        "catalog.tasks.run_sync.apply_async", lambda args, countdown: sent.append((args[0], round(countdown)))
    )
    return sent


@pytest.fixture
def source(db):
    return PlexSourceFactory(machine_identifier=SERVER_UUID)


@pytest.fixture
def tv(source):
    return LibraryFactory(source=source, section_key="2", title="TV Shows")


@pytest.fixture
def url(source) -> str:
    return f"/hooks/plex/{source.webhook_secret}/"


def outcomes() -> list[str]:
    return list(WebhookEvent.objects.order_by("received_at", "pk").values_list("outcome", flat=True))


def test_library_new_queues_one_incremental_sync_of_exactly_that_library(
    transactional_db, source, tv, url, queued_tasks
):
    LibraryFactory(source=source, section_key="1", title="Movies", kind="movie")

    response = post(Client(), url)

    assert response.status_code == 202
    run = SyncRun.objects.get()
    assert (run.library, run.kind, run.trigger, run.status) == (tv, "incremental", "webhook", "queued")
    assert queued_tasks == [run.pk]
    assert response.json() == {
        "ok": True,
        "outcome": "triggered",
        "detail": "Queued an incremental sync of TV Shows.",
        "sync_run": run.pk,
    }
    event = WebhookEvent.objects.get()
    assert (event.source, event.event, event.section_key, event.outcome, event.sync_run) == (
        source,
        "library.new",
        "2",
        "triggered",
        run,
    )
    assert event.item_title == "Battlestar Galactica – Saga of a Star World"
    assert event.remote_address == "127.0.0.1"


def test_a_burst_of_500_calls_queues_one_sync_and_audits_every_call(
    transactional_db, source, tv, url, queued_tasks
):
    client = Client()
    statuses = {post(client, url).status_code for _ in range(500)}

    assert SyncRun.objects.count() == 1
    assert queued_tasks == [SyncRun.objects.get().pk]
    # Every call is counted; the flood beyond the cap shares one row (issue 14: bounded writes).
    assert sum(WebhookEvent.objects.values_list("calls", flat=True)) == 500
    calls = outcomes()
    assert calls[0] == "triggered"
    assert set(calls[1:]) == {"rate_limited"}
    # The first 120 calls a minute are answered "accepted", the flood beyond them "too many".
    assert statuses == {202, 429}
    flooded = WebhookEvent.objects.filter(detail__startswith="More than 120")
    assert flooded.count() == 1 and flooded.get().calls == 380
    assert set(flooded.values_list("event", "section_key")) == {("library.new", "2")}


def test_concurrent_calls_still_queue_one_sync(transactional_db, settings, source, tv, url, queued_tasks):
    settings.RETROVUE_WEBHOOK_MAX_CALLS_PER_MINUTE = 1000

    def burst(_):
        try:
            client = Client()
            return [post(client, url).status_code for _ in range(20)]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [status for batch in pool.map(burst, range(8)) for status in batch]

    assert set(statuses) == {202}
    assert SyncRun.objects.count() == 1
    assert len(queued_tasks) == 1
    assert WebhookEvent.objects.count() == 160
    assert WebhookEvent.objects.filter(outcome="triggered").count() == 1
    assert set(outcomes()) <= {"triggered", "deduplicated", "rate_limited"}


def test_a_flood_beyond_the_per_minute_cap_is_refused(transactional_db, settings, source, url, queued_tasks):
    settings.RETROVUE_WEBHOOK_MAX_CALLS_PER_MINUTE = 5
    client = Client()
    responses = [post(client, url, plex_payload(event="media.play")) for _ in range(8)]

    assert [r.status_code for r in responses] == [200] * 5 + [429] * 3
    assert responses[-1].json()["outcome"] == "rate_limited"
    assert WebhookEvent.objects.count() == 6  # the three refused calls share one row
    assert WebhookEvent.objects.get(outcome="rate_limited").calls == 3
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(minutes=2))
    assert post(client, url, plex_payload(event="media.play")).status_code == 200


def test_a_call_inside_the_window_after_a_finished_sync_queues_one_follow_up(
    transactional_db, source, tv, url, queued_tasks
):
    client = Client()
    first = SyncRun.objects.get(pk=post(client, url).json()["sync_run"])
    first.status = "succeeded"
    first.save()

    too_soon = post(client, url)
    assert too_soon.status_code == 202
    assert too_soon.json()["outcome"] == "rate_limited"
    follow_up = SyncRun.objects.get(pk=too_soon.json()["sync_run"])
    assert follow_up != first and (follow_up.status, follow_up.library) == ("queued", tv)
    assert queued_tasks[0] == first.pk
    assert queued_tasks[1][0] == follow_up.pk and 1 <= queued_tasks[1][1] <= 30

    more = [post(client, url).json()["sync_run"] for _ in range(5)]
    assert set(more) == {follow_up.pk}, "later calls in the window join the waiting follow-up"
    assert SyncRun.objects.count() == 2


def test_a_call_after_the_interval_triggers_again_once_the_first_sync_is_done(
    transactional_db, source, tv, url, queued_tasks
):
    client = Client()
    first = SyncRun.objects.get(pk=post(client, url).json()["sync_run"])
    first.status = "succeeded"
    first.save()
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(seconds=31))

    again = post(client, url)

    assert again.json()["outcome"] == "triggered"
    second = SyncRun.objects.get(pk=again.json()["sync_run"])
    assert second != first and second.library == tv
    assert queued_tasks == [first.pk, second.pk]


def test_a_call_after_the_interval_joins_a_sync_still_running(
    transactional_db, source, tv, url, queued_tasks
):
    client = Client()
    first = post(client, url).json()["sync_run"]
    SyncRun.objects.filter(pk=first).update(status="running", started_at=timezone.now())
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(seconds=31))

    response = post(client, url)

    assert response.json()["outcome"] == "deduplicated"
    assert response.json()["sync_run"] == first
    assert WebhookEvent.objects.filter(outcome="deduplicated", sync_run_id=first).count() == 1
    assert queued_tasks == [first]


def test_the_interval_is_a_setting(transactional_db, settings, source, tv, url, queued_tasks):
    settings.RETROVUE_WEBHOOK_MIN_INTERVAL_SECONDS = 0
    client = Client()
    first = post(client, url).json()["sync_run"]
    SyncRun.objects.filter(pk=first).update(status="succeeded")

    assert post(client, url).json()["outcome"] == "triggered"


def test_a_wrong_secret_gets_a_bare_404_and_an_anonymous_audit_row(db, source, tv, queued_tasks):
    wrong = source.webhook_secret[:-1] + ("A" if source.webhook_secret[-1] != "A" else "B")

    response = post(Client(), f"/hooks/plex/{wrong}/")

    assert response.status_code == 404
    assert response.json() == {"ok": False}
    event = WebhookEvent.objects.get()
    assert (event.source, event.outcome, event.remote_address) == (None, "rejected", "127.0.0.1")
    assert wrong not in event.detail and source.webhook_secret not in event.detail
    assert not SyncRun.objects.exists()
    assert queued_tasks == []


def test_a_wrong_secret_answers_the_same_whatever_it_guesses(db, source):
    client = Client()
    bodies = {
        (response.status_code, response.content)
        for guess in ("x", source.webhook_secret[:10], source.webhook_secret + "x", "é" * 80)
        for response in [post(client, f"/hooks/plex/{guess}/")]
    }
    assert bodies == {(404, b'{"ok": false}')}


def test_the_secret_never_reaches_a_response_or_a_log_line(db, source, tv, url, queued_tasks):
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(logging.Formatter().format(record))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        client = Client()
        responses = [
            client.post(url, {"payload": "{not json"}),
            client.get(url),
            post(client, url, plex_payload(server_uuid="another-server")),
            post(client, url, plex_payload(event="media.play")),
            post(client, url),
        ]
    finally:
        root.removeHandler(handler)

    assert [r.status_code for r in responses] == [400, 405, 403, 200, 202]
    assert records, "the webhook logs what it did"
    for text in [*records, *(r.content.decode() for r in responses)]:
        assert source.webhook_secret not in text
    assert not WebhookEvent.objects.filter(detail__contains=source.webhook_secret).exists()


def test_get_is_not_allowed(db, source, url):
    response = Client().get(url)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    event = WebhookEvent.objects.get()
    assert (event.source, event.outcome) == (source, "rejected")


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        ({"payload": "{not json"}, "The payload is not valid JSON."),
        ({"payload": "[1, 2]"}, "The payload is not a JSON object."),
        ({"payload": json.dumps({"Metadata": {}})}, "The payload names no event."),
        ({"something": "else"}, "No payload: Plex sends a `payload` form field."),
    ],
)
def test_a_malformed_payload_is_a_400(db, source, url, data, detail):
    response = Client().post(url, data)

    assert response.status_code == 400
    assert response.json()["detail"] == detail
    event = WebhookEvent.objects.get()
    assert (event.source, event.outcome, event.detail) == (source, "rejected", detail)


def test_a_broken_multipart_body_is_a_400(db, source, url):
    response = Client().post(url, b"garbage", content_type="multipart/form-data")

    assert response.status_code == 400
    assert WebhookEvent.objects.get().detail == "Unreadable body: MultiPartParserError."


def test_an_unknown_library_section_is_ignored(db, source, tv, url, queued_tasks):
    response = post(Client(), url, plex_payload(section=9))

    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    event = WebhookEvent.objects.get()
    assert (event.outcome, event.section_key) == ("ignored", "9")
    assert "section 9 is not known" in event.detail
    assert not SyncRun.objects.exists()


def test_a_library_with_sync_turned_off_is_ignored(db, source, tv, url, queued_tasks):
    tv.sync_enabled = False
    tv.save()

    response = post(Client(), url)

    assert response.json()["outcome"] == "ignored"
    assert WebhookEvent.objects.get().detail == "Sync is turned off for TV Shows."
    assert not SyncRun.objects.exists()


def test_a_disabled_source_is_ignored(db, source, tv, url, queued_tasks):
    source.enabled = False
    source.save()

    assert post(Client(), url).json()["outcome"] == "ignored"
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize(
    "event", ["media.play", "media.scrobble", "library.on.deck", "admin.database.backup", "device.new"]
)
def test_events_that_do_not_change_the_catalog_are_ignored_and_logged(
    db, source, tv, url, queued_tasks, event
):
    thumb = SimpleUploadedFile("thumb.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 50_000, content_type="image/jpeg")

    response = post(Client(), url, plex_payload(event=event), thumb=thumb)

    assert response.status_code == 200
    logged = WebhookEvent.objects.get()
    assert (logged.event, logged.outcome) == (event, "ignored")
    assert not SyncRun.objects.exists()


def test_a_payload_from_another_plex_server_is_rejected(db, source, tv, url, queued_tasks):
    response = post(Client(), url, plex_payload(server_uuid="ffffffffffffffffffffffffffffffffffffffff"))

    assert response.status_code == 403
    event = WebhookEvent.objects.get()
    assert event.outcome == "rejected"
    assert "another source" in event.detail
    assert not SyncRun.objects.exists()


def test_a_source_not_yet_synced_accepts_any_server(transactional_db, tv, queued_tasks):
    source = tv.source
    source.machine_identifier = ""
    source.save()

    response = post(Client(), f"/hooks/plex/{source.webhook_secret}/")

    assert response.json()["outcome"] == "triggered"


def test_a_folder_source_is_not_synced_by_plex_webhooks(db, queued_tasks):
    folder = FolderSourceFactory()

    response = post(Client(), f"/hooks/plex/{folder.webhook_secret}/")

    assert response.json()["outcome"] == "ignored"
    assert not SyncRun.objects.exists()


def test_an_oversize_body_is_a_413(db, source, tv, url, queued_tasks):
    thumb = SimpleUploadedFile("thumb.jpg", b"\xff" * MAX_BODY_BYTES, content_type="image/jpeg")

    response = post(Client(), url, thumb=thumb)

    assert response.status_code == 413
    event = WebhookEvent.objects.get()
    assert (event.source, event.outcome) == (source, "rejected")
    assert not SyncRun.objects.exists()


def test_the_endpoint_needs_no_login_but_nothing_else_under_hooks_answers(db, source, tv, url, queued_tasks):
    client = Client()  # anonymous, no CSRF token: Plex has neither
    client.handler.enforce_csrf_checks = True

    assert post(client, url, plex_payload(event="media.play")).status_code == 200
    for path in ("/hooks/", "/hooks/plex/", "/hooks/other/", f"/hooks/plex/{source.webhook_secret}/more/"):
        assert client.get(path).status_code == 404
        assert client.post(path, {"payload": "{}"}).status_code == 404


def test_webhook_url_is_the_absolute_url_staff_paste_into_plex(transactional_db, tv, queued_tasks, settings):
    settings.ALLOWED_HOSTS = ["tv.example.com", "testserver"]  # hosts the operator vouched for
    source = tv.source
    request = RequestFactory().get("/admin/catalog/mediasource/1/change/", HTTP_HOST="tv.example.com")

    address = webhook_url(request, source)

    assert address == f"http://tv.example.com/hooks/plex/{source.webhook_secret}/"
    path = address.removeprefix("http://tv.example.com")
    assert post(Client(), path, plex_payload(server_uuid="")).json()["outcome"] == "triggered"


def test_the_url_works_without_its_trailing_slash(db, source, url):
    assert post(Client(), url.rstrip("/"), plex_payload(event="media.play")).status_code == 200


def test_a_bare_json_body_is_accepted_too(db, source, url):
    response = Client().post(
        url, json.dumps(plex_payload(event="media.play")), content_type="application/json"
    )

    assert response.json()["outcome"] == "ignored"
