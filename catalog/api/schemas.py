"""API schemas for the catalog (XOut for responses, XFilter for query filters)."""

from datetime import date, datetime
from typing import Annotated

from ninja import Field, FilterLookup, FilterSchema, Schema

from catalog.api.tag_schemas import EpisodeTagFilter, MovieTagFilter, ShowTagFilter


class SourceOut(Schema):
    """A media source. The Plex token is never part of any response; `has_token` says whether one is set."""

    id: int
    name: str
    kind: str
    enabled: bool
    base_url: str
    has_token: bool
    path: str
    sync_interval_minutes: int
    last_successful_sync_at: datetime | None
    auth_state: str
    auth_checked_at: datetime | None


class ConnectionCheckOut(Schema):
    """What "Test connection" found; `token_valid` is null when the server could not be reached."""

    ok: bool
    reachable: bool
    token_valid: bool | None
    server_name: str
    version: str
    machine_identifier: str
    libraries: list[str]
    round_trip_ms: float | None
    error: str
    summary: str


class LibraryOut(Schema):
    id: int
    source_id: int
    section_key: str
    title: str
    kind: str
    sync_enabled: bool
    last_synced_at: datetime | None


class LibraryFilter(FilterSchema):
    source: Annotated[int | None, FilterLookup("source_id")] = None
    kind: str | None = None


class ExternalIdOut(Schema):
    provider: str
    value: str


class ShowOut(Schema):
    id: int
    source_id: int
    library_id: int | None
    rating_key: str
    title: str
    year: int | None
    sort_title: str
    content_rating: str
    rating_rank: int | None  # minimum age on one scale across rating systems (99: unrated)
    studio: str
    genres: list
    tags: list[str] = Field([], description="Free tags from the source (a .nfo's <tag>).")
    network: str = Field("", description="Network (or studio) name, from the shared networks table.")
    primary_guid: str
    updated_at_plex: datetime | None
    state: str

    @staticmethod
    def resolve_network(show) -> str:
        return show.network.name if show.network_id else ""


class ShowFilter(ShowTagFilter):
    source: Annotated[int | None, FilterLookup("source_id")] = None
    library: Annotated[int | None, FilterLookup("library_id")] = None
    title: Annotated[str | None, FilterLookup("title__icontains")] = None
    year: int | None = None
    state: str | None = None
    content_rating: str | None = None


class SchedulingMetadataOut(Schema):
    daypart: str
    seasonal_preference: str
    category: str
    commercial_company: str
    expires_on: date | None
    target_demographic: str
    content_warnings: str


class PlayableOut(Schema):
    id: int
    kind: str
    source_id: int
    library_id: int | None
    rating_key: str
    title: str
    content_rating: str
    rating_rank: int | None  # minimum age on one scale across rating systems (99: unrated)
    duration_ms: int | None
    primary_guid: str
    state: str
    daypart: str
    seasonal_preference: str
    category: str
    commercial_company: str
    expires_on: date | None
    target_demographic: str
    tags: list[str] = Field([], description="Free tags from the source (a .nfo's <tag>).")


class EpisodeOut(PlayableOut):
    show_id: int
    show_title: str = Field(..., alias="show.title")
    season_number: int
    episode_number: int | None
    originally_aired: date | None


class EpisodeFilter(EpisodeTagFilter):
    show: Annotated[int | None, FilterLookup("show_id")] = None
    season: Annotated[int | None, FilterLookup("season_number")] = None
    source: Annotated[int | None, FilterLookup("source_id")] = None
    state: str | None = None
    title: Annotated[str | None, FilterLookup("title__icontains")] = None
    daypart: str | None = None


class MovieOut(PlayableOut):
    year: int | None
    studio: str
    genres: list


class MovieFilter(MovieTagFilter):
    source: Annotated[int | None, FilterLookup("source_id")] = None
    library: Annotated[int | None, FilterLookup("library_id")] = None
    title: Annotated[str | None, FilterLookup("title__icontains")] = None
    year: int | None = None
    state: str | None = None
    content_rating: str | None = None
    daypart: str | None = None


class ShortFormOut(PlayableOut):
    year: int | None


class ShortFormFilter(FilterSchema):
    kind: str | None = None
    source: Annotated[int | None, FilterLookup("source_id")] = None
    title: Annotated[str | None, FilterLookup("title__icontains")] = None
    daypart: str | None = None
    seasonal_preference: str | None = None
    category: str | None = None
    commercial_company: Annotated[str | None, FilterLookup("commercial_company__iexact")] = None
    state: str | None = None


class MediaFileOut(Schema):
    id: int
    playable_id: int
    position: int
    plex_path: str
    local_path: str
    size_bytes: int | None
    container: str
    video_codec: str
    audio_codec: str
    width: int | None
    height: int | None
    frame_rate: float | None
    duration_ms: int | None
    probed_at: datetime | None
    playable: bool = Field(..., alias="playable_ok")
    state: str


class MediaStreamOut(Schema):
    id: int
    media_file_id: int
    origin: str
    kind: str
    stream_index: int | None
    codec: str
    language: str
    language_code: str
    language_code_raw: str
    language_tag: str
    title: str
    display_title: str
    channels: int | None
    default: bool = Field(..., alias="is_default")
    forced: bool
    hearing_impaired: bool
    external: bool
    key: str
    path: str


class MediaFileFilter(FilterSchema):
    state: str | None = None
    item: Annotated[int | None, FilterLookup("playable_id")] = None
    path: Annotated[str | None, FilterLookup("local_path__icontains")] = None


class ChapterMarkOut(Schema):
    id: int
    title: str
    time_ms: int
    origin: str


class SyncRunOut(Schema):
    id: int
    source_id: int
    library_id: int | None
    kind: str
    status: str
    trigger: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    processed: int
    added: int
    updated: int
    removed: int
    skipped: int
    failed: int
    api_calls: int
    progress_total: int
    progress_done: int
    progress_label: str
    error: str


class SyncRunFilter(FilterSchema):
    source: Annotated[int | None, FilterLookup("source_id")] = None
    library: Annotated[int | None, FilterLookup("library_id")] = None
    status: str | None = None
    kind: str | None = None
