"""Catalog models, one module per concern; import them from `catalog.models`."""

from catalog.models.collections import Collection, CollectionMember, MemberKind
from catalog.models.items import Episode, Movie, Playable, Season, ShortFormItem, Show, sort_title_for
from catalog.models.media import ChapterMark, ExternalId, MediaFile, PlexMarker, primary_external_id
from catalog.models.sources import Library, MediaSource, PathMapping
from catalog.models.sync import SyncRun, WebhookEvent, WebhookOutcome
from catalog.models.tags import Credit, CreditRole, Genre, Person, PlayableGenre, ShowGenre, Studio

__all__ = [
    "ChapterMark",
    "Collection",
    "CollectionMember",
    "Credit",
    "CreditRole",
    "Episode",
    "ExternalId",
    "Genre",
    "Library",
    "MediaFile",
    "MediaSource",
    "MemberKind",
    "Movie",
    "PathMapping",
    "Person",
    "Playable",
    "PlayableGenre",
    "PlexMarker",
    "Season",
    "ShortFormItem",
    "Show",
    "ShowGenre",
    "Studio",
    "SyncRun",
    "WebhookEvent",
    "WebhookOutcome",
    "primary_external_id",
    "sort_title_for",
]
