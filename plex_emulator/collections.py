"""Collections: hand-picked and smart, listed and browsed as Plex serves them.

Wire shape (PLEX_LIVE_AND_AUTH_NOTES.md §5, fixture
``library_sections_1_collections__includeMeta_size0__ha.xml``):

* ``/library/sections/<id>/all?type=18`` (what plexapi's ``section.collections()`` asks for) and
  ``/library/sections/<id>/collections`` list ``<Directory type="collection">`` entries with
  ``key="/library/collections/<rk>/children"``, ``guid="collection://<uuid>"``, ``subtype``,
  ``childCount``, ``updatedAt``; smart ones add ``smart="1"`` and ``content`` (their filter URI).
* ``/library/metadata/<rk>/children`` and ``/library/collections/<rk>/children`` list the members
  (paged like any listing); ``/library/metadata/<rk>`` is the collection itself.
* A smart collection is resolved on every request from its ``content`` filter, so its members
  change as the library does while its ``updatedAt`` stays put, as on a real server.

The store is attached to the library as ``library.collections``; tests seed and change it with
``add``, ``add_items``, ``remove_items`` and ``delete``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from . import containers
from .config import EmulatorConfig
from .meta import collections_meta
from .model import EPISODE, MOVIE, SEASON, SHOW, TYPES_BY_NUMBER, AnyItem, Episode, Movie, Section, title_sort
from .query import apply_filters, apply_sort, page, paging_from, parse_filters
from .xmlwriter import Attributes, container, element

COLLECTION_TYPE = 18
FIRST_COLLECTION_KEY = 900_000  # apart from the items' keys, which count up from 1


@dataclass(eq=False)
class EmulatedCollection:
    rating_key: str
    section_id: int
    guid: str
    title: str
    subtype: str
    added_at: int
    updated_at: int
    summary: str = ""
    content_rating: str = ""
    smart_filter: str = ""  # the `content` URI of a smart collection
    member_keys: list[str] = field(default_factory=list)

    @property
    def smart(self) -> bool:
        return bool(self.smart_filter)

    @property
    def key(self) -> str:
        return f"/library/collections/{self.rating_key}"


class CollectionStore:
    """Every collection the emulator serves, plus their routes."""

    def __init__(self, config: EmulatorConfig, library) -> None:
        self.config = config
        self.library = library
        self.items: dict[str, EmulatedCollection] = {}
        self._next_key = FIRST_COLLECTION_KEY
        self.seed()

    # -- changing them --------------------------------------------------------------------------

    def add(
        self,
        section_id: int,
        title: str,
        members: list[str] | tuple[str, ...] = (),
        *,
        smart_filter: str = "",
        subtype: str | None = None,
        at: int | None = None,
        summary: str = "",
    ) -> EmulatedCollection:
        with self.library.locked():
            section = self.library.sections[section_id]
            stamp = at or self.library.now()
            key = str(self._next_key)
            self._next_key += 1
            if subtype is None:
                first = self.library.get(members[0]) if members else None
                subtype = first.kind if first is not None else section.kind
            collection = EmulatedCollection(
                rating_key=key, section_id=section_id, guid=f"collection://{uuid.UUID(int=int(key))}",
                title=title, subtype=subtype, added_at=stamp, updated_at=stamp, summary=summary,
                smart_filter=smart_filter, member_keys=[str(member) for member in members],
            )  # fmt: skip
            self.items[key] = collection
            return collection

    def add_items(self, rating_key: str, keys: list[str], *, at: int | None = None) -> None:
        with self.library.locked():
            collection = self.items[str(rating_key)]
            collection.member_keys += [str(key) for key in keys if str(key) not in collection.member_keys]
            collection.updated_at = at or max(self.library.now(), collection.updated_at + 1)

    def remove_items(self, rating_key: str, keys: list[str], *, at: int | None = None) -> None:
        with self.library.locked():
            collection = self.items[str(rating_key)]
            gone = {str(key) for key in keys}
            collection.member_keys = [key for key in collection.member_keys if key not in gone]
            collection.updated_at = at or max(self.library.now(), collection.updated_at + 1)

    def delete(self, rating_key: str) -> None:
        with self.library.locked():
            del self.items[str(rating_key)]

    def find(self, title: str) -> EmulatedCollection:
        return next(collection for collection in self.items.values() if collection.title == title)

    def seed(self) -> None:
        """A few collections every generated library has (when it is big enough):

        * "Christmas Specials" (shows): hand-picked episodes, the specials (season 0) of every show;
        * "Saturday Morning" (shows): hand-picked shows, the first three;
        * "Classic Movies" (movies): hand-picked, the first four movies;
        * "Before 1990" (movies): smart, movies with year < 1990.
        """
        base = self.config.base_time
        show_section = self.library.sections.get(self.config.show_section_id)
        movie_section = self.library.sections.get(self.config.movie_section_id)
        if show_section is not None:
            shows = self.library.listing(show_section.section_id, SHOW)
            specials = [
                episode.rating_key
                for show in shows
                for season in show.seasons
                if season.index == 0
                for episode in season.episodes
            ]
            if specials:
                self.add(show_section.section_id, "Christmas Specials", specials, subtype=EPISODE, at=base,
                         summary="Holiday episodes from every show.")  # fmt: skip
            if shows:
                self.add(show_section.section_id, "Saturday Morning", [show.rating_key for show in shows[:3]],
                         subtype=SHOW, at=base)  # fmt: skip
        if movie_section is not None:
            movies = self.library.listing(movie_section.section_id, MOVIE)
            if movies:
                self.add(movie_section.section_id, "Classic Movies", [movie.rating_key for movie in movies[:4]],
                         subtype=MOVIE, at=base)  # fmt: skip
                self.add(
                    movie_section.section_id, "Before 1990", subtype=MOVIE, at=base,
                    smart_filter=f"/library/sections/{movie_section.section_id}/all?type=1&sort=titleSort"
                    "&year%3C%3C=1990",
                )  # fmt: skip

    # -- reading them ---------------------------------------------------------------------------

    def in_section(self, section_id: int) -> list[EmulatedCollection]:
        return sorted(
            (collection for collection in self.items.values() if collection.section_id == section_id),
            key=lambda collection: (title_sort(collection.title).lower(), int(collection.rating_key)),
        )

    def members(self, collection: EmulatedCollection) -> list[AnyItem]:
        if not collection.smart:
            return [item for key in collection.member_keys if (item := self.library.get(key)) is not None]
        query = urlsplit(unquote(collection.smart_filter)).query
        pairs = parse_qsl(query, keep_blank_values=True)
        params = dict(pairs)
        kind = TYPES_BY_NUMBER.get(int(params.get("type", "1") or 1), MOVIE)
        items = self.library.listing(collection.section_id, kind)
        filtered = apply_filters(items, parse_filters(pairs), self.library.now())
        return list(apply_sort(filtered, params.get("sort")))

    # -- routes ---------------------------------------------------------------------------------

    def handle(self, request):
        """A response for collection requests, or None to let the item routes answer."""
        from .routes import NotFoundError, Response

        parts = request.path.strip("/").split("/")
        with self.library.locked():
            if parts[:2] == ["library", "sections"] and len(parts) == 4 and parts[2].isdigit():
                wants_listing = parts[3] == "collections" or (
                    parts[3] == "all" and request.params.get("type") == str(COLLECTION_TYPE)
                )
                if wants_listing:
                    section = self.library.sections.get(int(parts[2]))
                    if section is None:
                        raise NotFoundError(request.path)
                    return Response(**self._listing_response(request, section))
                return None
            if len(parts) >= 3 and parts[:2] in (["library", "metadata"], ["library", "collections"]):
                collection = self.items.get(parts[2])
                if collection is None:
                    if parts[1] == "collections":
                        raise NotFoundError(request.path)
                    return None
                if len(parts) == 3:
                    body = self.render(collection)
                    section = self.library.sections[collection.section_id]
                    pairs = containers.library_attributes(self.config, section)
                    return Response(body=container((("size", 1), *pairs), body))
                if len(parts) == 4 and parts[3] in ("children", "items"):
                    return Response(**self._children_response(request, collection))
                if parts[3] in ("composite", "thumb", "art"):
                    from .routes import PLACEHOLDER_IMAGE

                    return Response(body=PLACEHOLDER_IMAGE, content_type="image/png")
                raise NotFoundError(request.path)
        return None

    def _listing_response(self, request, section: Section) -> dict:
        collections = self.in_section(section.section_id)
        title = request.params.get("title")
        if title:
            collections = [c for c in collections if title.lower() in c.title.lower()]
        shown, total = page(collections, paging_from(request.params, request.headers))
        libtype = "movie" if section.kind == MOVIE else "show"
        pairs = containers.section_listing_attributes(self.config, section, libtype)
        meta = collections_meta(section) if request.flag("includeMeta") else ""
        return self._paged(request, shown, total, pairs, meta + "".join(self.render(c) for c in shown))

    def _children_response(self, request, collection: EmulatedCollection) -> dict:
        members = self.members(collection)
        shown, total = page(members, paging_from(request.params, request.headers))
        include_guids = request.flag("includeGuids")
        body = "".join(self.library.listing_fragment(item, include_guids) for item in shown)
        section = self.library.sections[collection.section_id]
        pairs = (
            *containers.library_attributes(self.config, section),
            ("ratingKey", collection.rating_key),
            ("title2", collection.title),
        )
        return self._paged(request, shown, total, pairs, body)

    @staticmethod
    def _paged(request, shown, total: int, pairs: Attributes, body: str) -> dict:
        head: list[tuple[str, object]] = [("size", len(shown))]
        headers = {}
        if paging_from(request.params, request.headers).requested:
            start = paging_from(request.params, request.headers).start
            head += [("totalSize", total), ("offset", min(start, total))]
            headers = {
                "X-Plex-Container-Start": str(min(start, total)),
                "X-Plex-Container-Total-Size": str(total),
            }
        return {"body": container((*head, *pairs), body), "headers": headers}

    def render(self, collection: EmulatedCollection) -> str:
        section = self.library.sections[collection.section_id]
        members = self.members(collection)
        years = [year for item in members if (year := _year(item))]
        title_sorted = title_sort(collection.title)
        pairs: Attributes = (
            ("ratingKey", collection.rating_key),
            ("key", f"{collection.key}/children"),
            ("guid", collection.guid),
            ("type", "collection"),
            ("title", collection.title),
            ("titleSort", title_sorted if title_sorted != collection.title else None),
            ("librarySectionTitle", section.title),
            ("librarySectionID", section.section_id),
            ("librarySectionKey", section.key),
            # Plex shows a collection's own rating, else one taken from its items.
            ("contentRating", collection.content_rating or _first_rating(members)),
            ("subtype", collection.subtype),
            ("summary", collection.summary),
            ("index", int(collection.rating_key) - FIRST_COLLECTION_KEY + 1),
            ("smart", 1 if collection.smart else None),
            ("content", collection.smart_filter or None),
            ("ratingCount", len(members)),
            ("thumb", f"{collection.key}/composite/{collection.updated_at}?width=400&height=600"),
            ("addedAt", collection.added_at),
            ("updatedAt", collection.updated_at),
            ("childCount", len(members)),
            ("maxYear", max(years) if years else None),
            ("minYear", min(years) if years else None),
        )
        return element("Directory", pairs)


def _year(item: AnyItem) -> int | None:
    if isinstance(item, Movie | Episode):
        return item.year
    if item.kind in (SHOW, SEASON):
        return getattr(item, "year", None) or getattr(getattr(item, "show", None), "year", None)
    return None


def _first_rating(members: list[AnyItem]) -> str | None:
    return next((rating for item in members if (rating := getattr(item, "content_rating", ""))), None)
