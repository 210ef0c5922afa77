"""Finding 5: strangers calling the Plex webhook cannot grow the database or the log, a hostile body
is a clear 4xx (not a 500), and no log line carries a webhook secret."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import WebhookEvent
from retrovue.log_redaction import redact
from tests.factories import PlexSourceFactory


@pytest.fixture
def source(db):
    return PlexSourceFactory()


def _url(secret: str) -> str:
    return reverse("hooks:plex", kwargs={"secret": secret})


def _lines(caplog) -> list[str]:
    """Every log line as the station's handlers write it (they redact)."""
    return [redact(logging.Formatter("%(name)s %(message)s").format(record)) for record in caplog.records]


def test_200_calls_with_a_wrong_secret_write_one_counted_row_and_one_log_line(source, caplog):
    client = Client()
    caplog.set_level(logging.INFO)
    statuses = {client.post(_url(f"guess-{n}"), {"payload": "{}"}).status_code for n in range(200)}
    assert statuses == {404}
    rows = WebhookEvent.objects.all()
    assert rows.count() == 1
    assert rows.get().calls == 200 and rows.get().source is None
    webhook_lines = [line for line in _lines(caplog) if "Plex webhook" in line]
    assert len(webhook_lines) == 1


def test_a_flood_with_the_secret_is_counted_not_stored_call_by_call(source, settings):
    settings.RETROVUE_WEBHOOK_MAX_CALLS_PER_MINUTE = 3
    client = Client()
    payload = {"payload": json.dumps({"event": "media.play"})}
    statuses = [client.post(_url(source.webhook_secret), payload).status_code for _ in range(50)]
    assert statuses == [200] * 3 + [429] * 47
    assert WebhookEvent.objects.count() == 4
    assert WebhookEvent.objects.get(outcome="rate_limited").calls == 47


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,  # deeper than Python's parser recurses
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        json.dumps({"event": "library.new", "pad": "x" * 300_000}),  # over the payload limit
        "\x00\xff not json",
    ],
    ids=["deep-array", "deep-object", "huge", "garbage"],
)
def test_hostile_bodies_are_a_clear_4xx_and_the_secret_is_in_no_log_line(body, source, caplog):
    caplog.set_level(logging.DEBUG)
    client = Client(raise_request_exception=False)
    for response in (
        client.post(_url(source.webhook_secret), {"payload": body}),  # how Plex sends it (multipart)
        client.post(_url(source.webhook_secret), body, content_type="application/json"),
    ):
        assert 400 <= response.status_code < 500, response.content[:200]
        assert source.webhook_secret not in response.content.decode("utf-8", "replace")
    assert not any(source.webhook_secret in line for line in _lines(caplog))
    assert not WebhookEvent.objects.filter(detail__contains=source.webhook_secret).exists()


def test_djangos_request_log_never_shows_a_webhook_path():
    # django.request writes "Internal Server Error: <path>" and "Not Found: <path>"; the station's
    # handlers redact every line, whoever wrote it.
    line = "Internal Server Error: /hooks/plex/s3cr3t-value/ and GET /hooks/plex/s3cr3t-value HTTP/1.1"
    assert "s3cr3t-value" not in redact(line)
