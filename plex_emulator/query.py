"""Paging, filtering and sorting of listings, following Plex's media-query rules.

* Paging comes from ``X-Plex-Container-Start``/``-Size``, as request headers or
  query parameters (Plex accepts every ``X-Plex-*`` header in both places).
* Filters are ``<scope.>field<operator>=value[,value...]`` query parameters;
  after URL decoding ``parse_qsl`` splits ``updatedAt>>=5`` into
  ``("updatedAt>>", "5")`` and ``title==x`` into ``("title", "=x")``, so the
  operator is rebuilt from both halves. Comma-separated values are OR-ed.
* A scope above the result type (``show.updatedAt`` on episodes) tests the
  ancestor; a scope below it (``episode.updatedAt`` on shows) matches when any
  descendant does. Unknown parameters are ignored rather than rejected.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .model import (
    EPISODE,
    MOVIE,
    SEASON,
    SHOW,
    AnyItem,
    Episode,
    Season,
    Show,
    ancestors,
    descendants,
    title_sort,
)

CONTAINER_START = "X-Plex-Container-Start"
CONTAINER_SIZE = "X-Plex-Container-Size"
_LEVELS = {SHOW: 0, SEASON: 1, EPISODE: 2}
_FILTER_PATTERN = re.compile(r"^(?:(movie|show|season|episode)\.)?([A-Za-z]+)([!<>]*)=(=?)(.*)$", re.DOTALL)
_RELATIVE_DATE = re.compile(r"^-?(\d+)(mon|[smhdwy])?$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800, "mon": 2_592_000, "y": 31_536_000}


def _date_epoch(text: str) -> int | None:
    if not text:
        return None
    day = dt.date.fromisoformat(text)
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def _playback_attr(name: str) -> Callable[[AnyItem], object]:
    def read(item: AnyItem) -> object:
        playback = getattr(item, "playback", None)
        return getattr(playback if playback is not None else item, name, None)

    return read


FIELDS: dict[str, tuple[str, Callable[[AnyItem], object]]] = {
    "addedAt": ("date", lambda item: item.added_at),
    "updatedAt": ("date", lambda item: item.updated_at),
    "lastViewedAt": ("date", _playback_attr("last_viewed_at")),
    "originallyAvailableAt": ("date", lambda item: _date_epoch(getattr(item, "originally_available_at", ""))),
    "title": ("string", lambda item: item.title),
    "titleSort": ("string", lambda item: title_sort(item.title)),
    "studio": ("string", lambda item: getattr(item, "studio", None)),
    "guid": ("string", lambda item: item.guid),
    "id": ("integer", lambda item: int(item.rating_key)),
    "year": ("integer", lambda item: getattr(item, "year", None)),
    "index": ("integer", lambda item: getattr(item, "index", None)),
    "duration": ("integer", lambda item: getattr(item, "duration", None)),
    "viewCount": ("integer", _playback_attr("view_count")),
    "rating": ("integer", lambda item: getattr(item, "rating", None)),
}
_NEGATED_OPERATORS = {"!=", "!=="}


@dataclass(frozen=True)
class Paging:
    start: int = 0
    size: int | None = None
    requested: bool = False


def paging_from(params: Mapping[str, str], headers: Mapping[str, str]) -> Paging:
    """Query parameters win over headers when a client sends both."""

    def read(name: str) -> int | None:
        raw = params.get(name, headers.get(name))
        try:
            return max(int(raw), 0) if raw is not None else None
        except ValueError:
            return None

    start, size = read(CONTAINER_START), read(CONTAINER_SIZE)
    return Paging(start=start or 0, size=size, requested=start is not None or size is not None)


def page(items: Sequence, paging: Paging, limit: int | None = None) -> tuple[Sequence, int]:
    """The requested slice and the total Plex reports (``limit`` caps the total, as in Plex)."""
    total = len(items) if limit is None else min(limit, len(items))
    start = min(paging.start, total)
    end = total if paging.size is None else min(start + paging.size, total)
    return items[start:end], total


@dataclass(frozen=True)
class FieldFilter:
    scope: str | None
    field: str
    operator: str
    values: tuple[str, ...]


def parse_filters(pairs: Sequence[tuple[str, str]]) -> list[FieldFilter]:
    filters = []
    for key, value in pairs:
        match = _FILTER_PATTERN.match(f"{key}={value}")
        if not match or match.group(2) not in FIELDS:
            continue
        scope, field, prefix, extra_equals, raw_values = match.groups()
        operator = f"{prefix}={extra_equals}"
        filters.append(FieldFilter(scope, field, operator, tuple(raw_values.split(","))))
    return filters


def _scope_targets(item: AnyItem, scope: str | None) -> list[AnyItem]:
    if scope is None or scope == item.kind or item.kind == MOVIE or scope not in _LEVELS:
        return [item]
    if _LEVELS[scope] < _LEVELS[item.kind]:
        return [ancestor for ancestor in ancestors(item) if ancestor.kind == scope]
    return [descendant for descendant in descendants(item) if descendant.kind == scope]


def _date_value(text: str, now: int) -> int | None:
    relative = _RELATIVE_DATE.match(text)
    if relative and (text.startswith("-") or relative.group(2)):
        return now - int(relative.group(1)) * _UNIT_SECONDS[relative.group(2) or "s"]
    if text.isdigit():
        return int(text)
    try:
        return _date_epoch(text)
    except ValueError:
        return None


def _compare(field_type: str, actual: object, operator: str, wanted: str, now: int) -> bool:
    if field_type == "string":
        have, want = str(actual).lower(), wanted.lower()
        return {
            "=": want in have,
            "!=": want in have,
            "==": have == want,
            "!==": have == want,
            "<=": have.startswith(want),
            ">=": have.endswith(want),
        }.get(operator, False)
    target = _date_value(wanted, now) if field_type == "date" else _number(wanted)
    if target is None:
        return False
    return {
        "=": actual == target,
        "!=": actual == target,
        ">>=": actual > target,
        "<<=": actual < target,
        ">=": actual >= target,
        "<=": actual <= target,
    }.get(operator, False)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def matches(item: AnyItem, field_filter: FieldFilter, now: int) -> bool:
    field_type, read = FIELDS[field_filter.field]
    for target in _scope_targets(item, field_filter.scope):
        actual = read(target)
        if actual is None:  # like SQL NULL: never satisfies a comparison
            continue
        hits = (
            _compare(field_type, actual, field_filter.operator, wanted, now) for wanted in field_filter.values
        )
        # Negated operators are stored as their positive test: "not any of the values".
        if field_filter.operator in _NEGATED_OPERATORS:
            if not any(hits):
                return True
        elif any(hits):
            return True
    return False


def apply_filters(items: Sequence[AnyItem], filters: list[FieldFilter], now: int) -> Sequence[AnyItem]:
    if not filters:
        return items
    return [item for item in items if all(matches(item, flt, now) for flt in filters)]


def apply_sort(items: Sequence[AnyItem], sort: str | None) -> Sequence[AnyItem]:
    """Sort by ``field[:asc|desc]`` keys; unknown keys keep the default order."""
    if not sort:
        return items
    ordered = list(items)
    for clause in reversed(sort.split(",")):
        name, _, direction = clause.partition(":")
        field = name.rsplit(".", 1)[-1]
        if field not in FIELDS:
            continue
        read = FIELDS[field][1]
        descending = direction == "desc"
        present = [item for item in ordered if read(item) is not None]
        missing = [item for item in ordered if read(item) is None]
        present.sort(key=lambda item: _sort_key(read(item)), reverse=descending)
        ordered = present + missing  # nulls last in both directions
    return ordered


def _sort_key(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def children_of(item: AnyItem) -> list[AnyItem]:
    if isinstance(item, Show):
        return list(item.seasons)
    if isinstance(item, Season):
        return list(item.episodes)
    return []


def leaves_of(show: Show) -> list[Episode]:
    return [episode for season in show.seasons for episode in season.episodes]
