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
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePath

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from catalog.artwork import local as local_artwork
from catalog.choices import (
    ChapterOrigin,
    ContentKind,
    FileState,
    ItemState,
    LibraryKind,
    SourceKind,
    SyncKind,
    SyncStatus,
)
from catalog.folders.nfo import NfoError, NfoItem, parse_nfo
from catalog.identity import owner_fields, replace_external_ids
from catalog.media import probe as probing
from catalog.media.streams import store_probed_tracks
from catalog.models import (
    ChapterMark,
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
    sort_title_for,
)
from catalog.plex.parse import RemoteCredit, RemoteTags
from catalog.sync.tags import TagWriter

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset(
    {
        ".3gp",
        ".avi",
        ".divx",
        ".flv",
        ".m2ts",
        ".m4v",
        ".mkv",
        ".mov",
        ".mp4",
        ".mpeg",
        ".mpg",
        ".mts",
        ".ogv",
        ".ts",
        ".vob",
        ".webm",
        ".wmv",
    }
)
SHORT_FORM_FOLDERS = {
    "commercial": ContentKind.COMMERCIAL,
    "commercials": ContentKind.COMMERCIAL,
    "ads": ContentKind.COMMERCIAL,
    "adverts": ContentKind.COMMERCIAL,
    "advertisements": ContentKind.COMMERCIAL,
    "bumper": ContentKind.BUMPER,
    "bumpers": ContentKind.BUMPER,
    "promo": ContentKind.PROMO,
    "promos": ContentKind.PROMO,
    "station_id": ContentKind.STATION_ID,
    "station_ids": ContentKind.STATION_ID,
    "ids": ContentKind.STATION_ID,
    "idents": ContentKind.STATION_ID,
    "intro": ContentKind.INTRO,
    "intros": ContentKind.INTRO,
    "outro": ContentKind.OUTRO,
    "outros": ContentKind.OUTRO,
    "interstitial": ContentKind.INTERSTITIAL,
    "interstitials": ContentKind.INTERSTITIAL,
    "filler": ContentKind.FILLER,
    "fillers": ContentKind.FILLER,
}
# NAS housekeeping folders, never media.
IGNORED_FOLDERS = frozenset({"@eadir", "#recycle", "$recycle.bin", "lost+found", "#snapshot", ".snapshot"})
# Kodi/Plex "local extras" beside a movie or show; TMM writes no .nfo for them.
EXTRAS_FOLDERS = frozenset(
    {
        "extras",
        "trailers",
        "featurettes",
        "behind the scenes",
        "deleted scenes",
        "interviews",
        "sample",
        "samples",
    }
)
EXTRAS_SUFFIXES = ("-trailer", "-sample", "-featurette", "-behindthescenes", "-deleted", "-interview")
SHOW_NFO = "tvshow.nfo"
SEASON_NFO = "season.nfo"
MOVIE_NFO = "movie.nfo"

BATCH_SIZE = 50
PROGRESS_INTERVAL_SECONDS = 0.25
RATING_KEY_LENGTH = 200
REPORT_MAX_LINES = 200
REPORT_MAX_CHARS = 20_000
SUMMARY_MAX_PROBLEMS = 1_000

_EPISODE_IN_NAME = re.compile(r"[Ss](\d{1,3})[ ._-]?[Ee](\d{1,4})|\b(\d{1,2})x(\d{2,3})\b")
_YEAR_IN_NAME = re.compile(r"[\(\[]((?:19|20)\d{2})[\)\]]")
_BRACKETED = re.compile(r"\[[^\]]*\]|\{[^}]*\}")
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


def clean_title(stem: str) -> str:
    """A readable title from a file name: "Coca.Cola_Hilltop [480p] (1971)" → "Coca Cola Hilltop"."""
    title = _YEAR_IN_NAME.sub(" ", stem)
    title = _BRACKETED.sub(" ", title)
    if " " not in title.strip():
        title = title.replace(".", " ")
    title = re.sub(r"\s+", " ", title.replace("_", " ")).strip(" -.")
    return title or stem


def short_form_kind_for(relative_dir: str, root_name: str = "") -> str | None:
    """The short-form kind a folder's name gives its clips; the nearest named folder wins."""
    parts = [part for part in PurePath(relative_dir).parts if part not in ("", ".")]
    for name in [*reversed(parts), root_name]:
        kind = SHORT_FORM_FOLDERS.get(re.sub(r"[\s\-]+", "_", name.strip().lower()))
        if kind is not None:
            return kind
    return None


