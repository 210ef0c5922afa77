"""Probing the local copies of synced files with ffprobe, after the sync, in the background.

Plex already reports codecs and durations, so the sync itself never waits on ffprobe (17,000
probes would take longer than the whole sync). Afterwards, files present on this machine that
were never probed (or changed since) are checked in batches: is it really playable here, does
it carry embedded chapters that Plex did not report, which audio and subtitle tracks does ffmpeg see
in it (and which subtitle files lie beside it)?
"""

from __future__ import annotations

from django.db import transaction

from catalog.choices import ChapterOrigin, FileState
from catalog.media.probe import apply_probe, probe_media_file
from catalog.media.streams import store_probed_tracks
from catalog.models import ChapterMark, MediaFile

PROBE_BATCH = 200


def files_needing_probe(source_id: int):
    return MediaFile.objects.filter(
        playable__source_id=source_id, state=FileState.NORMAL, probed_at__isnull=True
    ).order_by("pk")


def probe_source_files(source_id: int, *, limit: int = PROBE_BATCH) -> dict:
    """Probe up to `limit` unprobed local files of a source; returns counts and whether more remain."""
    probed = unplayable = chapters_added = 0
    for media_file in files_needing_probe(source_id)[:limit]:
        result = probe_media_file(media_file.local_path)
        apply_probe(media_file, result, set_state=False)
        if result.missing:
            media_file.state = FileState.FILE_NOT_FOUND
        with transaction.atomic():
            media_file.save()
            if not result.missing and not result.retry:
                store_probed_tracks(media_file.pk, media_file.local_path, result)
            if result.playable and result.chapters:
                created = ChapterMark.objects.bulk_create(
                    [
                        ChapterMark(playable_id=media_file.playable_id, version_id=media_file.version_id,
                                    title=title[:200], time_ms=start_ms, origin=ChapterOrigin.EMBEDDED)
                        for title, start_ms in result.chapters
                        if start_ms > 0
                    ],
                    ignore_conflicts=True,
                )  # fmt: skip
                chapters_added += len(created)
        probed += 1
        unplayable += not result.playable
    return {
        "probed": probed,
        "unplayable": unplayable,
        "chapters_added": chapters_added,
        "remaining": files_needing_probe(source_id).count(),
    }
