"""Starting syncs: every trigger (schedule, button, webhook, CLI) goes through `request_sync`.

It deduplicates: while a sync that covers the request is queued or running, the request joins it
instead of starting another, so a burst of 500 webhook calls causes one sync, not 500. A run
whose worker died (no heartbeat for a while) is closed as interrupted so it can't block forever.

Item-scoped requests (live updates: "these ratingKeys changed") join a *queued* run only: their
keys are merged into a queued item run, or they ride along with a queued whole-source sync. A
running sync may already have listed past the item, so it never absorbs one; at most one item
run waits behind it, and a burst of 500 events becomes a handful of runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from catalog.choices import SourceKind, SyncKind, SyncStatus
from catalog.models import Library, MediaSource, SyncRun
from catalog.plex.auth import NEEDS_SIGN_IN, needs_sign_in_message

STALE_RUNNING_AFTER = timedelta(minutes=10)
STALE_QUEUED_AFTER = timedelta(hours=2)
# Beyond this many keys an item run costs more than the library's incremental sync.
MAX_ITEM_KEYS = 1000


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
    # Nor does an item sync, which looks at its items only.
    if is_show_scoped(active) or active.item_keys:
        return False
    return active.library_id is None or (library is not None and active.library_id == library.pk)


def request_sync(
    source: MediaSource,
    mode: str = SyncKind.INCREMENTAL,
    *,
    library: Library | None = None,
    trigger: str = "",
    countdown: float | None = None,
    item_keys: Iterable[str] | None = None,
) -> tuple[SyncRun, bool]:
    """Queue a sync of the source (or one of its libraries); returns (run, newly_queued).

    `countdown` delays the start (a follow-up after a rate-limit window); requests arriving
    meanwhile join the waiting run. `item_keys` asks for just those Plex items (see the module
    docstring); `library` then says that all of them are in that library (a queued sync of it
    covers them), and may be None.
    """
    from catalog.tasks import run_sync

    keys = sorted({str(key) for key in item_keys or () if str(key).strip()}, key=_key_order)
    with transaction.atomic():
        current = MediaSource.objects.select_for_update().get(pk=source.pk)  # serialises concurrent triggers
        close_stale_runs(source)
        if current.needs_sign_in:
            return refused_for_sign_in(current, mode, library, trigger), False
        if keys:
            return _queue_item_sync(source, keys, mode=mode, trigger=trigger, library=library)
        for active in SyncRun.objects.filter(
            source=source, status__in=[SyncStatus.QUEUED, SyncStatus.RUNNING]
        ):
            if _covers(active, library):
                return active, False
        run = SyncRun.objects.create(
            source=source,
            library=library,
            kind=mode,
            trigger=trigger,
            status=SyncStatus.QUEUED,
            start_after=timezone.now() + timedelta(seconds=countdown) if countdown else None,
        )
        if countdown:
            transaction.on_commit(lambda: run_sync.apply_async((run.pk,), countdown=countdown))
        else:
            transaction.on_commit(lambda: run_sync.delay(run.pk))
    return run, True


def refused_for_sign_in(source: MediaSource, mode: str, library: Library | None, trigger: str) -> SyncRun:
    """The failed run that says why a needs-sign-in source does not sync; one per sign-in failure.

    Triggers arriving later (the schedule, a webhook burst, the button) get that same run back, so
    a source nobody has fixed yet costs no Plex request, no task and no new row per trigger.
    """
    since = source.auth_checked_at
    earlier = SyncRun.objects.filter(
        source=source, status=SyncStatus.FAILED, error__startswith=NEEDS_SIGN_IN
    ).order_by("-created_at")
    if since is not None:
        earlier = earlier.filter(created_at__gte=since)
    existing = earlier.first()
    if existing is not None:
        return existing
    now = timezone.now()
    return SyncRun.objects.create(
        source=source,
        library=library,
        kind=mode,
        trigger=trigger,
        status=SyncStatus.FAILED,
        started_at=now,
        finished_at=now,
        error=needs_sign_in_message(source),
    )


def _key_order(key: str) -> tuple[int, str]:
    return (int(key), key) if key.isdigit() else (1 << 62, key)


def _queue_item_sync(
    source: MediaSource, keys: list[str], *, mode: str, trigger: str, library: Library | None
) -> tuple[SyncRun, bool]:
    """The item half of `request_sync`, inside its transaction and lock on the source."""
    from catalog.tasks import run_sync

    for queued in SyncRun.objects.filter(source=source, status=SyncStatus.QUEUED).order_by("created_at"):
        whole = queued.library_id is None or (library is not None and queued.library_id == library.pk)
        # A run held back (a webhook's follow-up after its rate-limit window) would delay the items.
        held_back = queued.start_after is not None and queued.start_after > timezone.now()
        if not queued.item_keys and whole and not held_back and not is_show_scoped(queued):
            # A source (or this library's) sync that hasn't started sees these items too: the
            # webhook's library syncs and the listener's item syncs absorb each other this way.
            return queued, False
        if queued.item_keys:
            merged = sorted(set(queued.item_keys) | set(keys), key=_key_order)
            if len(merged) > MAX_ITEM_KEYS:
                break
            # The status condition loses to a worker that claimed the run meanwhile (the
            # row lock makes one of us wait): then these keys go into a new run below.
            if SyncRun.objects.filter(pk=queued.pk, status=SyncStatus.QUEUED).update(item_keys=merged):
                queued.item_keys = merged
                return queued, False
    if len(keys) > MAX_ITEM_KEYS:
        run = SyncRun.objects.create(source=source, kind=mode, trigger=trigger, status=SyncStatus.QUEUED)
    else:
        run = SyncRun.objects.create(
            source=source, kind=mode, trigger=trigger, status=SyncStatus.QUEUED, item_keys=keys
        )
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
    if source.needs_sign_in:  # queued before the token was refused: don't knock again
        SyncRun.objects.filter(pk=run.pk).update(
            status=SyncStatus.FAILED, finished_at=timezone.now(), error=needs_sign_in_message(source)
        )
        return {"status": SyncStatus.FAILED, "skipped": 1}
    if source.kind == SourceKind.PLEX:
        from catalog.sync.engine import sync_plex_source
        from catalog.sync.items import sync_plex_items

        library_ids = [run.library_id] if run.library_id else None
        if run.item_keys:
            run = sync_plex_items(source, run.item_keys, run=run)
        else:
            run = sync_plex_source(source, run.kind, library_ids=library_ids, run=run)
        from catalog.sync.probing import files_needing_probe
        from catalog.tasks import probe_files

        if run.status != "failed" and files_needing_probe(source.pk).exists():
            probe_files.delay(source.pk)
    else:
        from catalog.sync.folders import sync_folder_source

        run = sync_folder_source(source, run=run)
    if run.status != "failed":
        from catalog.tasks import match_source

        match_source.delay(source.pk)  # the same work from another source is linked after every sync
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