def rating_key_for(relative_path: str) -> str:
    """The relative path, shortened with a stable hash when it would not fit the column."""
    if len(relative_path) <= RATING_KEY_LENGTH:
        return relative_path
    digest = hashlib.sha1(relative_path.encode("utf-8"), usedforsecurity=False).hexdigest()[:20]
    return f"{relative_path[: RATING_KEY_LENGTH - 22]}~{digest}"


@dataclass
class _VideoUnit:
    """One video file to import, with the .nfo that describes it (TMM) or its short-form kind."""

    path: str
    relative: str
    nfo_path: str | None = None
    short_form_kind: str | None = None
    unknown_folder: bool = False


@dataclass
class _Prepared:
    """A video unit after the slow, read-only work: its .nfo read and (if it changed) probed."""

    unit: _VideoUnit
    size: int | None = None
    probe: probing.ProbeResult | None = None
    items: list[NfoItem] = field(default_factory=list)
    nfo_error: str = ""


@dataclass
class _Listing:
    """What the walk found: per folder, its video files and its .nfo files (by lower-case name)."""

    videos: dict[str, list[str]] = field(default_factory=dict)
    nfos: dict[str, dict[str, str]] = field(default_factory=dict)
    complete: bool = True


class _Cancelled(Exception):
    """Staff cancelled the sync run while it was going."""


class _ItemProblem(Exception):
    """One file cannot become catalog rows; the message is for the per-file report."""

    def __init__(self, message: str, path: str | None = None):
        super().__init__(message)
        self.path = path


