"""Listing a folder source and planning its scan: which videos to import, with which .nfo (TMM) or
short-form kind, which .nfo files have no video, and which folders are shows.

Part of `_FolderScan` (catalog.folders.scan), as the `TreeListing` mixin. A folder that cannot be
listed makes the listing incomplete, so the scan marks nothing removed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from catalog.artwork import local as local_artwork
from catalog.choices import ContentKind
from catalog.folders.discs import DISC_NFO_NAMES, DiscTitle, disc_kind
from catalog.folders.names import (
    MOVIE_NFO,
    SEASON_NFO,
    SHOW_NFO,
    VIDEO_EXTENSIONS,
    _ignored_folder,
    _is_extra,
    _is_within,
    _listdir,
    short_form_kind_for,
)
from catalog.folders.nfo import NfoItem
from catalog.media import probe as probing
from retrovue.core.media_roots import inside_media_roots, require_inside_media_roots


@dataclass
class _VideoUnit:
    """One video file to import, with the .nfo that describes it (TMM) or its short-form kind."""

    path: str
    relative: str
    nfo_path: str | None = None
    short_form_kind: str | None = None
    unknown_folder: bool = False
    disc: str | None = None  # a VIDEO_TS or BDMV folder (catalog.folders.discs): `path` is the folder


@dataclass
class _Prepared:
    """A video unit after the slow, read-only work: its .nfo read and (if it changed) probed."""

    unit: _VideoUnit
    size: int | None = None
    probe: probing.ProbeResult | None = None
    items: list[NfoItem] = field(default_factory=list)
    nfo_error: str = ""
    disc_title: DiscTitle | None = None  # probed this scan (None for an unchanged disc)
    disc_fingerprint: str = ""
    disc_error: str = ""


@dataclass
class _Listing:
    """What the walk found: per folder, its video files and its .nfo files (by lower-case name)."""

    videos: dict[str, list[str]] = field(default_factory=dict)
    nfos: dict[str, dict[str, str]] = field(default_factory=dict)
    discs: dict[str, tuple[str, dict[str, str]]] = field(
        default_factory=dict
    )  # folder → kind, its .nfo files
    complete: bool = True


class TreeListing:
    """The walk and the plan of a `_FolderScan`."""

    def _scopes(self) -> list[str] | None:
        # The folder must lie inside the operator's media roots (never /proc, /etc, the data
        # folder), and so must everything the walk reaches through symbolic links.
        self._real_root = require_inside_media_roots(self.root, "The source folder")
        if self.requested_paths is None:
            return None
        scopes = []
        for raw in self.requested_paths:
            candidate = os.path.normpath(os.path.join(self.root, os.path.expanduser(str(raw))))
            if not _is_within(candidate, self.root):
                raise ValueError(f"{raw} is not inside the source folder {self.root}")
            scopes.append(self._disc_around(candidate))
        # A folder inside another chosen folder adds nothing.
        return sorted(
            {
                scope
                for scope in scopes
                if not any(other != scope and _is_within(scope, other) for other in scopes)
            }
        )

    def _disc_around(self, path: str) -> str:
        """A path inside a disc folder stands for the whole disc (one item)."""
        directory = path
        while directory != self.root and _is_within(directory, self.root):
            if disc_kind(os.path.basename(directory)) is not None:
                return directory
            directory = os.path.dirname(directory)
        return path

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
            kind = disc_kind(os.path.basename(directory))
            if kind is not None and directory != self.root:
                # One item: its files are the disc's, not videos of their own.
                dirnames[:] = []
                nfos = {name.lower(): name for name in filenames if name.lower().endswith(".nfo")}
                listing.discs[directory] = (kind, nfos)
                continue
            dirnames[:] = (
                sorted(
                    name
                    for name in dirnames
                    if not _ignored_folder(name) and self._stays_inside(os.path.join(directory, name))
                )
                if self.recursive
                else []
            )
            filenames = [name for name in filenames if self._stays_inside(os.path.join(directory, name))]
            self._record_files(listing, directory, filenames)
            self._images[directory] = local_artwork.image_names(filenames)

    def _stays_inside(self, path: str) -> bool:
        """Whether `path`, symbolic links resolved, is still inside the source folder (a link out
        of it, to /etc or the data folder, is skipped as if it were not there); a link into another
        media root is followed."""
        real = os.path.realpath(path)
        return _is_within(real, self._real_root) or inside_media_roots(real)

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
        names = [other for other in names if other.lower() in wanted]
        self._record_files(
            listing, directory, [n for n in names if self._stays_inside(os.path.join(directory, n))]
        )

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

    def _plan(self, listing: _Listing, scopes: list[str] | None):
        units: list[_VideoUnit] = []
        orphan_nfos: list[str] = []
        show_dirs: set[str] = set()
        claimed: dict[str, set[str]] = {}  # .nfo files beside a disc folder that describe it
        for disc_dir, (kind, disc_nfos) in sorted(listing.discs.items()):
            unit = _VideoUnit(path=disc_dir, relative=self._relative(disc_dir), disc=kind)
            # A disc in a short-form folder (or any disc in a plain folder source) is one clip.
            unit.short_form_kind = short_form_kind_for(
                self._relative(os.path.dirname(disc_dir)), self.root_name
            )
            if unit.short_form_kind is None and not self.read_nfo_items:
                unit.short_form_kind = ContentKind.FILLER
                unit.unknown_folder = True
            inside = disc_nfos.get(DISC_NFO_NAMES[kind])
            if inside is not None:
                unit.nfo_path = os.path.join(disc_dir, inside)
            else:
                parent = os.path.dirname(disc_dir)
                beside = listing.nfos.get(parent, {})
                for lower in (MOVIE_NFO, f"{os.path.basename(parent).lower()}.nfo", DISC_NFO_NAMES[kind]):
                    if lower in beside:
                        unit.nfo_path = os.path.join(parent, beside[lower])
                        claimed.setdefault(parent, set()).add(lower)
                        break
            units.append(unit)
        for directory in sorted(listing.videos):
            videos = listing.videos[directory]
            nfos = listing.nfos.get(directory, {})
            relative_dir = self._relative(directory)
            kind = short_form_kind_for(relative_dir, self.root_name)
            if self.read_nfo_items and kind is None and SHOW_NFO in nfos:
                show_dirs.add(directory)
            used = {SHOW_NFO, SEASON_NFO, *claimed.get(directory, ())}
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
