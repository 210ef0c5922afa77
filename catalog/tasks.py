"""Celery shims for the catalog; the work is in catalog.sync (tests call those functions)."""

from celery import shared_task

from catalog.artwork.errors import ArtworkSourceUnavailable
from catalog.choices import SyncKind


@shared_task(name="sync.run")
def run_sync(run_id: int) -> dict:
    from catalog.sync.triggers import run_queued_sync

    return run_queued_sync(run_id)


@shared_task(name="sync.scheduled")
def scheduled_sync(source_id: int) -> dict:
    from catalog.models import MediaSource
    from catalog.sync.triggers import request_sync

    source = MediaSource.objects.filter(pk=source_id, enabled=True).first()
    if source is None:
        return {"skipped": 1}
    run, queued = request_sync(source, SyncKind.INCREMENTAL, trigger="schedule")
    return {"sync_run": run.pk, "queued": int(queued)}


@shared_task(name="sync.probe_files")
def probe_files(source_id: int) -> dict:
    from catalog.sync.probing import probe_source_files

    result = probe_source_files(source_id)
    if result["remaining"] and result["probed"]:
        probe_files.delay(source_id)  # keep going in slices so other sync work can interleave
    return result


@shared_task(name="chapters.generate")
def generate_chapters(playable_id: int) -> dict:
    from catalog.chapters.marks import run_chapter_detection

    return run_chapter_detection(playable_id)


@shared_task(name="sync.match")
def match_source(source_id: int | None = None, full: bool = False) -> dict:
    from catalog.matching.service import match_source as run_matching

    return run_matching(source_id, full=full)


@shared_task(
    name="sync.artwork",
    autoretry_for=(ArtworkSourceUnavailable,),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
)
def fetch_artwork(source_id: int, everything: bool = False) -> dict:
    from catalog.artwork.fetch import refresh_artwork

    return refresh_artwork(source_id, everything=everything)
