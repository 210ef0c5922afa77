"""Entry points of the sync: one function per kind of source, each recording a SyncRun.

`sync_plex_source` is what the Celery task, the admin's "Sync now" button, the webhook and the
CLI all call. A run that fails (bad token, server gone, malformed answer) records a clear error
and changes nothing that depends on having seen the whole library: nothing is marked removed and
the watermark stays, so the next run picks up exactly where this one could not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.db import transaction
from django.utils import timezone

from catalog.choices import AuthState, LibraryKind, SourceKind, SyncKind, SyncStatus
from catalog.media.paths import PathMapper
from catalog.models import Library, MediaSource, SyncRun
from catalog.plex.auth import NEEDS_SIGN_IN, mark_needs_sign_in, mark_signed_in
from catalog.plex.client import PlexClient
from catalog.plex.errors import PlexAuthError, PlexError
from catalog.sync.item_errors import record_item_outcomes
from catalog.sync.plex_library import LibrarySync
from catalog.sync.progress import Progress
from retrovue.log_redaction import redact

logger = logging.getLogger("catalog.sync")

PLEX_SECTION_KINDS = {"movie": LibraryKind.MOVIE, "show": LibraryKind.SHOW}


def plex_client_for(source: MediaSource, **options) -> PlexClient:
    return PlexClient(source.base_url, source.token, client_identifier=source.client_identifier, **options)


def sync_plex_source(
    source: MediaSource,
    mode: str = SyncKind.INCREMENTAL,
    *,
    library_ids: Iterable[int] | None = None,
    trigger: str = "",
    run: SyncRun | None = None,
    client_factory: Callable[[MediaSource], PlexClient] = plex_client_for,
    page_size: int | None = None,
) -> SyncRun:
    """Sync a Plex source's enabled libraries (or just `library_ids`) and return the finished run."""
    if source.kind != SourceKind.PLEX:
        raise ValueError(f"{source} is not a Plex source")
    only = set(library_ids) if library_ids is not None else None
    run = run or SyncRun.objects.create(
        source=source,
        library_id=next(iter(only)) if only and len(only) == 1 else None,
        kind=mode,
        trigger=trigger,
    )
    started = timezone.now()
    SyncRun.objects.filter(pk=run.pk).update(status=SyncStatus.RUNNING, started_at=started)
    run.status, run.started_at = SyncStatus.RUNNING, started
    progress = Progress(run)
    client = client_factory(source)
    problems: list[str] = []
    try:
        info = client.server_info()  # also the token check: GET / needs a valid token
        remember_server(source, info)
        if source.auth_state != AuthState.OK:
            mark_signed_in(source)
        libraries = refresh_libraries(source, client)
        chosen = [
            library
            for library in libraries
            if library.kind in (LibraryKind.MOVIE, LibraryKind.SHOW)
            and (library.pk in only if only is not None else library.sync_enabled)
        ]
        mapper = PathMapper.for_source(source)
        for number, library in enumerate(chosen, start=1):
            progress.start_library(library.title, number, len(chosen))
            job = LibrarySync(
                library, mode, client, mapper, progress, **({"page_size": page_size} if page_size else {})
            )
            job.run()
            record_item_outcomes(source, library, run, job.item_failures, job.synced_keys, job.complete_kinds)
            problems.extend(job.problems)
            finish_library(library, job.newest_updated_at)
        status = SyncStatus.PARTIAL if problems else SyncStatus.SUCCEEDED
        error = "\n".join(problems[:200])
    except PlexAuthError as failure:
        status, error = SyncStatus.FAILED, f"{NEEDS_SIGN_IN}: {failure}"
        MediaSource.objects.filter(pk=source.pk).update(last_error=error)
        mark_needs_sign_in(source, str(failure))
    except PlexError as failure:
        status, error = SyncStatus.FAILED, redact(str(failure))
        MediaSource.objects.filter(pk=source.pk).update(last_error=error)
    except Exception as failure:
        logger.exception("Sync of %s failed", source)
        status, error = SyncStatus.FAILED, redact(f"{type(failure).__name__}: {failure}")
        MediaSource.objects.filter(pk=source.pk).update(last_error=error)
    finished = timezone.now()
    if status != SyncStatus.FAILED:
        MediaSource.objects.filter(pk=source.pk).update(last_successful_sync_at=finished, last_error="")
    run.status, run.finished_at, run.error = status, finished, error
    progress.flush(force=True, api_calls=client.api_calls)
    SyncRun.objects.filter(pk=run.pk).update(status=status, finished_at=finished, error=error)
    run.refresh_from_db()
    logger.info(
        "%s sync of %s: %s — %d processed, %d added, %d updated, %d removed, %d skipped, %d API calls, %.1f s",
        run.get_kind_display(), source, run.get_status_display(), run.processed, run.added, run.updated,
        run.removed, run.skipped, run.api_calls, run.duration_seconds or 0,
    )  # fmt: skip
    return run


def remember_server(source: MediaSource, info: dict) -> None:
    windows = info.get("platform", "").lower().startswith("windows")
    updates = {"machine_identifier": info.get("machine_identifier", "")[:100]}
    if windows and not source.paths_case_insensitive:
        updates["paths_case_insensitive"] = True  # NTFS ignores case, so mappings must too
        source.paths_case_insensitive = True
    MediaSource.objects.filter(pk=source.pk).update(**updates)


def refresh_libraries(source: MediaSource, client: PlexClient) -> list[Library]:
    """Create or update a Library per Plex section; sections that disappeared are left as they are."""
    libraries = []
    with transaction.atomic():
        for directory in client.sections():
            key = directory.get("key", "")
            if not key:
                continue
            kind = PLEX_SECTION_KINDS.get(directory.get("type", ""), LibraryKind.OTHER)
            locations = [location.get("path", "") for location in directory.iter("Location")]
            library, created = Library.objects.get_or_create(
                source=source,
                section_key=key,
                defaults={"title": directory.get("title", key), "kind": kind, "locations": locations},
            )
            if not created and (library.title, library.kind, library.locations) != (
                directory.get("title", key),
                kind,
                locations,
            ):
                library.title, library.kind, library.locations = directory.get("title", key), kind, locations
                library.save(update_fields=["title", "kind", "locations"])
            libraries.append(library)
    return libraries


def finish_library(library: Library, newest_updated_at: int | None) -> None:
    watermark = max(filter(None, [library.sync_watermark, newest_updated_at]), default=None)
    Library.objects.filter(pk=library.pk).update(last_synced_at=timezone.now(), sync_watermark=watermark)
