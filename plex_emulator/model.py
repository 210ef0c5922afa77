"""In-memory model of a Plex library: sections, movies, shows, seasons, episodes.

The classes hold only facts; how they look on the wire lives in ``xmlrender``.
Field names follow Python conventions and map one-to-one onto Plex attributes
(``rating_key`` → ``ratingKey``). Items keep direct references to their
parents so that episode listings can hoist show/season data without lookups.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MOVIE, SHOW, SEASON, EPISODE = "movie", "show", "season", "episode"

# Plex's numeric search types (``type=`` query parameter).
SEARCH_TYPES = {MOVIE: 1, SHOW: 2, SEASON: 3, EPISODE: 4}
TYPES_BY_NUMBER = {number: name for name, number in SEARCH_TYPES.items()}


@dataclass(slots=True, eq=False)
class Section:
    """A library section (``/library/sections/<id>``)."""

    section_id: int
    kind: str  # MOVIE or SHOW
    title: str
    agent: str
    scanner: str
    uuid: str
    location: str
    created_at: int
    scanned_at: int
    content_changed_at: int = 1

    @property
    def key(self) -> str:
        return f"/library/sections/{self.section_id}"


@dataclass(slots=True, eq=False)
class Tag:
    """A Genre/Director/Writer/Role/Country entry attached to an item."""

    tag_id: int
    tag: str
    role: str | None = None


@dataclass(slots=True, eq=False)
class MediaPart:
    """One file (``<Part>``); a split movie has several in one Media."""

    part_id: int
    file: str
    duration: int
    size: int
    container: str


@dataclass(slots=True, eq=False)
class MediaVersion:
    """One version of an item (``<Media>``), e.g. the 1080p or the 4K copy."""

    media_id: int
    duration: int
    bitrate: int
    width: int
    height: int
    video_resolution: str
    video_codec: str
    video_profile: str
    video_frame_rate: str
    audio_codec: str
    audio_channels: int
    audio_profile: str | None
    container: str
    has_subtitles: bool
    parts: list[MediaPart] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Playback:
    """Per-item viewing state, chapters and markers of a playable item."""

    view_count: int = 0
    last_viewed_at: int | None = None
    view_offset: int = 0
    chapter_count: int = 0
    intro: tuple[int, int] | None = None
    credits_start: int | None = None


@dataclass(slots=True, eq=False)
class Item:
    """Attributes every metadata item shares."""

    rating_key: str
    section_id: int
    guid: str
    external_guids: tuple[str, ...]  # <Guid id=.../> children; empty for legacy agents
    title: str
    summary: str
    added_at: int
    updated_at: int | None

    @property
    def kind(self) -> str:
        raise NotImplementedError

    @property
    def key(self) -> str:
        return f"/library/metadata/{self.rating_key}"

    @property
    def image_version(self) -> int:
        """Plex appends the item's last change time to image URLs as a cache buster."""
        return self.updated_at or self.added_at


@dataclass(slots=True, eq=False)
class Movie(Item):
    year: int = 2000
    studio: str = ""
    content_rating: str = ""
    tagline: str = ""
    originally_available_at: str = ""
    rating: float = 0.0
    audience_rating: float = 0.0
    duration: int = 0
    media: list[MediaVersion] = field(default_factory=list)
    genres: list[Tag] = field(default_factory=list)
    directors: list[Tag] = field(default_factory=list)
    writers: list[Tag] = field(default_factory=list)
    producers: list[Tag] = field(default_factory=list)
    roles: list[Tag] = field(default_factory=list)
    countries: list[Tag] = field(default_factory=list)
    playback: Playback = field(default_factory=Playback)

    @property
    def kind(self) -> str:
        return MOVIE


@dataclass(slots=True, eq=False)
class Show(Item):
    year: int = 2000
    studio: str = ""
    content_rating: str = ""
    tagline: str = ""
    originally_available_at: str = ""
    audience_rating: float = 0.0
    rating: float = 0.0
    duration: int = 0  # typical episode runtime, as Plex reports it
    folder: str = ""
    genres: list[Tag] = field(default_factory=list)
    roles: list[Tag] = field(default_factory=list)
    countries: list[Tag] = field(default_factory=list)
    seasons: list[Season] = field(default_factory=list)
    view_count: int = 0
    last_viewed_at: int | None = None

    @property
    def kind(self) -> str:
        return SHOW

    @property
    def leaf_count(self) -> int:
        return sum(len(season.episodes) for season in self.seasons)

    @property
    def viewed_leaf_count(self) -> int:
        return sum(season.viewed_leaf_count for season in self.seasons)

    def season_by_index(self, index: int) -> Season | None:
        return next((season for season in self.seasons if season.index == index), None)


@dataclass(slots=True, eq=False)
class Season(Item):
    index: int = 1
    show: Show | None = None
    episodes: list[Episode] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return SEASON

    @property
    def viewed_leaf_count(self) -> int:
        return sum(1 for episode in self.episodes if episode.playback.view_count)

    @property
    def parent(self) -> Show:
        if self.show is None:
            raise LookupError(f"season {self.rating_key} is detached from its show")
        return self.show


@dataclass(slots=True, eq=False)
class Episode(Item):
    index: int = 1
    year: int = 2000
    content_rating: str = ""
    originally_available_at: str = ""
    rating: float = 0.0
    audience_rating: float = 0.0
    duration: int = 0
    season: Season | None = None
    media: list[MediaVersion] = field(default_factory=list)
    directors: list[Tag] = field(default_factory=list)
    writers: list[Tag] = field(default_factory=list)
    playback: Playback = field(default_factory=Playback)

    @property
    def kind(self) -> str:
        return EPISODE

    @property
    def parent(self) -> Season:
        if self.season is None:
            raise LookupError(f"episode {self.rating_key} is detached from its season")
        return self.season

    @property
    def show(self) -> Show:
        return self.parent.parent


AnyItem = Movie | Show | Season | Episode


def title_sort(title: str) -> str:
    """Plex sorts titles without a leading English article."""
    for article in ("The ", "A ", "An "):
        if title.startswith(article) and len(title) > len(article):
            return title[len(article) :]
    return title


def ancestors(item: AnyItem) -> list[AnyItem]:
    """Season and show of an episode, show of a season, nothing otherwise."""
    if isinstance(item, Episode):
        return [item.parent, item.show]
    if isinstance(item, Season):
        return [item.parent]
    return []


def descendants(item: AnyItem) -> list[AnyItem]:
    """Every season and episode below a show, or the episodes of a season."""
    if isinstance(item, Show):
        found: list[AnyItem] = []
        for season in item.seasons:
            found.append(season)
            found.extend(season.episodes)
        return found
    if isinstance(item, Season):
        return list(item.episodes)
    return []
