"""Plain values out of Plex XML elements: what the sync stores, nothing more.

Tolerant by design: real servers omit attributes (`updatedAt`, `parentRatingKey` when seasons are
hidden, `tag` on chapters), and some captures put `<Part>` beside `<Media>` instead of inside it.
A missing required attribute (`ratingKey`) is a malformed item and is reported, not guessed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from xml.etree.ElementTree import Element

from catalog.identity import ExternalIdPair, external_ids_from_plex


class MalformedItem(ValueError):
    """An element lacks what identifies it (e.g. no ratingKey)."""


@dataclass
class RemotePart:
    """A `<Part>`, with what its `<Media>` (the version it belongs to) says about it."""

    part_key: str
    file: str
    size_bytes: int | None
    container: str
    duration_ms: int | None
    video_codec: str = ""
    audio_codec: str = ""
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None
    version: int = 0  # which <Media> of the item, in Plex's order
    media_key: str = ""  # that Media's id
    version_duration_ms: int | None = None  # that Media's length (all its parts)


@dataclass(frozen=True)
class RemoteCredit:
    """A `<Role>`, `<Director>`, `<Writer>` or `<Producer>` tag of an item."""

    role: str  # actor, director, writer, producer
    name: str
    character: str = ""
    thumb: str = ""
    tag_key: str = ""


@dataclass
class RemoteTags:
    """An item's genres, credits and network/studio. Listings carry only the first few of each
    (and no characters on older servers); a full metadata fetch carries them all."""

    genres: list[str] = field(default_factory=list)
    credits: list[RemoteCredit] = field(default_factory=list)
    network: str = ""


CREDIT_TAGS = {"Role": "actor", "Director": "director", "Writer": "writer", "Producer": "producer"}


def tags_of(element: Element) -> RemoteTags:
    """Genres, credits and network of an item element (listing or full metadata)."""
    genres, credits = [], []
    for child in element:
        name = (child.get("tag") or "").strip()
        if not name:
            continue
        if child.tag == "Genre":
            genres.append(name)
        elif child.tag in CREDIT_TAGS:
            credits.append(
                RemoteCredit(
                    CREDIT_TAGS[child.tag],
                    name,
                    (child.get("role") or "").strip(),
                    child.get("thumb", ""),
                    child.get("tagKey", ""),
                )
            )
    # Newer servers name a show's network in `network`; `studio` holds it otherwise.
    network = (element.get("network") or element.get("studio") or "").strip()
    return RemoteTags(genres, credits, network)


@dataclass
class RemoteItem:
    """A show, season, episode or movie as Plex lists it."""

    kind: str
    rating_key: str
    title: str
    guid: str
    external_ids: list[ExternalIdPair]
    updated_at: int | None
    added_at: int | None
    summary: str = ""
    year: int | None = None
    content_rating: str = ""
    studio: str = ""
    genres: list[str] = field(default_factory=list)
    duration_ms: int | None = None
    index: int | None = None
    parent_index: int | None = None
    parent_rating_key: str = ""
    grandparent_rating_key: str = ""
    audience_rating: float | None = None
    originally_available: date | None = None
    sort_title: str = ""
    thumb: str = ""  # poster (episode: its still), a server path ending in a timestamp
    parts: list[RemotePart] = field(default_factory=list)
    chapters: list[tuple[str, int]] | None = None  # None: not fetched (listings don't carry them)
    markers: list[tuple[str, int, int]] | None = None
    tags: RemoteTags = field(default_factory=RemoteTags)

    @property
    def fingerprint(self) -> str:
        """Digest of what is stored from a listing; equal digests mean nothing to write.

        `updatedAt` is left out on purpose: Plex bumps it on a show when one episode changes, and
        on refreshes that change nothing we keep, so it would turn no-ops into writes. `thumb` too,
        as it ends in that same timestamp; the sync keeps it up to date on its own (artwork_ref).
        """
        material = "\x1f".join(
            str(value)
            for value in (
                self.title, self.guid, self.external_ids, self.updated_at is None, self.summary, self.year,
                self.content_rating, self.studio, self.genres, self.duration_ms, self.index,
                self.parent_index, self.parent_rating_key, self.grandparent_rating_key,
                self.audience_rating, self.originally_available, self.sort_title,
                [(p.part_key, p.file, p.size_bytes, p.container, p.duration_ms, p.video_codec,
                  p.audio_codec, p.width, p.height, p.frame_rate) for p in self.parts],

                self.tags.network, [(c.role, c.name, c.character) for c in self.tags.credits],
            )
        )  # fmt: skip
        if any(part.version for part in self.parts):
            # Only with several versions, so a single-version item keeps the digest it had before
            # versions were stored (no mass rewrite on upgrade).
            material += "\x1f" + str([(p.version, p.media_key, p.version_duration_ms) for p in self.parts])
        return hashlib.blake2b(material.encode(), digest_size=16).hexdigest()


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


_FRAME_RATE_WORDS = {
    "24p": 23.976,
    "ntsc": 29.97,
    "pal": 25.0,
    "60p": 59.94,
    "30p": 29.97,
    "25p": 25.0,
    "50p": 50.0,
}


def _parts(element: Element) -> list[RemotePart]:
    """Media → Part pairs, also when a capture puts Part beside Media rather than inside it."""
    parts: list[RemotePart] = []
    current_media: Element | None = None

    versions_seen = 0

    def add(part: Element, media: Element | None):
        media_attr = media.attrib if media is not None else {}
        parts.append(
            RemotePart(
                part_key=part.get("key", ""),
                file=part.get("file", ""),
                size_bytes=_int(part.get("size")),
                container=part.get("container") or media_attr.get("container", ""),
                duration_ms=_int(part.get("duration")) or _int(media_attr.get("duration")),
                video_codec=media_attr.get("videoCodec", ""),
                audio_codec=media_attr.get("audioCodec", ""),
                width=_int(media_attr.get("width")),
                height=_int(media_attr.get("height")),
                frame_rate=_FRAME_RATE_WORDS.get(media_attr.get("videoFrameRate", "").lower()),
                version=max(versions_seen - 1, 0),
                media_key=media_attr.get("id", ""),
                version_duration_ms=_int(media_attr.get("duration")),
            )
        )

    for child in element:
        if child.tag == "Media":
            current_media = child
            versions_seen += 1
            for part in child.iter("Part"):
                add(part, child)
        elif child.tag == "Part":
            add(child, current_media)
    return parts


def is_all_episodes_entry(element: Element) -> bool:
    """The "All episodes" `Directory` Plex puts first in a show's `/children`.

    It links to the show's `/allLeaves` and has no ratingKey and no type: it is a shortcut, not a
    season, so it is neither stored nor reported as malformed (PLEX_API_NOTES §5).
    """
    return (
        element.tag == "Directory"
        and not element.get("ratingKey", "").strip()
        and not element.get("type")
        and element.get("key", "").rstrip("/").endswith("/allLeaves")
    )


def parse_item(element: Element, kind: str | None = None) -> RemoteItem:
    attributes = element.attrib
    rating_key = attributes.get("ratingKey", "").strip()
    if not rating_key:
        raise MalformedItem(f"{element.tag} {attributes.get('title', '?')!r} has no ratingKey")
    kind = kind or attributes.get("type", "")
    guid = attributes.get("guid", "")
    children_guids = [child.get("id", "") for child in element if child.tag == "Guid"]
    item = RemoteItem(
        kind=kind,
        rating_key=rating_key,
        title=attributes.get("title", "").strip() or f"Untitled {rating_key}",
        guid=guid,
        external_ids=external_ids_from_plex(guid, children_guids),
        updated_at=_int(attributes.get("updatedAt")),
        added_at=_int(attributes.get("addedAt")),
        summary=attributes.get("summary", ""),
        year=_int(attributes.get("year")),
        content_rating=attributes.get("contentRating", ""),
        studio=attributes.get("studio", ""),
        genres=[child.get("tag", "") for child in element if child.tag == "Genre" and child.get("tag")],
        tags=tags_of(element),
        duration_ms=_int(attributes.get("duration")),
        index=_int(attributes.get("index")),
        parent_index=_int(attributes.get("parentIndex")),
        parent_rating_key=attributes.get("parentRatingKey", ""),
        grandparent_rating_key=attributes.get("grandparentRatingKey", ""),
        audience_rating=_float(attributes.get("audienceRating") or attributes.get("rating")),
        originally_available=_date(attributes.get("originallyAvailableAt")),
        sort_title=attributes.get("titleSort", ""),
        thumb=attributes.get("thumb", ""),
        parts=_parts(element) if kind in ("episode", "movie") else [],
    )
    if any(child.tag == "Chapter" for child in element) or any(child.tag == "Marker" for child in element):
        item.chapters, item.markers = _chapters_and_markers(element)
    return item


def _chapters_and_markers(element: Element) -> tuple[list[tuple[str, int]], list[tuple[str, int, int]]]:
    chapters = []
    markers = []
    for child in element.iter():
        if child.tag == "Chapter":
            start = _int(child.get("startTimeOffset"))
            if start is not None:
                chapters.append((child.get("tag", ""), start))
        elif child.tag == "Marker":
            start, end = _int(child.get("startTimeOffset")), _int(child.get("endTimeOffset"))
            if start is not None and end is not None and end >= start:
                markers.append((child.get("type", ""), start, end))
    return chapters, markers


def details_of(element: Element) -> tuple[list[tuple[str, int]], list[tuple[str, int, int]]]:
    """Chapters and markers of a fully fetched item (empty lists when it has none)."""
    return _chapters_and_markers(element)


@dataclass
class RemoteStream:
    """An audio or subtitle track of a Part, as the full item lists it (listings carry none)."""

    kind: str
    index: int | None
    codec: str = ""
    language: str = ""
    language_code: str = ""
    language_tag: str = ""
    title: str = ""
    display_title: str = ""
    channels: int | None = None
    default: bool = False
    forced: bool = False
    hearing_impaired: bool = False
    key: str = ""

    @property
    def external(self) -> bool:
        """A sidecar file: Plex gives it a key to fetch it by and no index in the container."""
        return bool(self.key) and self.index is None


STREAM_TYPES = {"2": "audio", "3": "subtitle"}  # 1 video is on MediaFile already; 4 lyrics is music


def _flag(value: str | None) -> bool:
    # "1" in XML, true in JSON, and absent (not "0") when false.
    return (value or "").strip().lower() in ("1", "true")


def streams_by_part(element: Element) -> list[tuple[str, list[RemoteStream]]]:
    """(Part key, its audio/subtitle streams) in Part order.

    Walks the item in document order, so a Stream belongs to the Part before it whether it is nested
    inside (real servers) or placed beside it (some captures flatten Media, Part and Stream).
    """
    parts: list[tuple[str, list[RemoteStream]]] = []
    for child in element.iter():
        if child.tag == "Part":
            parts.append((child.get("key", ""), []))
        elif child.tag == "Stream" and parts:
            kind = STREAM_TYPES.get(child.get("streamType", ""))
            if kind is None:
                continue
            parts[-1][1].append(
                RemoteStream(
                    kind=kind,
                    index=_int(child.get("index")),
                    codec=child.get("codec", ""),
                    language=child.get("language", ""),
                    language_code=child.get("languageCode", ""),
                    language_tag=child.get("languageTag", ""),
                    title=child.get("title", ""),
                    display_title=child.get("displayTitle", "") or child.get("extendedDisplayTitle", ""),
                    channels=_int(child.get("channels")),
                    default=_flag(child.get("default")),
                    forced=_flag(child.get("forced")),
                    hearing_impaired=_flag(child.get("hearingImpaired")),
                    key=child.get("key", ""),
                )
            )
    return parts


def epoch_to_datetime(epoch: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=UTC) if epoch is not None else None
