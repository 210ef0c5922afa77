"""From what a TMM tree's .nfo files say to catalog rows: shows (tvshow.nfo), seasons, movies,
episodes (several in one file share its video), short-form clips with an optional sidecar .nfo,
and .nfo files whose video is gone. Unreadable or odd .nfo content becomes a per-file problem.

Part of `_FolderScan` (catalog.folders.scan), as the `NfoRows` mixin; the row writes themselves
are in catalog.folders.writes.
"""

from __future__ import annotations

import os
from dataclasses import replace

from django.db import transaction
from django.utils import timezone

from catalog.artwork import local as local_artwork
from catalog.choices import ContentKind, FileState, ItemState, LibraryKind
from catalog.folders.listing import _Prepared
from catalog.folders.names import (
    _YEAR_IN_NAME,
    GENERIC_STEMS,
    SEASON_NFO,
    SHOW_NFO,
    _listdir,
    _stem,
    clean_title,
    episode_range_in,
    rating_key_for,
)
from catalog.folders.nfo import NfoError, NfoItem, parse_nfo
from catalog.folders.writes import _ItemProblem, _upsert
from catalog.models import Episode, Movie, Playable, Season, ShortFormItem, Show, sort_title_for
from catalog.plex.parse import RemoteCredit, RemoteTags


class NfoRows:
    """The .nfo → rows steps of a `_FolderScan`."""

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
        item = next((item for item in document.items if item.kind == "tvshow" or item.url_only), None)
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
            "tags": item.tags if item else [],
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

    def _save_nfo_items(self, prepared: _Prepared) -> None:
        unit = prepared.unit
        items = [self._url_only_item(unit, item) if item.url_only else item for item in prepared.items]
        items = [item for item in items if item.kind in ("movie", "episodedetails")]
        if not items:
            raise _ItemProblem("holds a <tvshow>, not a <movie> or <episodedetails>", unit.nfo_path)
        if len({item.kind for item in items}) > 1:
            raise _ItemProblem("mixes <movie> and <episodedetails>", unit.nfo_path)
        for warning in dict.fromkeys(warning for item in items for warning in item.warnings):
            self._problem(unit.nfo_path, warning)
        if items[0].kind == "episodedetails":
            items = self._episodes_the_name_gives(unit, items)
        for index, item in enumerate(items):
            # Several episodes in one file (a double episode) share the video: #2, #3 tell them apart.
            key = rating_key_for(unit.relative if index == 0 else f"{unit.relative}#{index + 1}")
            if item.kind == "movie":
                self._save_movie(prepared, key, item)
            else:
                self._save_episode(prepared, key, item, index)

    def _url_only_item(self, unit, item: NfoItem) -> NfoItem:
        """A file of scraper URLs: a movie, or an episode inside a show, named from its file or folder."""
        stem = _name_stem(unit)
        year_in_name = _YEAR_IN_NAME.search(stem)
        if self._show_dir_above(os.path.dirname(unit.path)) is not None:
            show = self.show_items.get(self._show_dir_above(os.path.dirname(unit.path)))
            # An episode's URL is most often its show's page: that id is the show's, not the episode's.
            show_ids = set(show.ids) if show else set()
            ids = [pair for pair in item.ids if pair not in show_ids]
            return replace(item, kind="episodedetails", title=clean_title(stem), ids=ids)
        year = int(year_in_name.group(1)) if year_in_name else None
        return replace(item, kind="movie", title=clean_title(stem), year=year)

    def _episodes_the_name_gives(self, unit, items: list[NfoItem]) -> list[NfoItem]:
        """Numbers the .nfo left out come from the file name, in order; a name that covers more
        episodes than the .nfo describes (S01E01-E02 with one <episodedetails>) gets the rest as
        untitled episodes, so the file's every episode is in the catalog."""
        named = episode_range_in(os.path.basename(unit.path))
        if named is None:
            return items
        season, numbers = named
        items = [
            replace(
                item,
                season=season if item.season is None else item.season,
                episode=numbers[index] if item.episode is None and index < len(numbers) else item.episode,
            )
            for index, item in enumerate(items)
        ]
        described = {(item.season, item.episode) for item in items}
        if not described <= {(season, number) for number in numbers}:
            return items  # the .nfo numbers its episodes otherwise: it knows better than the name
        for number in numbers:
            if (season, number) not in described:
                items.append(
                    NfoItem(kind="episodedetails", title=f"Episode {number}", season=season, episode=number)
                )
        return items

    def _season_nfo(self, season: Season, directory: str, show_dir: str | None) -> None:
        """A season folder's season.nfo: the season's title, summary and ids."""
        if directory == show_dir or (season.pk, directory) in self._season_nfos_done:
            return
        self._season_nfos_done.add((season.pk, directory))
        name = next((name for name in _listdir(directory) if name.lower() == SEASON_NFO), None)
        if name is None:
            return
        path = os.path.join(directory, name)
        try:
            item = next((item for item in parse_nfo(path).items if item.kind == "season"), None)
        except NfoError as error:
            self._problem(path, f"{error}; the season keeps its own title")
            return
        if item is None:
            self._problem(path, "holds no <season>; skipped")
            return
        if item.season is not None and item.season != season.season_number:
            return  # it describes another season than this folder's episodes are in
        for warning in item.warnings:
            self._problem(path, warning)
        desired = {"title": (item.title or season.title)[:300], "summary": item.plot or season.summary}
        changed = [field for field, value in desired.items() if getattr(season, field) != value]
        if changed:
            for field in changed:
                setattr(season, field, desired[field])
            season.save(update_fields=changed)
        self._replace_ids(season, item.ids, path)

    def _save_movie(self, prepared: _Prepared, key: str, item: NfoItem) -> None:
        title = (item.title or clean_title(_name_stem(prepared.unit)))[:300]
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
            "tags": item.tags,
            "library_id": self._library(LibraryKind.MOVIE).id,
            "artwork_ref": self._artwork_ref(
                os.path.dirname(prepared.unit.path), local_artwork.movie_candidates(_stem(prepared.unit.path))
            ),
            **self._duration(prepared, item),
            **item.scheduling,
        }
        self._save_item(prepared, Movie, key, desired, ids=item.ids, tags=_tags_of(item))
        self.movie_sets[self.items[key].pk] = item.collection

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
        if season_number is None:
            self._problem(unit.nfo_path, "no <season>; filed under specials (season 0)")
            season_number = 0
        season = self._season(show, season_number)
        self._season_artwork(season, show_dir)
        self._season_nfo(season, os.path.dirname(unit.path), show_dir)
        show_item = self.show_items.get(show_dir)
        title = (item.title or clean_title(_name_stem(unit)))[:300]
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
            "tags": item.tags,
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
        stem = _name_stem(unit)
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
            desired.update(
                title=title, year=year, summary=sidecar.plot, tags=sidecar.tags, **sidecar.scheduling
            )
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


def _name_stem(unit) -> str:
    """The name that says what a file is: its own, or its folder's for a disc folder or a file
    named only "movie" (the movie.nfo layout)."""
    stem = _stem(unit.path)
    if unit.disc is not None or stem.lower() in GENERIC_STEMS:
        return os.path.basename(os.path.dirname(unit.path))
    return stem


def _tags_of(item: NfoItem) -> RemoteTags:
    return RemoteTags(
        genres=item.genres,
        credits=[RemoteCredit(role, name, character, thumb) for role, name, character, thumb in item.credits],
        network=item.studio,
    )
