"""Catalog models, one module per concern; import them from `catalog.models`."""

from catalog.models.artwork import ARTWORK_WIDTHS, POSTER_WIDTH, THUMB_WIDTH, HasArtwork, artwork_url
from catalog.models.collections import Collection, CollectionMember, MemberKind
from catalog.models.items import Episode, Movie, Playable, Season, ShortFormItem, Show, sort_title_for
from catalog.models.live import ListenerStatus, NotificationListenerState
from catalog.models.matching import (
    MatchCandidate,
    MatchDecision,
    MatchedItem,
    MatchingTurn,
    Work,
    WorkMember,
)
from catalog.models.media import ChapterMark, ExternalId, MediaFile, PlexMarker, primary_external_id
from catalog.models.plex_signin import PlexDevice, PlexSignIn
from catalog.models.sources import Library, MediaSource, PathMapping
from catalog.models.streams import MediaStream
from catalog.models.sync import SyncItemError, SyncRun, WebhookEvent, WebhookOutcome
from catalog.models.tags import Credit, CreditRole, Genre, Person, PlayableGenre, ShowGenre, Studio

__all__ = [
    "ARTWORK_WIDTHS",
    "POSTER_WIDTH",
    "THUMB_WIDTH",
    "ChapterMark",
    "Collection",
    "CollectionMember",
    "Credit",
    "CreditRole",
    "Episode",
    "ExternalId",
    "Genre",
    "HasArtwork",
    "Library",
    "ListenerStatus",
    "MatchCandidate",
    "MatchDecision",
    "MatchedItem",
    "MatchingTurn",
    "MediaFile",
    "MediaSource",
    "MediaStream",
    "MemberKind",
    "Movie",
    "NotificationListenerState",
    "PathMapping",
    "Person",
    "Playable",
    "PlayableGenre",
    "PlexDevice",
    "PlexMarker",
    "PlexSignIn",
    "Season",
    "ShortFormItem",
    "Show",
    "ShowGenre",
    "Studio",
    "SyncItemError",
    "SyncRun",
    "WebhookEvent",
    "WebhookOutcome",
    "Work",
    "WorkMember",
    "artwork_url",
    "primary_external_id",
    "sort_title_for",
]
