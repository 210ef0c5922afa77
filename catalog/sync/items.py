"""Sync of a few Plex items by ratingKey: what a live-update event (or a webhook) names.

    items     /library/metadata/<k1,k2,…>          (one request for the whole batch)
    parents   /library/metadata/<season,show,…>    (seasons and shows of those items, if any)
    details   /library/metadata/<changed>?includeChapters=1…   (the library sync's own step)

The rows are written by `ItemSync`, a `LibrarySync` that is handed its items instead of listing a
section, so re-keying, fingerprint skips, files, external ids, chapters and markers behave exactly
as in a library sync. Parents are always fetched with their children: an episode can't be placed
without its show and season rows, and Plex moves a show's `updatedAt` when an episode changes.

A key Plex no longer has (left out of the answer, or a 404 for the whole request) is gone for
sure, whatever the event said: its row is marked removed (never deleted), and so are the seasons
and episodes of a removed show or season. A key that comes back with the external ids of a row
removed in the same batch is that row, re-keyed (the library sync's rule). The library watermark
and the source's "last successful sync" are left alone: both describe whole-library runs.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from xml.etree.ElementTree import Element

from django.db.models import Q
from django.utils import timezone

from catalog.choices import ItemState, LibraryKind, SourceKind, SyncKind, SyncStatus
from catalog.media.paths import PathMapper
from catalog.models import Episode, Library, MediaSource, Movie, Season, Show, SyncRun
from catalog.plex.client import PlexClient
from catalog.plex.errors import PlexAuthError, PlexError, PlexHttpError
from catalog.plex.parse import MalformedItem, RemoteItem, parse_item
from catalog.sync.engine import plex_client_for, refresh_libraries
from catalog.sync.plex_library import DETAIL_BATCH, LibrarySync
from catalog.sync.progress import Progress
from retrovue.log_redaction import redact

logger = logging.getLogger("catalog.sync")

TYPES_BY_KIND = {LibraryKind.MOVIE: ("movie",), LibraryKind.SHOW: ("show", "season", "episode")}
PLAYABLE_TYPES = ("movie", "show", "season", "episode")


def fetch_elements(client: PlexClient, keys: list[str]) -> list[Element]:
    """Metadata of every key Plex still has (a 404 means none of them).

    Items carry `librarySectionID` themselves; when one doesn't, the container's (present when
    all answered items share a section) is copied onto it.
    """
    elements = []
    for start in range(0, len(keys), DETAIL_BATCH * 2):
        try:
            root = client.get(f"/library/metadata/{','.join(keys[start : start + DETAIL_BATCH * 2])}")
        except PlexHttpError as error:
            if error.status != 404:
                raise
            continue
        for element in root:
            if element.tag not in ("Video", "Directory"):
                continue
            if not element.get("librarySectionID") and root.get("librarySectionID"):
                element.set("librarySectionID", root.get("librarySectionID"))
            elements.append(element)
    return elements


class ItemSync(LibrarySync):
    """Brings the given items of one library up to date, and removes the ones Plex confirmed gone."""

    def __init__(
        self,
        library: Library,
        client: PlexClient,
        mapper: PathMapper,
        progress: Progress,
        items: dict[str, list[RemoteItem]],
        gone: set[str],
    ):
        super().__init__(library, SyncKind.INCREMENTAL, client, mapper, progress)
        self.since = None  # nothing is listed, so there is no watermark to filter by
        self.items = items
        self.gone = gone

    def run(self) -> None:
        for plex_type in TYPES_BY_KIND.get(self.library.kind, ()):
            self.sync_type(plex_type)

    def local_queryset(self, plex_type: str):
        wanted = {item.rating_key for item in self.items.get(plex_type, [])} | self.gone
        return super().local_queryset(plex_type).filter(rating_key__in=wanted)

    def fetch_changed(self, plex_type: str) -> list[RemoteItem]:
        return list(self.items.get(plex_type, []))

    def remote_keys(self, plex_type, local, changed) -> set[str]:
        # Everything loaded is "still there" except what Plex confirmed gone.
        return set(local) - self.gone


def unplaceable(element: Element, plex_type: str) -> str:
    section = element.get("librarySectionID", "")
    where = (
        f"in library section {section}, which this source does not have"
        if section
        else "without a library section (no librarySectionID on it or its container)"
    )
    return (
        f"Skipped {plex_type} {element.get('title', '?')!r} ({element.get('ratingKey', '?')}): Plex lists it "
        f"{where}; refresh the source's libraries or run a library sync."
    )


def _cascade(source: MediaSource, gone: set[str], present: set[str]) -> set[str]:
    """The confirmed-gone keys plus the seasons and episodes of gone shows and seasons."""
    if not gone:
        return set()
    below = set(
        Season.objects.filter(show__source=source, show__rating_key__in=gone, state=ItemState.ACTIVE)
        .exclude(rating_key="")
        .values_list("rating_key", flat=True)
    ) | set(
        Episode.objects.filter(
            Q(show__rating_key__in=gone) | Q(season__rating_key__in=gone),
            source=source,
            state=ItemState.ACTIVE,
        )
        .exclude(rating_key="")
        .values_list("rating_key", flat=True)
    )
    return (gone | below) - present


def _libraries_of_rows(source: MediaSource, keys: set[str]) -> set[int]:
    if not keys:
        return set()
    library_ids = set()
    for model in (Movie, Show, Episode):
        library_ids |= set(
            model.objects.filter(source=source, rating_key__in=keys).values_list("library_id", flat=True)
        )
    library_ids |= set(
        Season.objects.filter(show__source=source, rating_key__in=keys).values_list(
            "show__library_id", flat=True
        )
    )
    library_ids.discard(None)
    return library_ids


def collect(client: PlexClient, keys: list[str]) -> tuple[list[Element], set[str]]:
    """The items' elements plus their parents' (fetched once each), and the keys Plex has no more."""
    elements = fetch_elements(client, keys)
    present = {element.get("ratingKey", "") for element in elements}
    gone = set(keys) - present
    parents = []
    for element in elements:
        for attribute in ("parentRatingKey", "grandparentRatingKey"):
            key = element.get(attribute, "")
            if (
                key
                and key not in present
                and key not in parents
                and element.get("type") in ("season", "episode")
            ):
                parents.append(key)
    if parents:
        elements += fetch_elements(client, parents)
    return elements, gone


def sync_plex_items(
    source: MediaSource,
    rating_keys: Iterable[str],
    *,
    run: SyncRun | None = None,
    trigger: str = "",
    client_factory: Callable[[MediaSource], PlexClient] = plex_client_for,
) -> SyncRun:
    """Sync the named items (and their parents) of a Plex source; returns the finished run."""
    if source.kind != SourceKind.PLEX:
        raise ValueError(f"{source} is not a Plex source")
    keys = list(dict.fromkeys(str(key) for key in rating_keys if str(key).strip()))
    run = run or SyncRun.objects.create(
        source=source, kind=SyncKind.INCREMENTAL, trigger=trigger, item_keys=keys
    )
    started = timezone.now()
    SyncRun.objects.filter(pk=run.pk).update(status=SyncStatus.RUNNING, started_at=started)
    run.status, run.started_at = SyncStatus.RUNNING, started
    progress = Progress(run)
    client = client_factory(source)
    problems: list[str] = []
    try:
        elements, gone_keys = collect(client, keys)
        libraries = {library.section_key: library for library in Library.objects.filter(source=source)}
        sections = {element.get("librarySectionID", "") for element in elements}
        if sections - set(libraries):
            libraries = {library.section_key: library for library in refresh_libraries(source, client)}
        by_library: dict[int, dict[str, list[RemoteItem]]] = defaultdict(lambda: defaultdict(list))
        for element in elements:
            library = libraries.get(element.get("librarySectionID", ""))
            plex_type = element.get("type", "")
            if plex_type not in PLAYABLE_TYPES:
                continue  # music, photos, collections: nothing this station stores
            if library is None:
                # Skipping it silently would look like a sync that succeeded.
                progress.stats.failed += 1
                problems.append(unplaceable(element, plex_type))
                continue
            try:
                by_library[library.pk][plex_type].append(parse_item(element, plex_type))
            except MalformedItem as error:
                progress.stats.failed += 1
                problems.append(str(error))
        present = {element.get("ratingKey", "") for element in elements}
        gone = _cascade(source, gone_keys, present)
        mapper = PathMapper.for_source(source)
        involved = set(by_library) | _libraries_of_rows(source, gone)
        chosen = [
            library
            for library in libraries.values()
            if library.pk in involved and library.sync_enabled and library.kind in TYPES_BY_KIND
        ]
        for number, library in enumerate(chosen, start=1):
            progress.start_library(library.title, number, len(chosen))
            job = ItemSync(library, client, mapper, progress, by_library.get(library.pk, {}), gone)
            job.run()
            problems.extend(job.problems)
        status = SyncStatus.PARTIAL if problems else SyncStatus.SUCCEEDED
        error = "\n".join(problems[:200])
    except PlexAuthError as failure:
        status, error = SyncStatus.FAILED, str(failure)
    except PlexError as failure:
        status, error = SyncStatus.FAILED, redact(str(failure))
    except Exception as failure:
        logger.exception("Sync of items %s of %s failed", keys[:20], source)
        status, error = SyncStatus.FAILED, redact(f"{type(failure).__name__}: {failure}")
    finished = timezone.now()
    run.status, run.finished_at, run.error = status, finished, error
    progress.flush(force=True, api_calls=client.api_calls)
    SyncRun.objects.filter(pk=run.pk).update(status=status, finished_at=finished, error=error)
    run.refresh_from_db()
    logger.info(
        "Item sync of %d keys of %s: %s — %d added, %d updated, %d removed, %d skipped, %d API calls, %.2f s",
        len(keys), source, run.get_status_display(), run.added, run.updated, run.removed, run.skipped,
        run.api_calls, run.duration_seconds or 0,
    )  # fmt: skip
    return run