class _FolderScan:
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

    # ----------------------------------------------------------------------------------- driver

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
        if complete and scopes is None and not any(listing.videos.values()) and self._has_active_items():
            # An empty mount point looks exactly like a library whose every file was deleted.
            complete = False
            self._problem(
                self.root,
                "no video files at all, though the catalog has some; nothing was marked removed "
                "(is the disk mounted?)",
            )
        if complete:
            self._mark_removed(scopes)
        self.progress_label = "Cancelled" if cancelled else ("Done" if complete else "Done (incomplete)")
        self._flush(force=True, final=True)
        return self._summary(complete=complete, cancelled=cancelled)

    def _has_active_items(self) -> bool:
        return any(item.state == ItemState.ACTIVE for item in self.items.values())

    def _summary(self, *, complete: bool, cancelled: bool) -> dict:
        problems = self.problems[:SUMMARY_MAX_PROBLEMS]
        if len(self.problems) > SUMMARY_MAX_PROBLEMS:
            problems.append(f"… and {len(self.problems) - SUMMARY_MAX_PROBLEMS} more")
        return {**self.counts, **self.extra, "complete": complete, "cancelled": cancelled, "errors": problems}

    # ------------------------------------------------------------------------------ the listing

    def _scopes(self) -> list[str] | None:
        if self.requested_paths is None:
            return None
        scopes = []
        for raw in self.requested_paths:
            candidate = os.path.normpath(os.path.join(self.root, os.path.expanduser(str(raw))))
            if not _is_within(candidate, self.root):
                raise ValueError(f"{raw} is not inside the source folder {self.root}")
            scopes.append(candidate)
        # A folder inside another chosen folder adds nothing.
        return sorted(
            {
                scope
                for scope in scopes
                if not any(other != scope and _is_within(scope, other) for other in scopes)
            }
        )

    def _list(self, scopes: list[str] | None) -> _Listing:
        listing = _Listing()
        visited: set[tuple[int, int]] = set()
        for top in scopes if scopes is not None else [self.root]:
            if os.path.isfile(top):
                self._list_single_file(listing, top)
            elif os.path.isdir(top):
                self._walk_into(listing, top, visited)
            # A chosen folder that is gone was listed completely: it holds nothing any more.
        return listing

    def _walk_into(self, listing: _Listing, top: str, visited: set[tuple[int, int]]) -> None:
        def unreadable(error: OSError) -> None:
            listing.complete = False
            self._problem(error.filename or top, f"cannot list this folder ({error.strerror or error})")

        for directory, dirnames, filenames in os.walk(top, onerror=unreadable, followlinks=True):
            try:
                status = os.stat(directory)
            except OSError as error:
                unreadable(error)
                dirnames[:] = []
                continue
            if (status.st_dev, status.st_ino) in visited:  # a symlink loop
                dirnames[:] = []
                continue
            visited.add((status.st_dev, status.st_ino))
            dirnames[:] = (
                sorted(name for name in dirnames if not _ignored_folder(name)) if self.recursive else []
            )
            self._record_files(listing, directory, filenames)
            self._images[directory] = local_artwork.image_names(filenames)

    def _list_single_file(self, listing: _Listing, path: str) -> None:
        directory, name = os.path.split(path)
        stem = os.path.splitext(name)[0].lower()
        try:
            names = os.listdir(directory)
        except OSError as error:
            listing.complete = False
            self._problem(directory, f"cannot list this folder ({error.strerror or error})")
            return
        wanted = {name.lower(), f"{stem}.nfo", MOVIE_NFO, SHOW_NFO}
        self._record_files(listing, directory, [other for other in names if other.lower() in wanted])

    def _record_files(self, listing: _Listing, directory: str, filenames: Iterable[str]) -> None:
        videos, nfos = [], {}
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            extension = os.path.splitext(name)[1].lower()
            if extension in VIDEO_EXTENSIONS:
                videos.append(name)
            elif extension == ".nfo":
                nfos[name.lower()] = name
        listing.videos[directory] = videos
        listing.nfos[directory] = nfos

    # ----------------------------------------------------------------------------- the catalog

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
        for media_file in MediaFile.objects.filter(playable__source=source, position=0):
            self.files[media_file.playable_id] = media_file
            if media_file.local_path:
                self.files_by_path.setdefault(media_file.local_path, []).append(media_file)
        self.external_ids: dict[tuple[str, int], set[tuple[str, str]]] = {}
        for row in ExternalId.objects.filter(source=source).values(
            "show_id", "playable_id", "provider", "value"
        ):
            owner = ("show", row["show_id"]) if row["show_id"] else ("playable", row["playable_id"])
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

    # -------------------------------------------------------------------------------- planning

    def _plan(self, listing: _Listing, scopes: list[str] | None):
        units: list[_VideoUnit] = []
        orphan_nfos: list[str] = []
        show_dirs: set[str] = set()
        for directory in sorted(listing.videos):
            videos = listing.videos[directory]
            nfos = listing.nfos.get(directory, {})
            relative_dir = self._relative(directory)
            kind = short_form_kind_for(relative_dir, self.root_name)
            if self.read_nfo_items and kind is None and SHOW_NFO in nfos:
                show_dirs.add(directory)
            used = {SHOW_NFO, SEASON_NFO}
            features = [name for name in videos if not _is_extra("", os.path.splitext(name)[0])]
            for name in videos:
                stem = os.path.splitext(name)[0]
                path = os.path.join(directory, name)
                unit = _VideoUnit(path=path, relative=self._relative(path), short_form_kind=kind)
                nfo_name = nfos.get(f"{stem.lower()}.nfo") or (
                    nfos.get(MOVIE_NFO) if features == [name] else None
                )
                if nfo_name is not None:
                    unit.nfo_path = os.path.join(directory, nfo_name)
                    used.add(nfo_name.lower())
                if kind is None and not self.read_nfo_items:
                    unit.short_form_kind = ContentKind.FILLER
                    unit.unknown_folder = True
                if (
                    self.read_nfo_items
                    and kind is None
                    and unit.nfo_path is None
                    and _is_extra(relative_dir, stem)
                ):
                    continue
                units.append(unit)
            if self.read_nfo_items and kind is None and not _is_extra(relative_dir, ""):
                orphan_nfos.extend(
                    os.path.join(directory, name) for lower, name in nfos.items() if lower not in used
                )
        if self.read_nfo_items:
            # A chosen folder inside a show still needs the show, whose tvshow.nfo is above it.
            for scope in scopes or []:
                show_dir = self._show_dir_above(scope)
                if show_dir is not None:
                    show_dirs.add(show_dir)
        return units, sorted(orphan_nfos), sorted(show_dirs)

    def _show_dir_above(self, path: str) -> str | None:
        """The nearest folder at or above `path` (within the source) that holds a tvshow.nfo."""
        start = path if os.path.isdir(path) else os.path.dirname(path)
        if start not in self._show_dirs:
            found = None
            directory = start
            while _is_within(directory, self.root):
                if any(name.lower() == SHOW_NFO for name in _listdir(directory)):
                    found = directory
                    break
                if directory == self.root:
                    break
                directory = os.path.dirname(directory)
            self._show_dirs[start] = found
        return self._show_dirs[start]

    def _relative(self, path: str) -> str:
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    # ----------------------------------------------------------------------------------- shows

    def _import_shows(self, show_dirs: list[str]) -> None:
        self._library(LibraryKind.SHOW)
        read = []
        for directory in show_dirs:
            item = self._read_show_nfo(directory)
            read.append((directory, item))
            self._step(item.title if item and item.title else self._relative(directory))
        with transaction.atomic():
            for directory, item in read:
                self.show_items[directory] = item
                self.counts["processed"] += 1
                self._in_savepoint(
                    lambda directory=directory, item=item: self._save_show(directory, item), directory
                )
        self._flush()

    def _read_show_nfo(self, directory: str) -> NfoItem | None:
        name = next((name for name in _listdir(directory) if name.lower() == SHOW_NFO), SHOW_NFO)
        path = os.path.join(directory, name)
        try:
            document = parse_nfo(path)
        except NfoError as error:
            self._problem(path, f"{error}; the show is named after its folder")
            return None
        item = next((item for item in document.items if item.kind == "tvshow"), None)
        if item is None:
            self._problem(path, "holds no <tvshow>; the show is named after its folder")
            return None
        for warning in item.warnings:
            self._problem(path, warning)
        return item

    def _save_show(self, directory: str, item: NfoItem | None) -> None:
        folder_name = os.path.basename(directory.rstrip(os.sep)) or self.source.name
        year_in_name = _YEAR_IN_NAME.search(folder_name)
        title = ((item.title if item else "") or clean_title(folder_name))[:300]
        from_nfo = {
            "title": title,
            "year": (item.year if item else None) or (int(year_in_name.group(1)) if year_in_name else None),
            "sort_title": ((item.sort_title if item else "") or sort_title_for(title))[:300],
            "summary": item.plot if item else "",
            "content_rating": item.content_rating if item else "",
            "studio": (item.studio if item else "")[:200],
            "genres": item.genres if item else [],
            "network_id": self.tag_writer.studio_pk(item.studio) if item else None,
            "primary_guid": item.primary_guid if item else "",
        }
        desired = {
            "library_id": self._library(LibraryKind.SHOW).id,
            "state": ItemState.ACTIVE,
            "artwork_ref": self._artwork_ref(directory, local_artwork.show_candidates()),
        }
        if item is not None:
            desired.update(from_nfo)
        # An unreadable tvshow.nfo keeps what an earlier, readable one said; a new show gets its folder's name.
        key = rating_key_for(self._relative(directory))
        show, outcome = _upsert(
            Show, self.shows.get(key), desired, create={"source": self.source, "rating_key": key, **from_nfo}
        )
        self._cache(self.shows, key, show)
        self.seen_show_keys.add(key)
        nfo_path = os.path.join(directory, SHOW_NFO)
        ids_changed = item is not None and self._replace_ids(show, item.ids, nfo_path)
        tags_changed = item is not None and self.tag_writer.replace_if_changed(
            "show", show.pk, _tags_of(item)
        )
        if (ids_changed or tags_changed) and outcome == "unchanged":
            outcome = "updated"
            Show.objects.filter(pk=show.pk).update(updated_at=timezone.now())
        if outcome != "unchanged":
            self.extra[f"shows_{outcome}"] += 1
        self._count(outcome)

    # ----------------------------------------------------------------------------------- items

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
        stem = os.path.splitext(os.path.basename(unit.path))[0]
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
        save = self._save_short_form if unit.short_form_kind is not None else self._save_nfo_items
        self._in_savepoint(lambda: save(prepared), unit.path)

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

    def _save_nfo_items(self, prepared: _Prepared) -> None:
        unit = prepared.unit
        items = [item for item in prepared.items if item.kind in ("movie", "episodedetails")]
        if not items:
            raise _ItemProblem("holds a <tvshow>, not a <movie> or <episodedetails>", unit.nfo_path)
        if len({item.kind for item in items}) > 1:
            raise _ItemProblem("mixes <movie> and <episodedetails>", unit.nfo_path)
        for warning in dict.fromkeys(warning for item in items for warning in item.warnings):
            self._problem(unit.nfo_path, warning)
        for index, item in enumerate(items):
            # Several episodes in one file (a double episode) share the video: #2, #3 tell them apart.
            key = rating_key_for(unit.relative if index == 0 else f"{unit.relative}#{index + 1}")
            if item.kind == "movie":
                self._save_movie(prepared, key, item)
            else:
                self._save_episode(prepared, key, item, index)

    def _save_movie(self, prepared: _Prepared, key: str, item: NfoItem) -> None:
        title = (item.title or clean_title(_stem(prepared.unit.path)))[:300]
        desired = {
            "title": title,
            "sort_title": (item.sort_title or sort_title_for(title))[:300],
            "year": item.year,
            "summary": item.plot,
            "content_rating": item.content_rating,
            "studio": item.studio[:200],
            "genres": item.genres,
            "production_studio_id": self.tag_writer.studio_pk(item.studio),
            "audience_rating": item.rating,
            "originally_released": item.premiered,
            "primary_guid": item.primary_guid,
            "library_id": self._library(LibraryKind.MOVIE).id,
            "artwork_ref": self._artwork_ref(
                os.path.dirname(prepared.unit.path), local_artwork.movie_candidates(_stem(prepared.unit.path))
            ),
            **self._duration(prepared, item),
            **item.scheduling,
        }
        self._save_item(prepared, Movie, key, desired, ids=item.ids, tags=_tags_of(item))

    def _save_episode(self, prepared: _Prepared, key: str, item: NfoItem, index: int) -> None:
        unit = prepared.unit
        show_dir = self._show_dir_above(os.path.dirname(unit.path))
        show = self.shows.get(rating_key_for(self._relative(show_dir))) if show_dir else None
        if show is None:
            reason = (
                "no tvshow.nfo in its folder or above it"
                if show_dir is None
                else "its show could not be saved"
            )
            raise _ItemProblem(f"an episode, but {reason}", unit.nfo_path)
        season_number, episode_number = item.season, item.episode
        if index == 0 and (season_number is None or episode_number is None):
            guessed = _episode_numbers_in(os.path.basename(unit.path))
            if guessed is not None:
                season_number = guessed[0] if season_number is None else season_number
                episode_number = guessed[1] if episode_number is None else episode_number
        if season_number is None:
            self._problem(unit.nfo_path, "no <season>; filed under specials (season 0)")
            season_number = 0
        season = self._season(show, season_number)
        self._season_artwork(season, show_dir)
        show_item = self.show_items.get(show_dir)
        title = (item.title or clean_title(_stem(unit.path)))[:300]
        desired = {
            "title": title,
            "summary": item.plot,
            "content_rating": item.content_rating or show.content_rating,
            "show_id": show.id,
            "season_id": season.id,
            "season_number": season_number,
            "episode_number": episode_number,
            "audience_rating": item.rating,
            "originally_aired": item.premiered,
            "primary_guid": item.primary_guid,
            "library_id": self._library(LibraryKind.SHOW).id,
            "artwork_ref": self._artwork_ref(
                os.path.dirname(unit.path), local_artwork.episode_candidates(_stem(unit.path))
            ),
            **self._duration(prepared, item),
            # The show's scheduling metadata is every episode's default.
            **(show_item.scheduling if show_item else {}),
            **item.scheduling,
        }
        self._save_item(prepared, Episode, key, desired, ids=item.ids, tags=_tags_of(item))

    def _save_short_form(self, prepared: _Prepared) -> None:
        unit = prepared.unit
        stem = _stem(unit.path)
        folder = os.path.dirname(unit.path)
        if unit.unknown_folder and folder not in self._reported_folders:
            self._reported_folders.add(folder)
            self._problem(
                folder,
                "the folder name does not say what its clips are (commercials, bumpers, promos, station_ids, "
                "intros, outros, interstitials, filler); imported as filler",
            )
        sidecar = self._sidecar(prepared)
        year_in_name = _YEAR_IN_NAME.search(stem)
        title = ((sidecar.title if sidecar else "") or clean_title(stem))[:300]
        year = (sidecar.year if sidecar else None) or (int(year_in_name.group(1)) if year_in_name else None)
        desired = {"library_id": self._library(LibraryKind.OTHER).id, **self._duration(prepared, None)}
        if sidecar is not None:
            # An .nfo is the clip's metadata; without one, what staff typed in the admin stands.
            desired.update(title=title, year=year, summary=sidecar.plot, **sidecar.scheduling)
            if sidecar.content_rating:
                desired["content_rating"] = sidecar.content_rating
        create = {"kind": unit.short_form_kind, "title": title, "year": year}
        key = rating_key_for(unit.relative)
        self._save_item(
            prepared, ShortFormItem, key, desired, ids=sidecar.ids if sidecar else None, create=create
        )

    def _sidecar(self, prepared: _Prepared) -> NfoItem | None:
        unit = prepared.unit
        if not unit.nfo_path:
            return None
        if prepared.nfo_error:
            self._problem(unit.nfo_path, f"{prepared.nfo_error}; clip imported without it")
            return None
        item = prepared.items[0] if prepared.items else None
        for warning in item.warnings if item else []:
            self._problem(unit.nfo_path, warning)
        return item

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
        desired = {"local_path": unit.path, "plex_path": "", "part_key": ""}
        if prepared.probe is not None:
            probed = MediaFile()
            probing.apply_probe(probed, prepared.probe)
            if prepared.probe.error:
                self._problem(unit.path, prepared.probe.error)
        else:
            # Unchanged since its last probe (which may have been for another item of the same file).
            probed = self.files_by_path[unit.path][0]
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

    def _season(self, show: Show, number: int) -> Season:
        season = self.seasons.get((show.id, number))
        if season is None:
            season, _ = Season.objects.get_or_create(
                show=show,
                season_number=number,
                defaults={"title": "Specials" if number == 0 else f"Season {number}"},
            )
            self._cache(self.seasons, (show.id, number), season)
        elif season.state != ItemState.ACTIVE:
            season.state = ItemState.ACTIVE
            season.save(update_fields=["state"])
        return season

    def _artwork_ref(self, directory: str, candidates: list[str]) -> str:
        """The reference of the first Kodi/TMM-named image in `directory`, or "" (no artwork)."""
        if directory not in self._images:
            self._images[directory] = local_artwork.image_names(_listdir(directory))
        name = local_artwork.find_image(self._images[directory], candidates)
        return local_artwork.reference_for(self.root, os.path.join(directory, name)) if name else ""

    def _season_artwork(self, season: Season, show_dir: str) -> None:
        reference = self._artwork_ref(show_dir, local_artwork.season_candidates(season.season_number))
        if season.artwork_ref != reference:
            season.artwork_ref = reference
            season.save(update_fields=["artwork_ref"])

    def _replace_ids(self, owner, ids: list[tuple[str, str]], path: str | None) -> bool:
        owner_key = ("show", owner.pk) if isinstance(owner, Show) else ("playable", owner.pk)
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

    # ---------------------------------------------------------------------- .nfo without video

    def _import_orphan_nfos(self, paths: list[str]) -> None:
        """An .nfo whose video is gone keeps its item, with the file marked not found."""
        if not paths:
            return
        by_stem: dict[tuple[str, str], list[Playable]] = {}
        for item in self.items.values():
            media_file = self.files.get(item.pk)
            if media_file is None or not media_file.local_path:
                continue
            directory, name = os.path.split(media_file.local_path)
            by_stem.setdefault((directory, os.path.splitext(name)[0].lower()), []).append(item)
            if item.kind == ContentKind.MOVIE:
                by_stem.setdefault((directory, "movie"), []).append(item)
        for path in paths:
            self._step(self._relative(path))
            self.counts["processed"] += 1
            directory, name = os.path.split(path)
            known = by_stem.get((directory, os.path.splitext(name)[0].lower()), [])
            if not known:
                self.counts["skipped"] += 1
                self._problem(path, "no video file beside it (same name, a video extension); not imported")
                continue
            for item in known:
                self.seen_keys.add(item.rating_key)
                media_file = self.files[item.pk]
                if os.path.exists(media_file.local_path):
                    continue
                self._problem(path, f"its video {os.path.basename(media_file.local_path)} is missing")
                if media_file.state == FileState.FILE_NOT_FOUND:
                    self._count("unchanged")
                    continue
                media_file.state = FileState.FILE_NOT_FOUND
                media_file.save(update_fields=["state"])
                self._count("updated")
        self._flush()

    # -------------------------------------------------------------------------------- removals

    def _mark_removed(self, scopes: list[str] | None) -> None:
        """Mark what this complete scan no longer found; a `paths` scan looks only inside its paths."""
        gone = []
        for key, item in self.items.items():
            if key in self.seen_keys or item.state == ItemState.REMOVED:
                continue
            media_file = self.files.get(item.pk)
            local_path = media_file.local_path if media_file else ""
            if local_path in self.kept_paths:
                continue
            if scopes is not None and not (
                local_path and any(_is_within(local_path, scope) for scope in scopes)
            ):
                continue
            gone.append(item)
        with transaction.atomic():
            if gone:
                Playable.objects.filter(pk__in=[item.pk for item in gone]).update(
                    state=ItemState.REMOVED, updated_at=timezone.now()
                )
                # A file dropped by a narrower scan (subfolders switched off) still exists.
                missing = [
                    media_file.pk
                    for item in gone
                    if (media_file := self.files.get(item.pk)) is not None
                    and not os.path.exists(media_file.local_path or "")
                ]
                MediaFile.objects.filter(pk__in=missing).update(state=FileState.FILE_NOT_FOUND)
                self.counts["removed"] += len(gone)
            self._mark_shows_removed(scopes)
            active_episodes = Episode.objects.filter(season=OuterRef("pk"), state=ItemState.ACTIVE)
            seasons = Season.objects.filter(show__source=self.source)
            seasons.filter(~Exists(active_episodes), state=ItemState.ACTIVE).update(state=ItemState.REMOVED)
            seasons.filter(Exists(active_episodes), state=ItemState.REMOVED).update(state=ItemState.ACTIVE)

    def _mark_shows_removed(self, scopes: list[str] | None) -> None:
        gone = []
        for key, show in self.shows.items():
            if key in self.seen_show_keys or show.state == ItemState.REMOVED:
                continue
            show_dir = os.path.normpath(os.path.join(self.root, key))
            if scopes is not None and not any(_is_within(show_dir, scope) for scope in scopes):
                continue
            gone.append(show.pk)
        if not gone:
            return
        airing = Episode.objects.filter(show=OuterRef("pk"), state=ItemState.ACTIVE)
        removed = (
            Show.objects.filter(pk__in=gone)
            .filter(~Exists(airing))
            .update(state=ItemState.REMOVED, updated_at=timezone.now())
        )
        self.extra["shows_removed"] += removed
        self.counts["removed"] += removed

    # ------------------------------------------------------------------------ progress, report

    def _count(self, outcome: str) -> None:
        self.counts[{"added": "added", "updated": "updated", "unchanged": "skipped"}[outcome]] += 1

    def _keep(self, path: str | None) -> None:
        """A file with a problem: its existing rows stay as they are, never marked removed."""
        if not path:
            return
        self.kept_paths.add(path)
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


def _tags_of(item: NfoItem) -> RemoteTags:
    return RemoteTags(
        genres=item.genres,
        credits=[RemoteCredit(role, name, character, thumb) for role, name, character, thumb in item.credits],
        network=item.studio,
    )


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


def _is_within(path: str, folder: str) -> bool:
    path, folder = os.path.normpath(path), os.path.normpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _ignored_folder(name: str) -> bool:
    return name.startswith(".") or name.lower() in IGNORED_FOLDERS


def _is_extra(relative_dir: str, stem: str) -> bool:
    parts = {part.lower() for part in PurePath(relative_dir).parts}
    return bool(parts & EXTRAS_FOLDERS) or stem.lower().endswith(EXTRAS_SUFFIXES)


def _episode_numbers_in(name: str) -> tuple[int, int] | None:
    match = _EPISODE_IN_NAME.search(name)
    if not match:
        return None
    if match.group(1):
        return int(match.group(1)), int(match.group(2))
    return int(match.group(3)), int(match.group(4))


def _episode_code(season: int | None, episode: int | None) -> str:
    if season is None:
        return ""
    return f"S{season:02d}" + (f"E{episode:02d}" if episode is not None else "")


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _listdir(directory: str) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []
