"""Plex API endpoints: request in, XML response out. No sockets here.

Listings share one path: choose items, filter, sort, page, then join cached
per-item fragments. ``size`` counts the items in this page; ``totalSize`` and
``offset`` (and the matching response headers) appear when the client asked
for a page or a ``limit``, as on a real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from . import containers
from .artwork import ArtworkImages
from .config import EmulatorConfig
from .library import Library
from .meta import collections_meta, section_meta
from .model import EPISODE, MOVIE, SEASON, SHOW, TYPES_BY_NUMBER, AnyItem, Season, Section, Show
from .query import (
    CONTAINER_START,
    apply_filters,
    apply_sort,
    children_of,
    leaves_of,
    page,
    paging_from,
    parse_filters,
)
from .xmlrender import DetailOptions
from .xmlwriter import Attributes, container

XML_CONTENT_TYPE = "text/xml;charset=utf-8"


class NotFoundError(Exception):
    """Maps to HTTP 404, like Plex for unknown keys and paths."""


@dataclass
class Request:
    method: str
    path: str
    pairs: list[tuple[str, str]]
    headers: Mapping[str, str]

    @property
    def params(self) -> dict[str, str]:
        return dict(self.pairs)

    def flag(self, name: str) -> bool:
        return self.params.get(name) == "1"


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = XML_CONTENT_TYPE
    headers: dict[str, str] = field(default_factory=dict)


class PlexRoutes:
    """Dispatches Plex paths to handlers bound to one library."""

    def __init__(self, config: EmulatorConfig, library: Library) -> None:
        self.config = config
        self.library = library
        from .collections import CollectionStore  # it answers with this module's Response

        library.collections = CollectionStore(config, library)
        self.artwork = ArtworkImages(library)
        any_method = {"GET", "POST", "PUT", "DELETE"}
        self._table: list[tuple[set[str], re.Pattern[str], Callable[..., Response]]] = [
            ({"GET"}, re.compile(r"/"), lambda request: Response(body=containers.server_root(config))),
            ({"GET"}, re.compile(r"/identity"), lambda request: Response(body=containers.identity(config))),
            (
                {"GET"},
                re.compile(r"/library/?"),
                lambda request: Response(body=containers.library_root(config)),
            ),
            ({"GET"}, re.compile(r"/library/sections/?"), self._sections),
            ({"GET"}, re.compile(r"/library/sections/(\d+)/?"), self._section_browse),
            ({"GET"}, re.compile(r"/library/sections/(\d+)/all"), self._section_all),
            ({"GET"}, re.compile(r"/library/sections/(\d+)/collections"), self._section_collections),
            (any_method, re.compile(r"/library/sections/(\d+)/refresh"), self._section_refresh),
            ({"GET"}, re.compile(r"/library/sections/(\d+)/composite/\d+"), self._image),
            ({"GET"}, re.compile(r"/library/metadata/(\d+(?:,\d+)*)"), self._metadata),
            ({"GET"}, re.compile(r"/library/metadata/(\d+)/children"), self._children),
            ({"GET"}, re.compile(r"/library/metadata/(\d+)/allLeaves"), self._all_leaves),
            ({"GET"}, re.compile(r"/library/metadata/(\d+)/(?:thumb|art|banner)(?:/\d+)?"), self._image),
        ]

    def handle(self, request: Request) -> Response:
        if request.method == "GET" and (answer := self.library.collections.handle(request)) is not None:
            return answer
        for methods, pattern, handler in self._table:
            match = pattern.fullmatch(request.path)
            if match and request.method in methods:
                return handler(request, *match.groups())
        raise NotFoundError(request.path)

    # -- section level ----------------------------------------------------------------------

    def _section(self, section_id: str) -> Section:
        section = self.library.sections.get(int(section_id))
        if section is None:
            raise NotFoundError(f"section {section_id}")
        return section

    def _sections(self, request: Request) -> Response:
        sections = sorted(self.library.sections.values(), key=lambda section: section.section_id)
        return Response(body=containers.sections_list(self.config, sections))

    def _section_browse(self, request: Request, section_id: str) -> Response:
        return Response(body=containers.section_browse(self.config, self._section(section_id)))

    def _section_refresh(self, request: Request, section_id: str) -> Response:
        self._section(section_id)
        return Response(body=b"")

    def _section_collections(self, request: Request, section_id: str) -> Response:
        section = self._section(section_id)
        libtype = "movie" if section.kind == MOVIE else "show"
        pairs = containers.section_listing_attributes(self.config, section, libtype)
        meta = collections_meta(section) if request.flag("includeMeta") else ""
        return Response(body=container((("size", 0), *pairs), meta))

    def _section_all(self, request: Request, section_id: str) -> Response:
        section = self._section(section_id)
        requested_type = request.params.get("type", "")
        libtype = TYPES_BY_NUMBER.get(int(requested_type)) if requested_type.isdigit() else section.kind
        allowed = (MOVIE,) if section.kind == MOVIE else (SHOW, SEASON, EPISODE)
        items: Sequence[AnyItem] = []
        if libtype in allowed:
            items = self.library.listing(section.section_id, libtype)
        else:  # a type this section cannot hold: an empty listing of the section's own type
            libtype = section.kind
        attributes = containers.section_listing_attributes(self.config, section, libtype)
        meta = section_meta(section) if request.flag("includeMeta") else ""
        return self._listing(request, items, attributes, prefix=meta)

    # -- metadata level ---------------------------------------------------------------------

    def _metadata(self, request: Request, keys: str) -> Response:
        with self.library.locked():
            items = [item for key in keys.split(",") if (item := self.library.get(key)) is not None]
            if not items:
                raise NotFoundError(keys)
            options = DetailOptions(
                chapters=request.flag("includeChapters"), markers=request.flag("includeMarkers")
            )
            shown, _total = page(items, paging_from(request.params, request.headers))
            body = "".join(self.library.detail_fragment(item, options) for item in shown)
            sections = {item.section_id for item in items}
            section = self.library.sections[sections.pop()] if len(sections) == 1 else None
        pairs = containers.library_attributes(self.config, section)
        return Response(body=container((("size", len(shown)), *pairs), body))

    def _item(self, key: str) -> AnyItem:
        item = self.library.get(key)
        if item is None:
            raise NotFoundError(key)
        return item

    def _children(self, request: Request, key: str) -> Response:
        with self.library.locked():
            item = self._item(key)
            section = self.library.section_for(item)
            entries: list[AnyItem | str] = list(children_of(item))
            if isinstance(item, Show):
                attributes = containers.show_children_attributes(self.config, section, item, leaves=False)
                if not request.flag("excludeAllLeaves"):
                    entries.insert(0, containers.all_episodes_directory(item))
            elif isinstance(item, Season):
                attributes = containers.season_children_attributes(self.config, section, item)
            else:
                attributes = containers.library_attributes(self.config, section)
            return self._listing(request, entries, attributes)

    def _all_leaves(self, request: Request, key: str) -> Response:
        with self.library.locked():
            item = self._item(key)
            section = self.library.section_for(item)
            if isinstance(item, Show):
                leaves = leaves_of(item)
                attributes = containers.show_children_attributes(self.config, section, item, leaves=True)
            elif isinstance(item, Season):
                leaves = list(item.episodes)
                attributes = containers.season_children_attributes(self.config, section, item)
            else:
                leaves, attributes = [], containers.library_attributes(self.config, section)
            return self._listing(request, leaves, attributes)

    def _image(self, request: Request, *unused: str) -> Response:
        status, body, content_type = self.artwork.response(request.path)
        return Response(status=status, body=body, content_type=content_type)

    # -- shared listing machinery --------------------------------------------------------------

    def _listing(
        self, request: Request, entries: Sequence[AnyItem | str], attributes: Attributes, prefix: str = ""
    ) -> Response:
        """Filter, sort and page ``entries`` (items, or ready-made fragments) into a container."""
        params = request.params
        paging = paging_from(params, request.headers)
        limit = int(params["limit"]) if params.get("limit", "").isdigit() else None
        include_guids = request.flag("includeGuids")
        with self.library.locked():
            filters = parse_filters(request.pairs)
            if filters or params.get("sort"):
                # Ready-made fragments (the "All episodes" entry) have no fields to filter or sort on.
                items = [entry for entry in entries if not isinstance(entry, str)]
                entries = apply_sort(apply_filters(items, filters, self.library.now()), params.get("sort"))
            shown, total = page(entries, paging, limit)
            body = "".join(
                entry if isinstance(entry, str) else self.library.listing_fragment(entry, include_guids)
                for entry in shown
            )
        head: list[tuple[str, object]] = [("size", len(shown))]
        headers = {}
        if paging.requested or limit is not None:
            head += [("totalSize", total), ("offset", min(paging.start, total))]
            headers = {
                CONTAINER_START: str(min(paging.start, total)),
                "X-Plex-Container-Total-Size": str(total),
            }
        return Response(body=container((*head, *attributes), prefix + body), headers=headers)
