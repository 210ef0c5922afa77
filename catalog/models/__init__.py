"""Catalog models, one module per concern; import them from `catalog.models`."""

from catalog.models.items import Episode, Movie, Playable, Season, ShortFormItem, Show, sort_title_for
from catalog.models.media import ChapterMark, ExternalId, MediaFile, PlexMarker, primary_external_id
from catalog.models.sources import Library, MediaSource, PathMapping
from catalog.models.streams import MediaStream
from catalog.models.sync import SyncRun, WebhookEvent, WebhookOutcome

__all__ = [
    "ChapterMark",
    "Episode",
    "ExternalId",
    "Library",
    "MediaFile",
    "MediaSource",
    "MediaStream",
    "Movie",
    "PathMapping",
    "Playable",
    "PlexMarker",
    "Season",
    "ShortFormItem",
    "Show",
    "SyncRun",
    "WebhookEvent",
    "WebhookOutcome",
    "primary_external_id",
    "sort_title_for",
]
