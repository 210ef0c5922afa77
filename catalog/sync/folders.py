"""Sync runs for TMM .nfo and plain-folder sources (the scanning itself is in catalog.folders.scan)."""

from __future__ import annotations

from django.utils import timezone

from catalog.choices import SourceKind, SyncStatus
from catalog.models import MediaSource, SyncRun
from retrovue.log_redaction import redact


def sync_folder_source(source: MediaSource, *, run: SyncRun | None = None, paths=None) -> SyncRun:
    from catalog.folders import scan as folder_scan

    run = run or SyncRun.objects.create(
        source=source, kind="full", status=SyncStatus.RUNNING, started_at=timezone.now()
    )
    scan = folder_scan.scan_tmm_source if source.kind == SourceKind.TMM else folder_scan.scan_folder_source
    try:
        summary = scan(source, sync_run=run, paths=paths)
        if summary.get("cancelled"):
            status = SyncStatus.CANCELLED
        elif summary.get("failed") or not summary.get("complete", True):
            status = SyncStatus.PARTIAL
        else:
            status = SyncStatus.SUCCEEDED
    except Exception as failure:
        summary = {}
        status = SyncStatus.FAILED
        SyncRun.objects.filter(pk=run.pk).update(error=redact(f"{type(failure).__name__}: {failure}"))
    finished = timezone.now()
    SyncRun.objects.filter(pk=run.pk).update(status=status, finished_at=finished)
    if status == SyncStatus.SUCCEEDED or (status == SyncStatus.PARTIAL and summary.get("complete")):
        MediaSource.objects.filter(pk=source.pk).update(last_successful_sync_at=finished, last_error="")
    run.refresh_from_db()
    return run
