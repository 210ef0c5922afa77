"""Changing the library between sync runs, the way a Plex server changes.

Every mutation stamps ``updatedAt`` (and for new rows ``addedAt``) with the
library clock, or with ``at=`` when a test needs an exact value. A change to an
episode or season also moves its season's and show's ``updatedAt`` forward,
which is how Plex reports a show whose episodes changed. Without ``at=`` the
new stamp is at least one second past the item's previous one, so two quick
touches stay distinguishable.

Mixed into ``Library``; relies on its ``_lock``, ``_items``, ``_movies``,
``_shows``, ``_factory``, ``_changed`` and ``now``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from .model import AnyItem, Episode, Movie, Season, Show, ancestors, descendants

if TYPE_CHECKING:
    from .library import Library

EDITABLE_FIELDS = frozenset(
    {
        "title",
        "summary",
        "year",
        "studio",
        "content_rating",
        "tagline",
        "originally_available_at",
        "duration",
        "guid",
        "external_guids",
        "file",
    }
)


class LibraryMutations:
    """Python mutation API; the HTTP control path calls the same methods."""

    def touch(self: Library, rating_key: str | int, *, at: int | None = None, **changes: object) -> AnyItem:
        """Bump ``updatedAt`` of an item, optionally changing fields (``title=``, ``file=``, ...)."""
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            raise ValueError(f"cannot change {sorted(unknown)}; editable fields: {sorted(EDITABLE_FIELDS)}")
        with self._lock:
            item = self[rating_key]
            self._changed(item)
            for name, value in changes.items():
                self._apply_change(item, name, value)
            self._stamp(item, at)
            return item

    def add_movie(
        self: Library,
        title: str,
        year: int | None = None,
        *,
        parts: int = 1,
        versions: int = 1,
        version_lengths: tuple[int, ...] = (),
        legacy_agent: str | None = None,
        at: int | None = None,
    ) -> Movie:
        with self._lock:
            stamp = self._new_stamp(at)
            movie = self._factory.movie(
                title,
                year or self._year_of(stamp),
                added_at=stamp,
                updated_at=stamp,
                legacy_agent=legacy_agent,
                parts=parts,
                versions=versions,
                version_lengths=version_lengths,
            )
            self._movies.append(movie)
            self._index(movie)
            self._changed(movie)
            return movie

    def add_show(
        self: Library,
        title: str,
        year: int | None = None,
        *,
        seasons: int | None = None,
        episodes_per_season: int | None = None,
        specials: int = 0,
        legacy: bool = False,
        at: int | None = None,
    ) -> Show:
        with self._lock:
            stamp = self._new_stamp(at)
            show = self._factory.show(title, year or self._year_of(stamp), added_at=stamp, legacy=legacy)
            season_count = self.config.seasons_per_show if seasons is None else seasons
            per_season = (
                self.config.episodes_per_season if episodes_per_season is None else episodes_per_season
            )
            for season_index in ([0] if specials else []) + list(range(1, season_count + 1)):
                season = self._factory.season(show, season_index, added_at=stamp)
                for episode_index in range(1, (specials if season_index == 0 else per_season) + 1):
                    self._factory.episode(season, episode_index, added_at=stamp, updated_at=stamp)
            self._shows.append(show)
            self._index(show)
            self._changed(show)
            return show

    def add_episode(
        self: Library,
        show_rating_key: str | int,
        season_index: int,
        index: int | None = None,
        *,
        title: str | None = None,
        at: int | None = None,
    ) -> Episode:
        """Add an episode, creating its season when the show does not have it yet."""
        with self._lock:
            show = self[show_rating_key]
            if not isinstance(show, Show):
                raise ValueError(f"ratingKey {show_rating_key} is a {show.kind}, not a show")
            stamp = self._new_stamp(at)
            season = show.season_by_index(season_index)
            if season is None:
                season = self._factory.season(show, season_index, added_at=stamp)
                self._items[season.rating_key] = season
            if index is None:
                index = max((episode.index for episode in season.episodes), default=0) + 1
            episode = self._factory.episode(season, index, added_at=stamp, updated_at=stamp, title=title)
            self._items[episode.rating_key] = episode
            self._changed(episode)
            self._stamp(episode, stamp)
            return episode

    def delete(self: Library, rating_key: str | int, *, at: int | None = None) -> list[str]:
        """Remove an item and everything below it; returns the ratingKeys that disappeared.

        Like Plex after emptying the trash, a season without episodes and a show
        without seasons disappear with their last child.
        """
        with self._lock:
            item = self[rating_key]
            stamp = self._new_stamp(at)
            self._changed(item)
            gone = [item, *descendants(item)]
            if isinstance(item, Movie):
                self._movies.remove(item)
            elif isinstance(item, Show):
                self._shows.remove(item)
            elif isinstance(item, Season):
                item.parent.seasons.remove(item)
            elif isinstance(item, Episode):
                item.parent.episodes.remove(item)
            for removed_item in gone:
                del self._items[removed_item.rating_key]
            removed_keys = [removed_item.rating_key for removed_item in gone]
            parent = item.parent if isinstance(item, Season | Episode) else None
            while parent is not None:
                if (isinstance(parent, Season) and not parent.episodes) or (
                    isinstance(parent, Show) and not parent.seasons
                ):
                    removed_keys += self.delete(parent.rating_key, at=stamp)
                    break
                parent.updated_at = max(parent.updated_at or 0, stamp)
                parent = parent.parent if isinstance(parent, Season) else None
            return removed_keys

    def rekey(
        self: Library, rating_key: str | int, *, cascade: bool = True, at: int | None = None
    ) -> dict[str, str]:
        """Give an item (and by default its children) new ratingKeys, keeping guids, titles and files.

        This is what a sync sees after an item was deleted and re-added, or a
        library rebuilt: same guid, new ratingKey, fresh ``addedAt``/``updatedAt``.
        Returns ``{old ratingKey: new ratingKey}``.
        """
        with self._lock:
            item = self[rating_key]
            stamp = self._new_stamp(at)
            self._changed(item)
            mapping = {}
            for target in [item, *descendants(item)] if cascade else [item]:
                del self._items[target.rating_key]
                old_key, target.rating_key = target.rating_key, self._factory.rating_key()
                target.added_at = target.updated_at = stamp
                self._items[target.rating_key] = target
                mapping[old_key] = target.rating_key
            for ancestor in ancestors(item):
                ancestor.updated_at = max(ancestor.updated_at or 0, stamp)
            self._changed(item)
            return mapping

    def rekey_section(self: Library, section_id: int, *, at: int | None = None) -> dict[str, str]:
        """Re-key every item of a section, as if the library had been deleted and re-created."""
        with self._lock:
            stamp = self._new_stamp(at)
            top_level = [item for item in (*self._movies, *self._shows) if item.section_id == section_id]
            mapping: dict[str, str] = {}
            for item in top_level:
                mapping.update(self.rekey(item.rating_key, at=stamp))
            return mapping

    # -- helpers --------------------------------------------------------------------------------

    def _new_stamp(self: Library, at: int | None) -> int:
        return int(at) if at is not None else self.now()

    def _stamp(self: Library, item: AnyItem, at: int | None) -> int:
        stamp = int(at) if at is not None else max(self.now(), (item.updated_at or 0) + 1)
        item.updated_at = stamp
        for ancestor in ancestors(item):
            ancestor.updated_at = max(ancestor.updated_at or 0, stamp)
        return stamp

    @staticmethod
    def _year_of(stamp: int) -> int:
        return dt.datetime.fromtimestamp(stamp, dt.UTC).year

    @staticmethod
    def _apply_change(item: AnyItem, name: str, value: object) -> None:
        if name == "file":
            media = getattr(item, "media", None)
            if not media:
                raise ValueError(f"a {item.kind} has no files")
            media[0].parts[0].file = str(value)
        elif name == "external_guids":
            item.external_guids = tuple(str(guid) for guid in value)  # type: ignore[union-attr]
        elif name == "duration" and isinstance(item, Movie | Episode):
            item.duration = item.media[0].duration = int(value)  # type: ignore[arg-type]
            item.media[0].parts[0].duration = int(value)  # type: ignore[arg-type]
        elif hasattr(item, name):
            setattr(item, name, value)
        else:
            raise ValueError(f"a {item.kind} has no field {name!r}")
