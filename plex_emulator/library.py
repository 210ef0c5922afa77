"""The emulator's library: lookup, ordered listings, cached XML fragments.

All reads and writes go through one re-entrant lock because HTTP handler
threads read while a test thread mutates. Two caches keep large listings
cheap: the default-ordered item list per (section, type), rebuilt after any
mutation, and the rendered listing fragment per (ratingKey, includeGuids),
dropped for an item, its ancestors and its descendants when any of them
changes (their XML embeds each other's titles, counts and keys).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .config import EmulatorConfig
from .model import (
    EPISODE,
    MOVIE,
    SEASON,
    SHOW,
    AnyItem,
    Episode,
    Movie,
    Season,
    Section,
    Show,
    ancestors,
    descendants,
    title_sort,
)
from .mutations import LibraryMutations
from .seeding import generate_library
from .xmlrender import DetailOptions, render_item


class Library(LibraryMutations):
    """Every section and item the emulator serves, plus the mutation API (see ``LibraryMutations``)."""

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] = time.time) -> None:
        generated = generate_library(config)
        self.config = config
        self.sections: dict[int, Section] = generated.sections
        self._factory = generated.factory
        self._clock = clock
        self._lock = threading.RLock()
        self._items: dict[str, AnyItem] = {}
        self._movies: list[Movie] = generated.movies
        self._shows: list[Show] = generated.shows
        self._ordered: dict[tuple[int, str], list[AnyItem]] = {}
        self._fragments: dict[tuple[str, bool], str] = {}
        for movie in self._movies:
            self._index(movie)
        for show in self._shows:
            self._index(show)

    # -- locking and time ---------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self._lock:
            yield

    def now(self) -> int:
        return int(self._clock())

    # -- lookup -------------------------------------------------------------------------------

    def get(self, rating_key: str | int) -> AnyItem | None:
        with self._lock:
            return self._items.get(str(rating_key))

    def __getitem__(self, rating_key: str | int) -> AnyItem:
        item = self.get(rating_key)
        if item is None:
            raise KeyError(f"no item with ratingKey {rating_key}")
        return item

    def __contains__(self, rating_key: object) -> bool:
        return self.get(str(rating_key)) is not None

    def section_for(self, item: AnyItem) -> Section:
        return self.sections[item.section_id]

    def section_of_kind(self, kind: str) -> Section:
        return next(section for section in self.sections.values() if section.kind == kind)

    # The public lists are copies: callers may sort or trim them without touching the cache.
    def movies(self) -> list[Movie]:
        return list(self.listing(self.config.movie_section_id, MOVIE))  # type: ignore[arg-type]

    def shows(self) -> list[Show]:
        return list(self.listing(self.config.show_section_id, SHOW))  # type: ignore[arg-type]

    def seasons(self) -> list[Season]:
        return list(self.listing(self.config.show_section_id, SEASON))  # type: ignore[arg-type]

    def episodes(self) -> list[Episode]:
        return list(self.listing(self.config.show_section_id, EPISODE))  # type: ignore[arg-type]

    def count(self, kind: str) -> int:
        section = self.section_of_kind(MOVIE if kind == MOVIE else SHOW)
        return len(self.listing(section.section_id, kind))

    def find(self, title: str, year: int | None = None, kind: str | None = None) -> list[AnyItem]:
        """Items whose title matches exactly (and year/kind when given), in listing order."""
        with self._lock:
            found = []
            for section in self.sections.values():
                kinds = (MOVIE,) if section.kind == MOVIE else (SHOW, SEASON, EPISODE)
                for item_kind in kinds:
                    if kind not in (None, item_kind):
                        continue
                    found += [
                        item
                        for item in self.listing(section.section_id, item_kind)
                        if item.title == title and (year is None or getattr(item, "year", None) == year)
                    ]
            return found

    def listing(self, section_id: int, kind: str) -> list[AnyItem]:
        """Items of one type in a section, in Plex's default order (title, then year, then key).

        Returns the cached list itself; treat it as read-only.
        """
        with self._lock:
            cache_key = (section_id, kind)
            if cache_key not in self._ordered:
                self._ordered[cache_key] = self._build_listing(section_id, kind)
            return self._ordered[cache_key]

    def _build_listing(self, section_id: int, kind: str) -> list[AnyItem]:
        def by_title(item: Movie | Show) -> tuple:
            return (title_sort(item.title).lower(), item.year, int(item.rating_key))

        if kind == MOVIE:
            return sorted((m for m in self._movies if m.section_id == section_id), key=by_title)
        shows = sorted((s for s in self._shows if s.section_id == section_id), key=by_title)
        if kind == SHOW:
            return list(shows)
        if kind == SEASON:
            return [season for show in shows for season in show.seasons]
        if kind == EPISODE:
            return [episode for show in shows for season in show.seasons for episode in season.episodes]
        return []

    # -- rendering ----------------------------------------------------------------------------

    def listing_fragment(self, item: AnyItem, include_guids: bool) -> str:
        with self._lock:
            cache_key = (item.rating_key, include_guids)
            fragment = self._fragments.get(cache_key)
            if fragment is None:
                fragment = render_item(item, self.section_for(item), include_guids=include_guids)
                self._fragments[cache_key] = fragment
            return fragment

    def detail_fragment(self, item: AnyItem, options: DetailOptions) -> str:
        # Details are one item per request and vary with the include flags; not worth caching.
        with self._lock:
            return render_item(item, self.section_for(item), include_guids=True, detail=options)

    # -- bookkeeping used by the mutations ------------------------------------------------------

    def _index(self, item: AnyItem) -> None:
        self._items[item.rating_key] = item
        for child in descendants(item):
            self._items[child.rating_key] = child

    def _changed(self, *items: AnyItem) -> None:
        """Forget cached XML of the items and their relatives; note the section content change."""
        touched_sections = set()
        for item in items:
            for related in (item, *ancestors(item), *descendants(item)):
                self._fragments.pop((related.rating_key, True), None)
                self._fragments.pop((related.rating_key, False), None)
            touched_sections.add(item.section_id)
        for section_id in touched_sections:
            self.sections[section_id].content_changed_at += 1
        self._ordered.clear()
