"""Catalog models, one module per concern; import them from `catalog.models`."""

from catalog.models.artwork import ARTWORK_WIDTHS, POSTER_WIDTH, THUMB_WIDTH, HasArtwork, artwork_url
from catalog.models.items import Episode, Movie, Playable, Season, ShortFormItem, Show, sort_title_for
from catalog.models.media import ChapterMark, ExternalId, MediaFile, PlexMarker, primary_external_id
from catalog.models.sources import Library, MediaSource, PathMapping
from catalog.models.sync import SyncRun, WebhookEvent, WebhookOutcome

__all__ = [
    "ARTWORK_WIDTHS",
    "POSTER_WIDTH",
    "THUMB_WIDTH",
    "ChapterMark",
    "Episode",
    "ExternalId",
    "HasArtwork",
    "Library",
    "MediaFile",
    "MediaSource",
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
    "artwork_url",
    "primary_external_id",
    "sort_title_for",
]
