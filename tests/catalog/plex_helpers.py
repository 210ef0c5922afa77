"""Shared set-up for sync tests: an emulator, a source pointing at it, fast retries, DB snapshots."""

from __future__ import annotations

from catalog.models import ChapterMark, Episode, MediaSource, Movie, PlexMarker, Season, Show
from catalog.plex.client import RetryPolicy
from catalog.sync.engine import plex_client_for, sync_plex_source
from plex_emulator import EmulatorConfig

SMALL_LIBRARY = EmulatorConfig(
    shows=10, seasons_per_show=2, episodes_per_season=4, specials_per_show=1, movies=12, seed=7
)


def fast_client(source):
    return plex_client_for(
        source, retry=RetryPolicy(max_attempts=8, first_delay=0.005, max_delay=0.02), timeout=(2, 2)
    )


def source_for(emulator, **fields) -> MediaSource:
    return MediaSource.objects.create(
        name=fields.pop("name", "Emulated Plex"),
        kind="plex",
        base_url=emulator.url,
        token=emulator.token,
        **fields,
    )


def sync(source, mode="incremental", **options):
    options.setdefault("client_factory", fast_client)
    return sync_plex_source(source, mode, **options)


def snapshot(source) -> dict:
    """What the catalog says about a source, without database ids or timestamps."""
    return {
        "shows": sorted(
            Show.objects.filter(source=source).values_list(
                "rating_key", "title", "year", "state", "primary_guid"
            )
        ),
        "seasons": sorted(
            Season.objects.filter(show__source=source).values_list(
                "rating_key", "show__rating_key", "season_number", "state"
            )
        ),
        "episodes": sorted(
            Episode.objects.filter(source=source).values_list(
                "rating_key",
                "show__rating_key",
                "season_number",
                "episode_number",
                "title",
                "state",
                "primary_guid",
            )
        ),
        "movies": sorted(
            Movie.objects.filter(source=source).values_list(
                "rating_key", "title", "year", "state", "primary_guid"
            )
        ),
        "files": sorted(
            Episode.objects.filter(source=source).values_list(
                "rating_key", "files__position", "files__plex_path", "files__state"
            )
        )
        + sorted(
            Movie.objects.filter(source=source).values_list(
                "rating_key", "files__position", "files__plex_path", "files__state"
            )
        ),
        "chapters": sorted(
            ChapterMark.objects.filter(playable__source=source).values_list("playable__rating_key", "time_ms")
        ),
        "markers": sorted(
            PlexMarker.objects.filter(playable__source=source).values_list(
                "playable__rating_key", "kind", "start_ms"
            )
        ),
        "external_ids": sorted(
            (owner or "", provider, value)
            for owner, provider, value in source.external_ids.values_list(
                "playable__rating_key", "provider", "value"
            )
        ),
    }
