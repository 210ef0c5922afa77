"""Renders model items (movies, shows, seasons, episodes) as Plex XML elements.

Attribute order follows what Plex Media Server emits. Movies and episodes are
``<Video>``, shows and seasons ``<Directory>``; ``<Guid>`` children appear in
listings only with ``includeGuids=1`` but always in metadata details.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import AnyItem, Episode, Movie, Season, Section, Show, Tag, title_sort
from .xmlmedia import chapter_elements, marker_elements, media_element
from .xmlwriter import Attributes, element

RATING_IMAGE = "rottentomatoes://image.rating.ripe"
AUDIENCE_RATING_IMAGE = "rottentomatoes://image.rating.upright"
PEOPLE_THUMB_BASE = "https://metadata-static.plex.tv/people"


@dataclass(frozen=True)
class DetailOptions:
    """What a ``/library/metadata/<key>`` request asked to include."""

    chapters: bool = False
    markers: bool = False


def positive(value: int | None) -> int | None:
    """Plex leaves zero counters (viewCount, viewOffset) out."""
    return value or None


def render_item(
    item: AnyItem, section: Section, *, include_guids: bool, detail: DetailOptions | None = None
) -> str:
    """One ``<Video>``/``<Directory>`` element; ``detail`` switches on detail-only children."""
    guids = include_guids or detail is not None
    if isinstance(item, Movie):
        return element("Video", _movie_attributes(item, section), _playable_children(item, guids, detail))
    if isinstance(item, Episode):
        return element("Video", _episode_attributes(item, section), _playable_children(item, guids, detail))
    if isinstance(item, Show):
        return element("Directory", _show_attributes(item, section), _show_children(item, guids, detail))
    return element("Directory", _season_attributes(item, section), _guid_elements(item) if guids else "")


def _section_attributes(section: Section) -> Attributes:
    return (
        ("librarySectionTitle", section.title),
        ("librarySectionID", section.section_id),
        ("librarySectionKey", section.key),
    )


def _image(item: AnyItem, kind: str) -> str:
    return f"{item.key}/{kind}/{item.image_version}"


def _movie_attributes(movie: Movie, section: Section) -> Attributes:
    playback = movie.playback
    return (
        ("ratingKey", movie.rating_key),
        ("key", movie.key),
        ("guid", movie.guid),
        ("studio", movie.studio),
        ("type", "movie"),
        ("title", movie.title),
        ("titleSort", _title_sort_if_different(movie.title)),
        *_section_attributes(section),
        ("contentRating", movie.content_rating),
        ("summary", movie.summary),
        ("rating", movie.rating),
        ("audienceRating", movie.audience_rating),
        ("viewOffset", positive(playback.view_offset)),
        ("viewCount", positive(playback.view_count)),
        ("lastViewedAt", playback.last_viewed_at),
        ("year", movie.year),
        ("tagline", movie.tagline),
        ("thumb", _image(movie, "thumb")),
        ("art", _image(movie, "art")),
        ("duration", movie.duration),
        ("originallyAvailableAt", movie.originally_available_at),
        ("addedAt", movie.added_at),
        ("updatedAt", movie.updated_at),
        ("audienceRatingImage", AUDIENCE_RATING_IMAGE),
        ("chapterSource", "media" if playback.chapter_count else None),
        ("ratingImage", RATING_IMAGE),
    )


def _episode_attributes(episode: Episode, section: Section) -> Attributes:
    season, show, playback = episode.parent, episode.show, episode.playback
    return (
        ("ratingKey", episode.rating_key),
        ("key", episode.key),
        ("parentRatingKey", season.rating_key),
        ("grandparentRatingKey", show.rating_key),
        ("guid", episode.guid),
        ("parentGuid", season.guid),
        ("grandparentGuid", show.guid),
        ("type", "episode"),
        ("title", episode.title),
        ("grandparentKey", show.key),
        ("parentKey", season.key),
        *_section_attributes(section),
        ("grandparentTitle", show.title),
        ("parentTitle", season.title),
        ("contentRating", episode.content_rating),
        ("summary", episode.summary),
        ("index", episode.index),
        ("parentIndex", season.index),
        ("rating", episode.rating),
        ("audienceRating", episode.audience_rating),
        ("viewOffset", positive(playback.view_offset)),
        ("viewCount", positive(playback.view_count)),
        ("lastViewedAt", playback.last_viewed_at),
        ("year", episode.year),
        ("thumb", _image(episode, "thumb")),
        ("art", _image(show, "art")),
        ("parentThumb", _image(season, "thumb")),
        ("grandparentThumb", _image(show, "thumb")),
        ("grandparentArt", _image(show, "art")),
        ("grandparentTheme", _image(show, "theme")),
        ("duration", episode.duration),
        ("originallyAvailableAt", episode.originally_available_at),
        ("addedAt", episode.added_at),
        ("updatedAt", episode.updated_at),
        ("audienceRatingImage", AUDIENCE_RATING_IMAGE),
        ("chapterSource", "media" if playback.chapter_count else None),
    )


def _show_attributes(show: Show, section: Section) -> Attributes:
    return (
        ("ratingKey", show.rating_key),
        ("key", f"{show.key}/children"),
        ("guid", show.guid),
        ("studio", show.studio),
        ("type", "show"),
        ("title", show.title),
        ("titleSort", _title_sort_if_different(show.title)),
        *_section_attributes(section),
        ("contentRating", show.content_rating),
        ("summary", show.summary),
        ("index", 1),
        ("rating", show.rating),
        ("audienceRating", show.audience_rating),
        ("viewCount", positive(show.view_count)),
        ("lastViewedAt", show.last_viewed_at),
        ("year", show.year),
        ("tagline", show.tagline),
        ("thumb", _image(show, "thumb")),
        ("art", _image(show, "art")),
        ("banner", _image(show, "banner")),
        ("theme", _image(show, "theme")),
        ("duration", show.duration),
        ("originallyAvailableAt", show.originally_available_at),
        ("leafCount", show.leaf_count),
        ("viewedLeafCount", show.viewed_leaf_count),
        ("childCount", len(show.seasons)),
        ("addedAt", show.added_at),
        ("updatedAt", show.updated_at),
        ("audienceRatingImage", AUDIENCE_RATING_IMAGE),
    )


def _season_attributes(season: Season, section: Section) -> Attributes:
    show = season.parent
    return (
        ("ratingKey", season.rating_key),
        ("key", f"{season.key}/children"),
        ("parentRatingKey", show.rating_key),
        ("guid", season.guid),
        ("parentGuid", show.guid),
        ("parentStudio", show.studio),
        ("type", "season"),
        ("title", season.title),
        ("parentKey", show.key),
        *_section_attributes(section),
        ("parentTitle", show.title),
        ("summary", season.summary),
        ("index", season.index),
        ("parentIndex", 1),
        ("parentYear", show.year),
        ("thumb", _image(season, "thumb")),
        ("art", _image(show, "art")),
        ("parentThumb", _image(show, "thumb")),
        ("parentTheme", _image(show, "theme")),
        ("leafCount", len(season.episodes)),
        ("viewedLeafCount", season.viewed_leaf_count),
        ("addedAt", season.added_at),
        ("updatedAt", season.updated_at),
    )


def _title_sort_if_different(title: str) -> str | None:
    sort_title = title_sort(title)
    return sort_title if sort_title != title else None


def _guid_elements(item: AnyItem) -> str:
    return "".join(element("Guid", (("id", guid),)) for guid in item.external_guids)


def _tag_elements(tag_name: str, filter_name: str, tags: list[Tag]) -> str:
    return "".join(
        element(
            tag_name,
            (
                ("id", tag.tag_id),
                ("filter", f"{filter_name}={tag.tag_id}"),
                ("tag", tag.tag),
                ("role", tag.role),
                # Plex links cast photos on its metadata CDN; only the shape matters here.
                ("thumb", f"{PEOPLE_THUMB_BASE}/{tag.tag_id:024x}.jpg" if tag.role else None),
            ),
        )
        for tag in tags
    )


def _show_children(show: Show, guids: bool, detail: DetailOptions | None) -> str:
    parts = [
        _tag_elements("Genre", "genre", show.genres),
        _tag_elements("Country", "country", show.countries),
        _guid_elements(show) if guids else "",
        _tag_elements("Role", "actor", show.roles),
    ]
    if detail is not None:
        parts.append(element("Location", (("path", show.folder),)))
    return "".join(parts)


def _playable_children(item: Movie | Episode, guids: bool, detail: DetailOptions | None) -> str:
    with_streams = detail is not None
    parts = [media_element(media, with_streams) for media in item.media]
    if isinstance(item, Movie):
        parts += [
            _tag_elements("Genre", "genre", item.genres),
            _tag_elements("Country", "country", item.countries),
        ]
    if guids:
        parts.append(_guid_elements(item))
    parts += [
        _tag_elements("Director", "director", item.directors),
        _tag_elements("Writer", "writer", item.writers),
    ]
    if isinstance(item, Movie):
        parts += [
            _tag_elements("Producer", "producer", item.producers),
            _tag_elements("Role", "actor", item.roles),
        ]
    if detail is not None and detail.chapters:
        parts.append(chapter_elements(item.media[0], item.playback))
    if detail is not None and detail.markers:
        parts.append(marker_elements(item.media[0].media_id, item.duration, item.playback))
    return "".join(parts)
