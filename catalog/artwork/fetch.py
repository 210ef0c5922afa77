"""The artwork task's work: fetch each changed poster once, cache it, record the result per row.

A row is pending while its `artwork_ref` (set by the sync) differs from `artwork_fetched_ref`.
Each result is written with a conditional UPDATE on the reference it was fetched for, so a sync
that changed the reference meanwhile leaves the row pending instead of being overwritten.

Failures are of two kinds. A bad image (HTML error page, corrupt bytes, a 404, a missing file) is
that row's `artwork_error`, and the row is done until its reference changes. A transient failure
(server unreachable, timeout, 5xx, 429) stops the run with `ArtworkSourceUnavailable`, which the
Celery task retries with backoff; rows finished so far stay finished.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
import urllib3
from django.db.models import F

from catalog.artwork import local, store
from catalog.artwork.errors import ArtworkSourceUnavailable
from catalog.choices import ContentKind, SourceKind
from catalog.models import MediaSource, Playable, Season, Show
from catalog.plex.errors import PlexAuthError, PlexUnreachable
from retrovue.log_redaction import redact

logger = logging.getLogger("catalog.artwork")

TRANSIENT_STATUS = {429, 500, 502, 503, 504}
ARTWORK_KINDS = (ContentKind.EPISODE, ContentKind.MOVIE)
REPORTED_ERRORS = 50


class ArtworkError(Exception):
    """One row's artwork can't be had (the message is stored on the row)."""


@dataclass
class ArtworkResult:
    fetched: int = 0
    already_cached: int = 0
    cleared: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "fetched": self.fetched,
            "already_cached": self.already_cached,
            "cleared": self.cleared,
            "failed": self.failed,
            "errors": self.errors,
        }


def querysets(source: MediaSource):
    """(label, queryset) of every kind of row that carries artwork for this source, posters first."""
    return [
        ("show", Show.objects.filter(source=source)),
        ("season", Season.objects.filter(show__source=source)),
        ("item", Playable.objects.filter(source=source, kind__in=ARTWORK_KINDS)),
    ]


def pending(queryset):
    return queryset.exclude(artwork_ref=F("artwork_fetched_ref"))


def artwork_pending(source_id: int) -> bool:
    source = MediaSource.objects.get(pk=source_id)
    return any(pending(queryset).exists() for _label, queryset in querysets(source))


def refresh_artwork(source_id: int, *, everything: bool = False, reader: Callable | None = None) -> dict:
    """Fetch and cache the artwork of every pending row of a source (all rows with `everything`)."""
    source = MediaSource.objects.get(pk=source_id)
    read = reader or reader_for(source)
    result = ArtworkResult()
    for label, queryset in querysets(source):
        rows = queryset if everything else pending(queryset)
        for pk, reference, title in rows.order_by("pk").values_list("pk", "artwork_ref", "title"):
            _refresh_row(queryset.model, pk, reference, title, label, read, result)
    if result.fetched or result.failed or result.cleared:
        logger.info(
            "Artwork of %s: %d fetched, %d already cached, %d cleared, %d failed",
            source, result.fetched, result.already_cached, result.cleared, result.failed,
        )  # fmt: skip
    return result.as_dict()


def _refresh_row(model, pk, reference, title, label, read, result: ArtworkResult) -> None:
    digest, error = "", ""
    if not reference:
        result.cleared += 1
    else:
        try:
            data = read(reference)
            already = store.is_cached(store.content_hash(data))
            digest = store.store_image(data)
            result.already_cached += already
            result.fetched += not already
        except (ArtworkError, store.BadImage) as failure:
            error = str(failure)[:300]
            result.failed += 1
            if len(result.errors) < REPORTED_ERRORS:
                result.errors.append(f"{label} {title!r}: {error}")
    model.objects.filter(pk=pk, artwork_ref=reference).update(
        artwork_fetched_ref=reference, artwork_hash=digest, artwork_error=error
    )


def reader_for(source: MediaSource) -> Callable[[str], bytes]:
    if source.kind == SourceKind.PLEX:
        return PlexImageReader(source)
    return FolderImageReader(source.path or "")


class FolderImageReader:
    """Reads the image file a folder source's reference names (never outside the source folder)."""

    def __init__(self, root: str):
        self.root = root

    def __call__(self, reference: str) -> bytes:
        path = local.path_from_reference(self.root, reference)
        if path is None:
            raise ArtworkError("the image path is outside the source folder")
        try:
            with open(path, "rb") as handle:
                data = handle.read(store.MAX_IMAGE_BYTES + 1)
        except OSError as error:
            raise ArtworkError(f"cannot read {path} ({error.strerror or error})") from None
        return data


class PlexImageReader:
    """`GET <server><thumb path>` with the token in a header (never in a URL), as PLEX notes §5 say."""

    def __init__(self, source: MediaSource, *, timeout: tuple[float, float] = (5.0, 30.0)):
        from catalog.sync.engine import plex_client_for

        self.client = plex_client_for(source)
        self.timeout = timeout

    def __call__(self, reference: str) -> bytes:
        if not reference.startswith("/") or reference.startswith("//"):
            raise ArtworkError("not a path on the Plex server")
        url = f"{self.client.base_url}{reference}"
        try:
            self.client.check_address()  # the operator's Plex hosts, no loopback or link-local
        except PlexUnreachable as refusal:
            raise ArtworkSourceUnavailable(str(refusal)) from None
        try:
            # No redirects: a hop elsewhere would skip the address check and carry the token.
            response = self.client.session.get(
                url, headers={"Accept": "image/*"}, timeout=self.timeout, stream=True, allow_redirects=False
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            raise ArtworkSourceUnavailable(
                f"could not reach {self.client.base_url} ({type(error).__name__})"
            ) from None
        with response:
            if response.status_code == 401:
                raise PlexAuthError(f"{self.client.base_url} refused the token (401)")
            if response.status_code in TRANSIENT_STATUS:
                raise ArtworkSourceUnavailable(f"{url} answered {response.status_code}")
            if response.status_code >= 300:
                raise ArtworkError(f"Plex answered {response.status_code}")
            try:
                data = response.raw.read(store.MAX_IMAGE_BYTES + 1, decode_content=True)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
                raise ArtworkSourceUnavailable(redact(f"{url}: the download broke off ({error})")) from None
            expected = response.headers.get("Content-Length", "")
            if expected.isdigit() and len(data) < int(expected):
                raise ArtworkSourceUnavailable(f"{url}: the download broke off")
        return data
