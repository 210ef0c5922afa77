"""Starting syncs: every trigger (schedule, button, webhook, CLI) goes through `request_sync`.

It deduplicates: while a sync that covers the request is queued or running, the request joins it
instead of starting another, so a burst of 500 webhook calls causes one sync, not 500. A run
whose worker died (no heartbeat for a while) is closed as interrupted so it can't block forever.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from catalog.choices import SourceKind, SyncKind, SyncStatus
from catalog.models import Library, MediaSource, SyncRun

STALE_RUNNING_AFTER = timedelta(minutes=10)
STALE_QUEUED_AFTER = timedelta(hours=2)


def close_stale_runs(source: MediaSource) -> int:
    now = timezone.now()
    running_dead = SyncRun.objects.filter(source=source, status=SyncStatus.RUNNING).filter(
        heartbeat_at__lt=now - STALE_RUNNING_AFTER
    ) | SyncRun.objects.filter(
        source=source,
        status=SyncStatus.RUNNING,
        heartbeat_at__isnull=True,
        started_at__lt=now - STALE_RUNNING_AFTER,
    )
    queued_dead = SyncRun.objects.filter(
        source=source, status=SyncStatus.QUEUED, created_at__lt=now - STALE_QUEUED_AFTER
    )
    closed = 0
    for queryset, why in ((running_dead, "stopped reporting progress"), (queued_dead, "was never picked up")):
        closed += queryset.update(
            status=SyncStatus.FAILED, finished_at=now, error=f"Interrupted: the sync {why} (worker stopped?)."
        )
    return closed


def is_show_scoped(run: SyncRun) -> bool:
    """One-show syncs (the CLI's `sync --title`) name the show in their trigger: "… show <ratingKey>"."""
    return " show " in f" {run.trigger}"


def _covers(active: SyncRun, library: Library | None) -> bool:
    # A one-show sync covers nothing else of its library: a webhook must not join it and be lost.
    if is_show_scoped(active):
        return False
    return active.library_id is None or (library is not None and active.library_id == library.pk)


def request_sync(
    source: MediaSource,
    mode: str = SyncKind.INCREMENTAL,
    *,
    library: Library | None = None,
    trigger: str = "",
    countdown: float | None = None,
) -> tuple[SyncRun, bool]:
    """Queue a sync of the source (or one of its libraries); returns (run, newly_queued).

    `countdown` delays the start (a follow-up after a rate-limit window); requests arriving
    meanwhile join the waiting run.
    """
    from catalog.tasks import run_sync

    with transaction.atomic():
        MediaSource.objects.select_for_update().get(pk=source.pk)  # serialises concurrent triggers
        close_stale_runs(source)
        for active in SyncRun.objects.filter(
            source=source, status__in=[SyncStatus.QUEUED, SyncStatus.RUNNING]
        ):
            if _covers(active, library):
                return active, False
        run = SyncRun.objects.create(
            source=source, library=library, kind=mode, trigger=trigger, status=SyncStatus.QUEUED
        )
        if countdown:
            transaction.on_commit(lambda: run_sync.apply_async((run.pk,), countdown=countdown))
        else:
            transaction.on_commit(lambda: run_sync.delay(run.pk))
    return run, True


def run_queued_sync(run_id: int) -> dict:
    """Claim a queued run (exactly once, even if the task is delivered twice) and carry it out."""
    claimed = SyncRun.objects.filter(pk=run_id, status=SyncStatus.QUEUED).update(
        status=SyncStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    if not claimed:
        return {"skipped": 1}
    run = SyncRun.objects.select_related("source", "library").get(pk=run_id)
    source = run.source
    if source.kind == SourceKind.PLEX:
        from catalog.sync.engine import sync_plex_source

        library_ids = [run.library_id] if run.library_id else None
        run = sync_plex_source(source, run.kind, library_ids=library_ids, run=run)
        from catalog.sync.probing import files_needing_probe
        from catalog.tasks import probe_files

        if run.status != "failed" and files_needing_probe(source.pk).exists():
            probe_files.delay(source.pk)
    else:
        from catalog.sync.folders import sync_folder_source

        run = sync_folder_source(source, run=run)
    if run.status != "failed":
        queue_artwork(source, everything=run.kind == SyncKind.DEEP)
    return {
        "processed": run.processed,
        "added": run.added,
        "updated": run.updated,
        "removed": run.removed,
        "skipped": run.skipped,
        "api_calls": run.api_calls,
        "status": run.status,
    }


def queue_artwork(source: MediaSource, *, everything: bool = False) -> bool:
    """Fetch the posters whose reference the sync changed (all of them after a deep sync)."""
    from catalog.artwork.fetch import artwork_pending
    from catalog.tasks import fetch_artwork

    if not everything and not artwork_pending(source.pk):
        return False
    fetch_artwork.delay(source.pk, everything)
    return True
