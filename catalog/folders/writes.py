"""The writes of a folder scan: rows saved only where a value differs, one savepoint per file (a
failure is that file's problem and its cache entries are taken back), media files with their
embedded chapters and tracks, external ids, and the counters, progress and per-file problem report
flushed to the sync run a few times a second (which is also where a cancel is noticed).

Part of `_FolderScan` (catalog.folders.scan), as the `Writes` mixin.
"""

from __future__ import annotations

import logging
import os
import time

from django.db import transaction
from django.utils import timezone

from catalog.choices import ChapterOrigin, FileState, ItemState, SyncStatus
from catalog.folders.listing import _Prepared
from catalog.folders.names import _is_within, rating_key_for
from catalog.folders.nfo import NfoItem
from catalog.identity import owner_fields, replace_external_ids
from catalog.media import probe as probing
from catalog.media.streams import store_probed_tracks
from catalog.models import ChapterMark, MediaFile, Movie, Playable, Season, Show, SyncRun
from catalog.sync.tags import TagWriter

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL_SECONDS = 0.25
REPORT_MAX_LINES = 200
REPORT_MAX_CHARS = 20_000
_MEDIA_FILE_PROBE_FIELDS = (
    "size_bytes",
    "container",
    "video_codec",
    "audio_codec",
    "width",
    "height",
    "frame_rate",
    "duration_ms",
    "playable_ok",
    "probe_error",
    "probed_at",
    "state",
)


class _Cancelled(Exception):
    """Staff cancelled the sync run while it was going."""


class _ItemProblem(Exception):
    """One file cannot become catalog rows; the message is for the per-file report."""

    def __init__(self, message: str, path: str | None = None):
        super().__init__(message)
        self.path = path


