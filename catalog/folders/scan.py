"""Scanning TinyMediaManager (.nfo) folders and plain media folders into the catalog.

A TMM source is a tree the way Kodi reads it: `tvshow.nfo` in a show's folder, an .nfo beside
every video with the same base name (`movie.nfo` also works for a folder holding one movie), and
`<episodedetails>` / `<movie>` inside. A plain folder source holds clips whose kind comes from the
folder they sit in (commercials/, bumpers/, promos/, station_ids/ or ids/, intros/, outros/,
interstitials/, filler/); an optional .nfo beside a clip adds its title and scheduling metadata.
Short-form folders work inside a TMM tree too.

Identity is the path relative to the source folder (`rating_key`), so a rescan finds every row
again without trusting titles. Scans are incremental: a video whose size is unchanged and whose
mtime is older than its last probe is not probed again, and rows are written only when a value
differs, so a rescan of an unchanged tree writes nothing. The .nfo files themselves are cheap and
are always re-read.

Nothing is deleted. An item whose files are gone after a *complete* scan is marked removed (its
file `file_not_found`); a scan that could not list some folder, was cancelled, or covered only
some `paths` marks nothing outside what it fully saw. Each file's problem is reported by path and
the scan goes on.

This module drives one scan (`_FolderScan`); its steps live beside it, one concern each: the walk
and the plan (`listing`), what .nfo files say as rows (`nfo_rows`; reading them is `nfo`, their ids
`nfo_ids`), movie sets as collections (`sets`), DVD and Blu-ray folders (`disc_items`; what a
disc's main title is, `discs`), the writes, progress and problem report (`writes`), and marking
what is gone (`removal`). What file and folder names mean is in `names`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from catalog.choices import ContentKind, LibraryKind, SourceKind, SyncKind
from catalog.folders.disc_items import DiscItems
from catalog.folders.listing import TreeListing, _Prepared, _VideoUnit
from catalog.folders.names import _episode_code, clean_title, rating_key_for
from catalog.folders.nfo import NfoError, NfoItem, NfoSet, parse_nfo
from catalog.folders.nfo_rows import NfoRows, _name_stem
from catalog.folders.removal import Removals
from catalog.folders.sets import MovieSets
from catalog.folders.writes import Writes, _Cancelled
from catalog.media import probe as probing
from catalog.models import (
    Episode,
    ExternalId,
    Library,
    MediaFile,
    MediaSource,
    Movie,
    Playable,
    Season,
    ShortFormItem,
    Show,
    SyncRun,
)
from catalog.sync.tags import TagWriter

BATCH_SIZE = 50
SUMMARY_MAX_PROBLEMS = 1_000


class FolderScanError(Exception):
    """The source folder cannot be scanned at all (missing, unmounted, not a folder)."""


def scan_source(source: MediaSource, *, sync_run: SyncRun | None = None, paths=None) -> dict:
    """Scan a TMM or folder source by its kind."""
    if source.kind == SourceKind.TMM:
        return scan_tmm_source(source, sync_run=sync_run, paths=paths)
    if source.kind == SourceKind.FOLDER:
        return scan_folder_source(source, sync_run=sync_run, paths=paths)
    raise ValueError(f"{source} is a {source.get_kind_display()}, not a folder source")


def scan_tmm_source(
    source: MediaSource, *, sync_run: SyncRun | None = None, paths: Iterable[str] | None = None
) -> dict:
    """Scan a TMM/Kodi .nfo tree: shows, seasons, episodes, movies, and any short-form folders.

    `paths` (relative to the source folder, or absolute inside it) limits the scan to those
    folders or files; items elsewhere are left alone. Returns a summary of counts and problems.
    """
    return _FolderScan(source, sync_run=sync_run, paths=paths, read_nfo_items=True).run()


def scan_folder_source(
    source: MediaSource, *, sync_run: SyncRun | None = None, paths: Iterable[str] | None = None
) -> dict:
    """Scan a plain media folder into short-form items, their kind taken from the folder names."""
    return _FolderScan(source, sync_run=sync_run, paths=paths, read_nfo_items=False).run()


class _FolderScan(TreeListing, NfoRows, MovieSets, DiscItems, Writes, Removals):
    """One scan of one folder source. Steps: list → load catalog → plan → import → mark removed."""

    def __init__(self, source: MediaSource, *, sync_run, paths, read_nfo_items: bool):
        self.source = source
        self.sync_run = sync_run
        self.read_nfo_items = read_nfo_items
        self.root = os.path.abspath(os.path.expanduser(source.path or ""))
        self.root_name = os.path.basename(self.root.rstrip(os.sep))
        self.recursive = source.include_subdirectories
        self.deep = sync_run is not None and sync_run.kind == SyncKind.DEEP
        self.requested_paths = (
            [paths] if isinstance(paths, str) else (list(paths) if paths is not None else None)
        )
        self.counts = dict.fromkeys(("processed", "added", "updated", "removed", "skipped", "failed"), 0)
        self.extra = dict.fromkeys(("probed", "shows_added", "shows_updated", "shows_removed"), 0)
        self.problems: list[str] = []
        self._problem_lines: set[str] = set()
        self.kept_paths: set[str] = set()  # files with a problem: their rows are never marked removed
        self.seen_keys: set[str] = set()
        self.seen_show_keys: set[str] = set()
        self.show_items: dict[str, NfoItem | None] = {}
        self.progress_total = 0
        self.progress_done = 0
        self.progress_label = ""
        self._last_flush = 0.0
        self._run_base = {name: getattr(sync_run, name) for name in self.counts} if sync_run else {}
        self._libraries: dict[str, Library] = {}
        self._reported_folders: set[str] = set()
        self._show_dirs: dict[str, str | None] = {}
        self._undo: list[tuple[dict, object, object]] = []
        self.tag_writer = TagWriter()
        self._images: dict[str, dict[str, str]] = {}  # folder → its image files, by lower-case name
        self._season_nfos_done: set[tuple[int, str]] = set()
        self.movie_sets: dict[int, NfoSet | None] = {}  # movie → the <set> its .nfo names

    def run(self) -> dict:
        if not self.source.path or not os.path.isdir(self.root):
            raise FolderScanError(
                f"{self.root if self.source.path else '(no folder set)'} is not a folder this machine "
                "can read (is the disk mounted?)"
            )
        scopes = self._scopes()
        listing = self._list(scopes)
        self._load_catalog()
        units, orphan_nfos, show_dirs = self._plan(listing, scopes)
        self.progress_total = len(show_dirs) + len(units) + len(orphan_nfos)
        cancelled = False
        try:
            self._flush(force=True)
            for start in range(0, len(show_dirs), BATCH_SIZE):
                self._import_shows(show_dirs[start : start + BATCH_SIZE])
            for start in range(0, len(units), BATCH_SIZE):
                self._import_batch(units[start : start + BATCH_SIZE])
            self._import_orphan_nfos(orphan_nfos)
        except _Cancelled:
            cancelled = True
        complete = listing.complete and not cancelled
        if (
            complete
            and scopes is None
            and not any(listing.videos.values())
            and not listing.discs
            and self._has_active_items()
        ):
            # An empty mount point looks exactly like a library whose every file was deleted.
            complete = False
            self._problem(
                self.root,
                "no video files at all, though the catalog has some; nothing was marked removed "
                "(is the disk mounted?)",
            )
        self._save_movie_sets(complete=complete and scopes is None)
        if complete:
            self._mark_removed(scopes)
        self.progress_label = "Cancelled" if cancelled else ("Done" if complete else "Done (incomplete)")
        self._flush(force=True, final=True)
        return self._summary(complete=complete, cancelled=cancelled)

    def _summary(self, *, complete: bool, cancelled: bool) -> dict:
        problems = self.problems[:SUMMARY_MAX_PROBLEMS]
        if len(self.problems) > SUMMARY_MAX_PROBLEMS:
            problems.append(f"… and {len(self.problems) - SUMMARY_MAX_PROBLEMS} more")
        return {**self.counts, **self.extra, "complete": complete, "cancelled": cancelled, "errors": problems}

    def _load_catalog(self) -> None:
        """Everything this source already has, loaded once, so unchanged files cost no queries."""
        source = self.source
        self.shows = {show.rating_key: show for show in Show.objects.filter(source=source)}
        self.seasons = {
            (season.show_id, season.season_number): season
            for season in Season.objects.filter(show__source=source)
        }
        self.items: dict[str, Playable] = {}
        for model in (Movie, Episode, ShortFormItem):
            for item in model.objects.filter(source=source).exclude(rating_key=""):
                self.items[item.rating_key] = item
        self.keys_by_pk = {item.pk: key for key, item in self.items.items()}
        self.files: dict[int, MediaFile] = {}
        self.files_by_path: dict[str, list[MediaFile]] = {}
        self.folder_listings: dict[str, list[str]] = {}  # for sidecar subtitles: one listdir a folder
        self.parts_by_item: dict[int, list[MediaFile]] = {}  # every file, in play order (disc items)
        for media_file in MediaFile.objects.filter(playable__source=source).order_by(
            "playable_id", "position"
        ):
            self.parts_by_item.setdefault(media_file.playable_id, []).append(media_file)
            if media_file.position != 0:
                continue
            self.files[media_file.playable_id] = media_file
            if media_file.local_path:
                self.files_by_path.setdefault(media_file.local_path, []).append(media_file)
        self.external_ids: dict[tuple[str, int], set[tuple[str, str]]] = {}
        for row in ExternalId.objects.filter(source=source).values(
            "show_id", "season_id", "playable_id", "provider", "value"
        ):
            owner = (
                ("show", row["show_id"])
                if row["show_id"]
                else ("season", row["season_id"])
                if row["season_id"]
                else ("playable", row["playable_id"])
            )
            self.external_ids.setdefault(owner, set()).add((row["provider"], row["value"]))

    def _library(self, kind: str) -> Library:
        """The source's library for one kind of content, created on first use (outside any savepoint)."""
        if kind not in self._libraries:
            library = (
                Library.objects.filter(source=self.source, kind=kind, section_key="").order_by("id").first()
            )
            if library is None:
                if self.source.kind == SourceKind.FOLDER:
                    title = self.source.name
                else:
                    suffix = {LibraryKind.MOVIE: "Movies", LibraryKind.SHOW: "TV shows"}.get(kind, "Clips")
                    title = f"{self.source.name} – {suffix}"
                library = Library.objects.create(
                    source=self.source, kind=kind, title=title[:200], locations=[self.root]
                )
            self._libraries[kind] = library
        return self._libraries[kind]

    def _relative(self, path: str) -> str:
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    def _import_batch(self, units: list[_VideoUnit]) -> None:
        prepared = [self._prepare(unit) for unit in units]
        with transaction.atomic():
            for item in prepared:
                self._save_prepared(item)
        self._flush()

    def _prepare(self, unit: _VideoUnit) -> _Prepared:
        """The slow, read-only part (stat, .nfo, ffprobe), done outside any transaction."""
        prepared = _Prepared(unit=unit)
        if unit.nfo_path:
            try:
                prepared.items = parse_nfo(unit.nfo_path).items
            except NfoError as error:
                prepared.nfo_error = str(error)
        for kind in self._library_kinds(prepared):
            self._library(kind)
        if unit.disc is not None:
            self._prepare_disc(prepared)
            self._step(self._label(prepared))
            return prepared
        try:
            status = os.stat(unit.path)
        except OSError as error:
            prepared.probe = probing.ProbeResult(
                path=unit.path,
                probed_at=timezone.now(),
                missing=isinstance(error, FileNotFoundError),
                error="file not found"
                if isinstance(error, FileNotFoundError)
                else f"cannot read it ({error})",
            )
        else:
            prepared.size = status.st_size
            if self._needs_probe(unit.path, status):
                prepared.probe = probing.probe_media_file(unit.path)
                self.extra["probed"] += 1
        self._step(self._label(prepared))
        return prepared

    def _library_kinds(self, prepared: _Prepared) -> set[str]:
        if prepared.unit.short_form_kind is not None:
            return {LibraryKind.OTHER}
        return {LibraryKind.MOVIE if item.kind == "movie" else LibraryKind.SHOW for item in prepared.items}

    def _label(self, prepared: _Prepared) -> str:
        unit = prepared.unit
        stem = _name_stem(unit)
        if unit.short_form_kind is not None:
            return f"{ContentKind(unit.short_form_kind).label}: {clean_title(stem)}"
        item = prepared.items[0] if prepared.items else None
        if item is None:
            return unit.relative
        if item.kind == "movie":
            return f"{item.title or clean_title(stem)}" + (f" ({item.year})" if item.year else "")
        show_dir = self._show_dir_above(os.path.dirname(unit.path))
        show = self.shows.get(rating_key_for(self._relative(show_dir))) if show_dir else None
        code = _episode_code(item.season, item.episode)
        return f"{show.title if show else item.show_title or '?'} / {code} {item.title or clean_title(stem)}".strip()

    def _needs_probe(self, path: str, status: os.stat_result) -> bool:
        known = self.files_by_path.get(path)
        if not known or self.deep:
            return True
        media_file = known[0]
        return (
            media_file.probed_at is None
            or media_file.size_bytes != status.st_size
            or status.st_mtime > media_file.probed_at.timestamp()
        )

    def _save_prepared(self, prepared: _Prepared) -> None:
        unit = prepared.unit
        self.counts["processed"] += 1
        if unit.short_form_kind is None and unit.nfo_path is None:
            self.counts["skipped"] += 1
            self._keep(unit.path)
            self._problem(unit.path, "no .nfo beside it (same name, or movie.nfo); not imported")
            return
        if unit.short_form_kind is None and prepared.nfo_error:
            self._failed(unit.nfo_path, prepared.nfo_error)
            self._keep(unit.path)
            return
        if prepared.disc_error:
            self._failed(unit.path, f"{prepared.disc_error}; not imported")
            self._keep(unit.path)
            return
        save = self._save_short_form if unit.short_form_kind is not None else self._save_nfo_items
        self._in_savepoint(lambda: save(prepared), unit.path)
