"""Sync of one show (the show, its seasons and its episodes), reusing the library sync's steps.

`ShowSync` is a `LibrarySync` that lists items from the show's own endpoints instead of the
section listing:

    show      /library/metadata/<key>
    seasons   /library/metadata/<key>/children?excludeAllLeaves=1
    episodes  /library/metadata/<key>/allLeaves

Those listings are complete for the show, so a row of this show that is missing from them is
marked removed (never deleted). Only this show's rows, and rows whose ratingKey appears in its
listings, are loaded as "local", so other shows' rows can't be counted as vanished or rewritten.
The library's `updatedAt` watermark is left alone: it means "everything in the section up to
here was seen", which a one-show run can't claim.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from functools import reduce
from operator import or_
from xml.etree.ElementTree import Element

from django.db.models import Q
from django.utils import timezone

from catalog.choices import ItemState, SourceKind, SyncKind, SyncStatus
from catalog.media.paths import PathMapper
from catalog.models import Library, MediaSource, Show, SyncRun
from catalog.plex.client import PlexClient
from catalog.plex.errors import PlexAuthError, PlexError, PlexHttpError
from catalog.plex.parse import MalformedItem, RemoteItem, is_all_episodes_entry, parse_item
from catalog.sync.engine import plex_client_for
from catalog.sync.item_errors import record_item_outcomes
from catalog.sync.plex_library import PAGE_SIZE, LibrarySync
from catalog.sync.progress import Progress
from retrovue.log_redaction import redact

logger = logging.getLogger("catalog.sync")

SHOW_TYPES = ("show", "season", "episode")


class ShowNotFound(PlexError):
    """Plex has no show under the ratingKey asked for (deleted, or re-keyed since it was found)."""


class ShowLooksRekeyed(PlexError):
    """The catalog holds this show under another ratingKey; the library sync re-keys it safely."""


class ShowSync(LibrarySync):
    """Brings one show of a library up to date; `mode` is full, incremental or deep."""

    listing_covers_library = False  # complete for this show only

    LISTINGS = {
        "show": ("", {}),
        "season": ("/children", {"excludeAllLeaves": 1}),
        "episode": ("/allLeaves", {}),
    }

    def __init__(
        self,
        library: Library,
        mode: str,
        client: PlexClient,
        mapper: PathMapper,
        progress: Progress,
        show_rating_key: str,
        *,
        page_size: int = PAGE_SIZE,
    ):
        super().__init__(library, mode, client, mapper, progress, page_size=page_size)
        self.show_rating_key = str(show_rating_key)
        # A show's own listings are short and always complete, so they are never filtered by
        # updatedAt; unchanged rows are still skipped by their fingerprint.
        self.since = None
        self._elements: dict[str, list[Element]] = {}

    def run(self) -> None:
        for plex_type in SHOW_TYPES:
            self.sync_type(plex_type)

    # --- listing -------------------------------------------------------------------------------

    def listed_elements(self, plex_type: str) -> list[Element]:
        """The raw listing of one type, fetched once (local rows are chosen by its ratingKeys)."""
        if plex_type not in self._elements:
            self._elements[plex_type] = self._fetch(plex_type)
        return self._elements[plex_type]

    def _fetch(self, plex_type: str) -> list[Element]:
        suffix, extra = self.LISTINGS[plex_type]
        path = f"/library/metadata/{self.show_rating_key}{suffix}"
        try:
            elements = list(self._pages(path, {"includeGuids": 1, **extra}, paged=bool(suffix)))
        except PlexHttpError as error:
            if error.status == 404:
                raise ShowNotFound(
                    f"Plex has no show with ratingKey {self.show_rating_key} (deleted or re-keyed); "
                    "look it up again, or run a library sync."
                ) from None
            raise
        # A server may list the "All episodes" shortcut even when asked not to; it is not a season.
        elements = [
            element
            for element in elements
            if not is_all_episodes_entry(element) and element.get("type", plex_type) == plex_type
        ]
        if plex_type == "show":
            if len(elements) != 1:
                raise ShowNotFound(f"ratingKey {self.show_rating_key} on Plex is not a show")
            self.refuse_if_rekeyed(elements[0])
        return elements

    def _pages(self, path: str, params: dict, *, paged: bool) -> Iterator[Element]:
        if not paged:
            yield from (
                child for child in self.client.get(path, params) if child.tag in ("Video", "Directory")
            )
            return
        offset = 0
        while True:
            root = self.client.get(
                path,
                params,
                headers={"X-Plex-Container-Start": str(offset), "X-Plex-Container-Size": str(self.page_size)},
            )
            elements = [child for child in root if child.tag in ("Video", "Directory")]
            yield from elements
            offset += len(elements)
            total = root.get("totalSize")
            if not elements or (total is not None and total.isdigit() and offset >= int(total)):
                return
            if total is None and len(elements) < self.page_size:
                return

    def refuse_if_rekeyed(self, element: Element) -> None:
        """Stop before creating a twin of a show the catalog already holds under an older key.

        Plex re-keys items after some agent changes; the library sync moves the old row (and its
        episodes, which schedules point at) to the new key. A one-show run can't prove the old key
        is gone from the whole library, so it leaves that to the library sync.
        """
        if Show.objects.filter(source=self.source, rating_key=self.show_rating_key).exists():
            return
        try:
            ids = parse_item(element, "show").external_ids
        except MalformedItem:
            return  # reported when the listing is parsed
        if not ids:
            return
        same_ids = reduce(or_, (Q(external_ids__provider=p, external_ids__value=v) for p, v in ids))
        twin = (
            Show.objects.filter(same_ids, source=self.source, state=ItemState.ACTIVE)
            .exclude(rating_key=self.show_rating_key)
            .first()
        )
        if twin is not None:
            raise ShowLooksRekeyed(
                f"The catalog already has {twin} under ratingKey {twin.rating_key} with the same external "
                f"ids as ratingKey {self.show_rating_key}: Plex re-keyed it (or lists it twice). Run a "
                "library sync (sync-all), which moves a re-keyed show and its episodes to the new key."
            )

    def local_queryset(self, plex_type: str):
        this_show = (
            Q(rating_key=self.show_rating_key)
            if plex_type == "show"
            else Q(show__rating_key=self.show_rating_key)
        )
        # ratingKeys are unique across the server: an item Plex moved here from another show is
        # the same row, so it is loaded (and updated) rather than inserted twice.
        listed = [key for element in self.listed_elements(plex_type) if (key := element.get("ratingKey"))]
        return super().local_queryset(plex_type).filter(this_show | Q(rating_key__in=listed))

    def fetch_changed(self, plex_type: str) -> list[RemoteItem]:
        elements = self.listed_elements(plex_type)
        items = []
        for element in elements:
            try:
                item = parse_item(element, plex_type)
            except MalformedItem as error:
                self.malformed(plex_type, element, error)
                continue
            items.append(item)
        self.progress.set(len(items), len(elements), f"Listing {plex_type}s")
        return items


def sync_plex_show(
    source: MediaSource,
    library: Library,
    show_rating_key: str,
    *,
    mode: str = SyncKind.INCREMENTAL,
    run: SyncRun | None = None,
    trigger: str = "",
    page_size: int = PAGE_SIZE,
    client_factory: Callable[[MediaSource], PlexClient] = plex_client_for,
) -> SyncRun:
    """Sync one show of a Plex library (show, seasons, episodes) and return the finished run.

    Like `sync_plex_source`, a failure is recorded on the run and marks nothing removed. The
    source's "last successful sync" and the library's watermark are not moved: both describe
    whole-library runs.
    """
    if source.kind != SourceKind.PLEX:
        raise ValueError(f"{source} is not a Plex source")
    if library.source_id != source.pk:
        raise ValueError(f"{library} is not a library of {source}")
    run = run or SyncRun.objects.create(
        source=source, library=library, kind=mode, trigger=trigger or f"show {show_rating_key}"[:40]
    )
    started = timezone.now()
    SyncRun.objects.filter(pk=run.pk).update(status=SyncStatus.RUNNING, started_at=started)
    run.status, run.started_at = SyncStatus.RUNNING, started
    progress = Progress(run)
    client = client_factory(source)
    problems: list[str] = []
    try:
        progress.start_library(library.title, 1, 1)
        job = ShowSync(
            library,
            mode,
            client,
            PathMapper.for_source(source),
            progress,
            show_rating_key,
            page_size=page_size,
        )
        job.run()
        record_item_outcomes(source, library, run, job.item_failures, job.synced_keys, job.complete_kinds)
        problems = job.problems
        status = SyncStatus.PARTIAL if problems else SyncStatus.SUCCEEDED
        error = "\n".join(problems[:200])
    except PlexAuthError as failure:
        status, error = SyncStatus.FAILED, str(failure)
    except PlexError as failure:
        status, error = SyncStatus.FAILED, redact(str(failure))
    except Exception as failure:
        logger.exception("Sync of show %s of %s failed", show_rating_key, source)
        status, error = SyncStatus.FAILED, redact(f"{type(failure).__name__}: {failure}")
    finished = timezone.now()
    run.status, run.finished_at, run.error = status, finished, error
    progress.flush(force=True, api_calls=client.api_calls)
    SyncRun.objects.filter(pk=run.pk).update(status=status, finished_at=finished, error=error)
    run.refresh_from_db()
    logger.info(
        "%s sync of show %s of %s: %s — %d processed, %d added, %d updated, %d removed, %d skipped, "
        "%d API calls, %.1f s",
        run.get_kind_display(), show_rating_key, source, run.get_status_display(), run.processed, run.added,
        run.updated, run.removed, run.skipped, run.api_calls, run.duration_seconds or 0,
    )  # fmt: skip
    return run
