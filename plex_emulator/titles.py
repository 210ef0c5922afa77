"""Seeding an emulator with named titles, for tests that need a library other than the generated one.

``seed_titles(library, [Title("Se7en", 1995, ("tmdb://807",)), Title("Tron", 1982)])`` adds each
title with exactly the external ids given: with ids it carries a new-agent ``plex://`` guid and
``<Guid>`` children, without ids the legacy "none" agent (Plex's "Personal Media"), so nothing
but its title and year identifies it. Uses only the public mutation API.
"""

from __future__ import annotations

from dataclasses import dataclass

from .library import Library
from .model import MOVIE, SHOW, AnyItem


@dataclass(frozen=True)
class Title:
    title: str
    year: int
    ids: tuple[str, ...] = ()  # "tmdb://807", "imdb://tt0114369", "tvdb://76290"
    kind: str = MOVIE


def seed_titles(library: Library, titles: list[Title]) -> dict[Title, AnyItem]:
    """Add every title; returns the emulator item of each."""
    added: dict[Title, AnyItem] = {}
    for spec in titles:
        if spec.kind == MOVIE:
            item = library.add_movie(spec.title, spec.year, legacy_agent=None if spec.ids else "none")
            if spec.ids:
                library.touch(item.rating_key, external_guids=spec.ids)
        elif spec.kind == SHOW:
            item = library.add_show(spec.title, spec.year, seasons=1, episodes_per_season=1)
            library.touch(item.rating_key, external_guids=spec.ids)
        else:
            raise ValueError(f"cannot seed a {spec.kind!r}")
        added[spec] = item
    return added
