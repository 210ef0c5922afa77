"""Configuration for the Plex emulator.

One frozen dataclass holds every knob so that the Python API, the CLI and the
HTTP control path all describe an emulator the same way. Everything that
shapes the generated library is derived from ``seed`` and ``base_time``; the
wall clock is only consulted for mutations and relative date filters, which is
what keeps two emulators with the same config byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

# 2024-01-01T00:00:00Z. Generated addedAt/updatedAt values lie before this
# instant, so anything mutated "now" is unambiguously newer than the seed data.
DEFAULT_BASE_TIME = 1_704_067_200

FAULT_KINDS = ("http500", "http503", "reset", "timeout", "malformed", "truncated")


@dataclass(frozen=True)
class EmulatorConfig:
    """Every knob of one emulator instance."""

    # Library shape
    seed: int = 1
    shows: int = 8
    seasons_per_show: int = 2
    episodes_per_season: int = 6
    specials_per_show: int = 2
    specials_fraction: float = 0.3
    movies: int = 20
    legacy_guid_fraction: float = 0.1
    multi_part_fraction: float = 0.03
    multi_version_fraction: float = 0.03
    missing_updated_at_fraction: float = 0.01
    watched_fraction: float = 0.2
    base_time: int = DEFAULT_BASE_TIME
    windows: bool = False

    # Server identity
    token: str = "emulator-token"  # noqa: S105 - a well-known test token, not a secret
    friendly_name: str = "RetroVue Plex Emulator"
    server_version: str = "1.41.3.9314-a0bfb8370"
    movie_section_id: int = 1
    show_section_id: int = 2

    # Network and behaviour
    host: str = "127.0.0.1"
    port: int = 0
    latency_ms: int = 0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = field(default=FAULT_KINDS)
    # Long enough to outlive any sane client timeout; the wait is interrupted
    # when the emulator stops, so it never delays shutdown.
    fault_timeout_seconds: float = 60.0

    def __post_init__(self) -> None:
        for name in ("shows", "seasons_per_show", "episodes_per_season", "specials_per_show", "movies"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in (
            "specials_fraction",
            "legacy_guid_fraction",
            "multi_part_fraction",
            "multi_version_fraction",
            "missing_updated_at_fraction",
            "watched_fraction",
            "fault_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        unknown = set(self.fault_kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; choose from {FAULT_KINDS}")
        if self.movie_section_id == self.show_section_id:
            raise ValueError("the movie and show sections need different ids")

    @property
    def episode_count(self) -> int:
        """Regular (non-special) episodes the generator will create."""
        return self.shows * self.seasons_per_show * self.episodes_per_season

    def with_changes(self, **changes: object) -> EmulatorConfig:
        """Return a copy with some knobs changed (the config itself is immutable)."""
        return replace(self, **changes)
