"""The Plex token is encrypted at rest and never shown: not in the admin, the API, or the logs."""

import io
import logging

import pytest
from django.db import connection

from catalog.models import MediaSource
from retrovue.log_redaction import RedactingFormatter, RedactSecretsFilter
from tests.factories import PlexSourceFactory

TOKEN = "s3cr3t-PLEX-token-XYZ"


@pytest.fixture
def plex_source(db):
    return PlexSourceFactory(name="Living room Plex", token=TOKEN)


def _raw_token_column(source_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM catalog_mediasource WHERE id = %s", [source_id])
        return cursor.fetchone()[0]


def test_token_column_holds_ciphertext_not_the_token(plex_source):
    raw = _raw_token_column(plex_source.pk)
    assert raw
    assert raw != TOKEN
    assert TOKEN not in raw
    assert MediaSource.objects.get(pk=plex_source.pk).token == TOKEN


def test_two_saves_of_the_same_token_store_different_ciphertexts(plex_source):
    first = _raw_token_column(plex_source.pk)
    plex_source.save()
    assert _raw_token_column(plex_source.pk) != first


def test_decrypted_token_repr_does_not_leak(plex_source):
    token = MediaSource.objects.get(pk=plex_source.pk).token
    assert TOKEN not in repr(token)


def test_admin_pages_never_render_the_token(plex_source, staff_client):
    for url in (
        "/admin/catalog/mediasource/",
        f"/admin/catalog/mediasource/{plex_source.pk}/change/",
    ):
        response = staff_client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert TOKEN not in html
        assert _raw_token_column(plex_source.pk) not in html
    assert (
        "set (hidden)"
        in staff_client.get(f"/admin/catalog/mediasource/{plex_source.pk}/change/").content.decode()
    )


def test_api_never_returns_the_token(plex_source, staff_client):
    for url in ("/api/catalog/sources", f"/api/catalog/sources/{plex_source.pk}", "/api/openapi.json"):
        response = staff_client.get(url)
        assert response.status_code == 200
        assert TOKEN not in response.content.decode()
    assert staff_client.get(f"/api/catalog/sources/{plex_source.pk}").json()["has_token"] is True


@pytest.mark.parametrize(
    "message",
    [
        f"GET http://plex:32400/library/sections?X-Plex-Token={TOKEN}&foo=1",
        f"headers {{'X-Plex-Token': '{TOKEN}'}}",
        f"request failed: token={TOKEN}",
        f"Authorization: Bearer {TOKEN}",
        f"connecting to http://user:{TOKEN}@plex:32400/",
    ],
)
def test_log_lines_are_scrubbed_of_tokens(message):
    record = logging.LogRecord("plexapi", logging.INFO, __file__, 1, message, None, None)
    RedactSecretsFilter().filter(record)
    assert TOKEN not in RedactingFormatter().format(record)


def test_token_in_a_logged_traceback_is_scrubbed():
    try:
        raise RuntimeError(f"fetch failed for http://plex:32400/?X-Plex-Token={TOKEN}")
    except RuntimeError:
        record = logging.LogRecord(
            "sync", logging.ERROR, __file__, 1, "sync failed", None, __import__("sys").exc_info()
        )
    assert TOKEN not in RedactingFormatter().format(record)


def test_configured_logging_scrubs_tokens_end_to_end():
    # Uses the console handler settings.LOGGING installed on the root logger, pointed at a buffer.
    handler = next(h for h in logging.getLogger().handlers if isinstance(h.formatter, RedactingFormatter))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        logging.getLogger("plexapi").warning("retrying http://plex/library?X-Plex-Token=%s", TOKEN)
    finally:
        handler.setStream(previous)
    assert TOKEN not in buffer.getvalue()
    assert "X-Plex-Token=[redacted]" in buffer.getvalue()