class Writes:
    """The write, progress and report steps of a `_FolderScan`."""

    def _cache(self, mapping: dict, key, value) -> None:
        """Set a cache entry, remembering how to take it back if the item's savepoint rolls back."""
        self._undo.append((mapping, key, mapping.get(key, _MISSING)))
        mapping[key] = value

    def _rollback_caches(self) -> None:
        for mapping, key, old in reversed(self._undo):
            if old is _MISSING:
                mapping.pop(key, None)
            else:
                mapping[key] = old
        self._undo.clear()
        self.tag_writer = TagWriter()  # its name → id caches may hold rows the savepoint took back

    def _in_savepoint(self, write, path: str) -> None:
        """Run one file's writes in a savepoint: a failure is that file's problem, not the batch's."""
        counts, extra = dict(self.counts), dict(self.extra)
        self._undo.clear()
        try:
            with transaction.atomic():
                write()
        except _ItemProblem as problem:
            self._rollback_caches()
            self.counts, self.extra = counts, extra
            self._failed(problem.path or path, str(problem))
            self._keep(path)
        except Exception as error:  # one bad file must not stop the scan
            logger.exception("Could not save %s", path)
            self._rollback_caches()
            self.counts, self.extra = counts, extra
            self._failed(path, f"could not be saved ({error})")
            self._keep(path)
        self._undo.clear()

    def _save_item(
        self, prepared: _Prepared, model, key: str, desired: dict, *, ids, create=None, tags=None
    ) -> None:
        unit = prepared.unit
        existing = self.items.get(key)
        if existing is not None and not isinstance(existing, model):
            raise _ItemProblem(
                f"was imported as a {existing.get_kind_display().lower()} before; delete that row to re-import it"
            )
        desired["state"] = ItemState.ACTIVE
        if unit.disc is not None:
            desired["source_fingerprint"] = prepared.disc_fingerprint
        item, outcome = _upsert(
            model, existing, desired, create={"source": self.source, "rating_key": key, **(create or {})}
        )
        self._cache(self.items, key, item)
        self._cache(self.keys_by_pk, item.pk, key)
        self.seen_keys.add(key)
        file_changed = self._save_media_file(item, prepared)
        ids_changed = ids is not None and self._replace_ids(item, ids, unit.nfo_path or unit.path)
        owner = "movie" if model is Movie else "episode"
        tags_changed = tags is not None and self.tag_writer.replace_if_changed(owner, item.pk, tags)
        if outcome == "unchanged" and (file_changed or ids_changed or tags_changed):
            outcome = "updated"
            Playable.objects.filter(pk=item.pk).update(updated_at=timezone.now())
        self._count(outcome)

    def _duration(self, prepared: _Prepared, item: NfoItem | None) -> dict:
        """Length from the probe, else from the last probe, else the .nfo's runtime."""
        if prepared.unit.disc is not None:
            return self._disc_duration(prepared, None) or (
                {"duration_ms": item.runtime_minutes * 60_000}
                if item is not None and item.runtime_minutes
                else {}
            )
        if prepared.probe is not None and prepared.probe.duration_ms:
            return {"duration_ms": prepared.probe.duration_ms}
        known = self.files_by_path.get(prepared.unit.path)
        if prepared.probe is None and known and known[0].duration_ms:
            return {"duration_ms": known[0].duration_ms}
        if item is not None and item.runtime_minutes:
            return {"duration_ms": item.runtime_minutes * 60_000}
        return {}

    def _save_media_file(self, item: Playable, prepared: _Prepared) -> bool:
        unit = prepared.unit
        if unit.disc is not None:
            return self._save_disc_files(item, prepared)
        desired = {"local_path": unit.path, "plex_path": "", "part_key": ""}
        if prepared.probe is not None:
            probed = MediaFile()
            probing.apply_probe(probed, prepared.probe)
            if prepared.probe.error:
                self._problem(unit.path, prepared.probe.error)
        else:
            # Unchanged since its last probe (which may have been for another item of the same file).
            probed = self.files_by_path[unit.path][0]
            if not probed.playable_ok and probed.probe_error:
                self._problem(unit.path, probed.probe_error)  # still unreadable: every run says so
        desired.update({name: getattr(probed, name) for name in _MEDIA_FILE_PROBE_FIELDS})
        if prepared.probe is None:
            desired["state"] = FileState.NORMAL if probed.playable_ok else FileState.UNAVAILABLE
        media_file, outcome = _upsert(
            MediaFile, self.files.get(item.pk), desired, create={"playable": item, "position": 0}, touch=False
        )
        self._cache(self.files, item.pk, media_file)
        same_path = [other for other in self.files_by_path.get(unit.path, []) if other.pk != media_file.pk]
        self._cache(self.files_by_path, unit.path, [media_file, *same_path])
        if prepared.probe is not None and prepared.probe.playable:
            self._replace_embedded_chapters(item, prepared.probe.chapters)
        store_probed_tracks(media_file.pk, unit.path, prepared.probe, self._folder_listing(unit.path))
        return outcome != "unchanged"

    def _folder_listing(self, path: str) -> list[str]:
        directory = os.path.dirname(path)
        if directory not in self.folder_listings:
            try:
                self.folder_listings[directory] = os.listdir(directory)
            except OSError:
                self.folder_listings[directory] = []
        return self.folder_listings[directory]

    def _replace_embedded_chapters(self, item: Playable, chapters: list[tuple[str, int]]) -> None:
        # The start of the file is no break point, and two chapters may start together.
        wanted: dict[int, str] = {}
        for title, start_ms in chapters:
            if start_ms > 0:
                wanted.setdefault(start_ms, title[:200])
        marks = ChapterMark.objects.filter(playable=item, origin=ChapterOrigin.EMBEDDED)
        if dict(marks.values_list("time_ms", "title")) == wanted:
            return
        marks.delete()
        ChapterMark.objects.bulk_create(
            ChapterMark(playable=item, origin=ChapterOrigin.EMBEDDED, time_ms=start_ms, title=title)
            for start_ms, title in sorted(wanted.items())
        )

    def _replace_ids(self, owner, ids: list[tuple[str, str]], path: str | None) -> bool:
        owner_key = (
            ("show", owner.pk)
            if isinstance(owner, Show)
            else ("season", owner.pk)
            if isinstance(owner, Season)
            else ("playable", owner.pk)
        )
        if self.external_ids.get(owner_key, set()) == set(ids):
            return False
        skipped = replace_external_ids(owner, self.source.id, ids)
        kind = owner_fields(owner)["owner_kind"]
        for provider, value in skipped:
            self._problem(
                path or "", f"{provider}://{value} already belongs to another {kind} of this source"
            )
        self._cache(self.external_ids, owner_key, set(ids) - set(skipped))
        return True

    def _count(self, outcome: str) -> None:
        self.counts[{"added": "added", "updated": "updated", "unchanged": "skipped"}[outcome]] += 1

    def _keep(self, path: str | None) -> None:
        """A file with a problem: its existing rows stay as they are, never marked removed."""
        if not path:
            return
        self.kept_paths.add(path)
        key = rating_key_for(self._relative(path)) if _is_within(path, self.root) else None
        if key in self.items:  # a disc folder: its item's files are inside it
            self.seen_keys.add(key)
        for media_file in self.files_by_path.get(path, []):
            key = self.keys_by_pk.get(media_file.playable_id)
            if key is not None:
                self.seen_keys.add(key)

    def _failed(self, path: str | None, message: str) -> None:
        self.counts["failed"] += 1
        self._problem(path or "", message)

    def _problem(self, path: str, message: str) -> None:
        shown = self._relative(path) if path and _is_within(path, self.root) else (path or self.root)
        line = f"{shown}: {message}"
        if line not in self._problem_lines:  # a double episode's file would say it twice
            self._problem_lines.add(line)
            self.problems.append(line)

    def _step(self, label: str) -> None:
        self.progress_done += 1
        self.progress_label = label
        self._flush()

    def _flush(self, *, force: bool = False, final: bool = False) -> None:
        """Write counters and progress to the sync run, at most a few times a second.

        Called only between transactions, so the progress page sees it at once.
        """
        if self.sync_run is None:
            return
        now = time.monotonic()
        if not force and now - self._last_flush < PROGRESS_INTERVAL_SECONDS:
            return
        self._last_flush = now
        run = self.sync_run
        values = {name: self._run_base[name] + count for name, count in self.counts.items()}
        done = min(self.progress_done, self.progress_total)
        values.update(
            progress_total=self.progress_total,
            progress_done=done,
            progress_label=f"{self.progress_label} ({done}/{self.progress_total})"[:300],
        )
        if final and self.problems:
            values["error"] = _join_report(run.error, _report(self.problems, self.counts["failed"]))
        SyncRun.objects.filter(pk=run.pk).update(**values)
        for name, value in values.items():
            setattr(run, name, value)
        if not final and SyncRun.objects.filter(pk=run.pk, status=SyncStatus.CANCELLED).exists():
            raise _Cancelled


_MISSING = object()


def _upsert(model, existing, desired: dict, *, create: dict, touch: bool = True):
    """Create a row, or save only the fields that differ; returns (row, added|updated|unchanged)."""
    if existing is None:
        row = model(**{**create, **desired})
        row.save()
        return row, "added"
    changed = [name for name, value in desired.items() if getattr(existing, name) != value]
    if not changed:
        return existing, "unchanged"
    for name in changed:
        setattr(existing, name, desired[name])
    existing.save(update_fields=[*changed, "updated_at"] if touch else changed)
    return existing, "updated"


def _report(problems: list[str], failed: int) -> str:
    """The per-file problems as SyncRun.error text, cut to a size a page can show."""
    header = f"{len(problems)} problem(s); {failed} file(s) could not be imported:"
    lines, size = [header], len(header)
    for index, line in enumerate(problems):
        if index >= REPORT_MAX_LINES or size + len(line) + 1 > REPORT_MAX_CHARS:
            lines.append(f"… and {len(problems) - index} more")
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)


def _join_report(existing: str, report: str) -> str:
    return f"{existing.rstrip()}\n\n{report}" if existing and existing.strip() else report
