"""Builds the initial library from an ``EmulatorConfig``.

Beyond random filler, the first few positions of each section are reserved for
the awkward cases sync code must survive, so tests can rely on them existing
whenever the library is big enough and the matching fraction is non-zero:

* shows 0/1: "Battlestar Galactica" 1978 and 2003 (same title, different year);
  show 1 has a season 0 "Specials";
* show 2: legacy ``com.plexapp.agents.thetvdb`` guids, and its S01E01 has no
  ``updatedAt``;
* movies 0/1: "The Thing" 1982 and 2011; movie 2 is split into two parts;
  movie 3 has two Media versions; movie 4 has no ``updatedAt``; movies 5/6/7
  use the legacy imdb, themoviedb and none agents.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import vocabulary as words
from .config import EmulatorConfig
from .generator import DAY, LEGACY_MOVIE_AGENTS, ItemFactory
from .model import MOVIE, SHOW, Movie, Section, Show

LEGACY_SHOW_POSITION = 2
MULTI_PART_POSITION, MULTI_VERSION_POSITION, NO_UPDATED_AT_POSITION = 2, 3, 4
LEGACY_MOVIE_POSITIONS = {5: "imdb", 6: "themoviedb", 7: "none"}
FIRST_RANDOM_MOVIE_POSITION = 8  # earlier positions are reserved for the cases above


@dataclass
class GeneratedLibrary:
    sections: dict[int, Section]
    movies: list[Movie]
    shows: list[Show]
    factory: ItemFactory


def generate_library(config: EmulatorConfig) -> GeneratedLibrary:
    factory = ItemFactory(config)
    sections = {
        config.movie_section_id: _section(factory, config.movie_section_id, MOVIE, factory.movie_root),
        config.show_section_id: _section(factory, config.show_section_id, SHOW, factory.tv_root),
    }
    used_titles: set[tuple[str, int]] = set()
    movies = [_seed_movie(factory, position, used_titles) for position in range(config.movies)]
    shows = [_seed_show(factory, position, used_titles) for position in range(config.shows)]
    return GeneratedLibrary(sections=sections, movies=movies, shows=shows, factory=factory)


def _section(factory: ItemFactory, section_id: int, kind: str, location: str) -> Section:
    base = factory.config.base_time
    if kind == MOVIE:
        title, agent, scanner = "Movies", "tv.plex.agents.movie", "Plex Movie"
    else:
        title, agent, scanner = "TV Shows", "tv.plex.agents.series", "Plex TV Series"
    return Section(
        section_id=section_id,
        kind=kind,
        title=title,
        agent=agent,
        scanner=scanner,
        uuid=factory.uuid(),
        location=location,
        created_at=base - 1_600 * DAY,
        scanned_at=base - 3_600,
    )


def _unique_title(
    factory: ItemFactory, patterns: tuple[str, ...], used: set[tuple[str, int]], kind: str
) -> tuple[str, int]:
    for _attempt in range(20):
        candidate = (factory.phrase(patterns), factory.rng.randint(1965, 2023))
        if (kind, *candidate) not in used:
            break
    title, year = candidate
    while (kind, title, year) in used:  # give up on variety, stay unique
        title += " Redux"
    used.add((kind, title, year))
    return title, year


def _chance(factory: ItemFactory, fraction: float) -> bool:
    return fraction > 0 and factory.rng.random() < fraction


def _seed_movie(factory: ItemFactory, position: int, used: set) -> Movie:
    config, rng = factory.config, factory.rng
    if position < len(words.FEATURED_MOVIES):
        title, year = words.FEATURED_MOVIES[position]
        used.add((MOVIE, title, year))
    else:
        title, year = _unique_title(factory, words.MOVIE_PATTERNS, used, MOVIE)

    def forced_or_random(forced_position: int, fraction: float) -> bool:
        if fraction <= 0:
            return False
        return position == forced_position or (
            position >= FIRST_RANDOM_MOVIE_POSITION and rng.random() < fraction
        )

    multi_version = forced_or_random(MULTI_VERSION_POSITION, config.multi_version_fraction)
    multi_part = not multi_version and forced_or_random(MULTI_PART_POSITION, config.multi_part_fraction)
    legacy_agent = None
    if config.legacy_guid_fraction > 0:
        legacy_agent = LEGACY_MOVIE_POSITIONS.get(position)
        if (
            legacy_agent is None
            and position >= FIRST_RANDOM_MOVIE_POSITION
            and rng.random() < config.legacy_guid_fraction
        ):
            legacy_agent = rng.choice(LEGACY_MOVIE_AGENTS)
    added_at = config.base_time - rng.randrange(30 * DAY, 1_500 * DAY)
    updated_at = min(added_at + rng.randrange(0, 90 * DAY), config.base_time - 1)
    if forced_or_random(NO_UPDATED_AT_POSITION, config.missing_updated_at_fraction):
        updated_at = None
    return factory.movie(
        title,
        year,
        added_at=added_at,
        updated_at=updated_at,
        legacy_agent=legacy_agent,
        parts=2 if multi_part else 1,
        versions=2 if multi_version else 1,
    )


def _seed_show(factory: ItemFactory, position: int, used: set) -> Show:
    config, rng = factory.config, factory.rng
    if position < len(words.FEATURED_SHOWS):
        title, year = words.FEATURED_SHOWS[position]
        used.add((SHOW, title, year))
    else:
        title, year = _unique_title(factory, words.SHOW_PATTERNS, used, SHOW)
    legacy = config.legacy_guid_fraction > 0 and (
        position == LEGACY_SHOW_POSITION
        or (position > LEGACY_SHOW_POSITION and rng.random() < config.legacy_guid_fraction)
    )
    added_at = config.base_time - rng.randrange(60 * DAY, 1_500 * DAY)
    show = factory.show(title, year, added_at=added_at, legacy=legacy)

    has_specials = (
        config.specials_per_show > 0
        and config.specials_fraction > 0
        and (position == 1 or _chance(factory, config.specials_fraction))
    )
    season_indexes = ([0] if has_specials else []) + list(range(1, config.seasons_per_show + 1))
    for season_index in season_indexes:
        season = factory.season(show, season_index, added_at=added_at)
        episode_total = config.specials_per_show if season_index == 0 else config.episodes_per_season
        for episode_index in range(1, episode_total + 1):
            episode_added = min(added_at + rng.randrange(0, 20 * DAY), config.base_time - DAY)
            episode_updated: int | None = min(
                episode_added + rng.randrange(0, 30 * DAY), config.base_time - 1
            )
            first_regular = season_index == 1 and episode_index == 1
            if (
                position == LEGACY_SHOW_POSITION and first_regular and config.missing_updated_at_fraction > 0
            ) or (_chance(factory, config.missing_updated_at_fraction)):
                episode_updated = None
            factory.episode(season, episode_index, added_at=episode_added, updated_at=episode_updated)
        _roll_up_times(season, season.episodes)
    _roll_up_times(show, show.seasons)
    return show


def _roll_up_times(parent, children) -> None:
    """A container is as old as its oldest child and as fresh as its freshest one."""
    if not children:
        return
    parent.added_at = min(child.added_at for child in children)
    updated = [child.updated_at for child in children if child.updated_at is not None]
    parent.updated_at = max([parent.added_at, *updated])
