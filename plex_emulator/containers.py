"""Server-level documents and the ``MediaContainer`` attributes of each listing.

Plex hoists attributes shared by all children (section id and title, the
parent show of a season's episodes, ...) onto the container; the helpers here
return those attribute pairs so the handler only adds ``size``/``offset``/
``totalSize`` on top.
"""

from __future__ import annotations

import hashlib

from .config import EmulatorConfig
from .model import MOVIE, Season, Section, Show
from .xmlwriter import Attributes, container, element

IDENTIFIER = "com.plexapp.plugins.library"
MEDIA_TAG_PREFIX = "/system/bundle/media/flags/"
ROOT_DIRECTORIES = (
    "activities", "butler", "channels", "clients", "devices", "diagnostics", "hubs", "library", "livetv",
    "media", "metadata", "neighborhood", "playQueues", "player", "playlists", "resources", "search",
    "server", "servers", "statistics", "system", "transcode", "updater", "user",
)  # fmt: skip


def machine_identifier(config: EmulatorConfig) -> str:
    # Derived from the seed alone so that it survives restarts, like a real server's id.
    return hashlib.sha1(f"retrovue-plex-emulator:{config.seed}".encode(), usedforsecurity=False).hexdigest()


def media_tag_version(config: EmulatorConfig) -> int:
    return config.base_time - 86_400


def _platform(config: EmulatorConfig) -> tuple[str, str]:
    if config.windows:
        return "Windows", "10.0 (Build 19045)"
    return "Linux", "22.04.4 LTS (Jammy Jellyfish)"


def server_root(config: EmulatorConfig) -> bytes:
    platform, platform_version = _platform(config)
    pairs = (
        ("size", len(ROOT_DIRECTORIES)), ("allowCameraUpload", "0"), ("allowChannelAccess", "1"),
        ("allowMediaDeletion", "1"), ("allowSharing", "1"), ("allowSync", "1"), ("allowTuners", "0"),
        ("backgroundProcessing", "1"), ("certificate", "0"), ("companionProxy", "1"), ("countryCode", "usa"),
        ("diagnostics", "logs,databases,streaminglogs"), ("eventStream", "1"),
        ("friendlyName", config.friendly_name), ("hubSearch", "1"), ("itemClusters", "1"), ("livetv", "7"),
        ("machineIdentifier", machine_identifier(config)), ("mediaProviders", "1"), ("multiuser", "1"),
        ("myPlex", "0"), ("myPlexMappingState", "unknown"), ("myPlexSigninState", "none"),
        ("myPlexSubscription", "0"), ("offlineTranscode", "1"), ("ownerFeatures", ""), ("photoAutoTag", "0"),
        ("platform", platform), ("platformVersion", platform_version), ("pluginHost", "1"),
        ("pushNotifications", "0"), ("readOnlyLibraries", "0"), ("requestParametersInCookie", "1"),
        ("streamingBrainABRVersion", "3"), ("streamingBrainVersion", "2"), ("sync", "1"),
        ("transcoderActiveVideoSessions", "0"), ("transcoderAudio", "1"), ("transcoderLyrics", "1"),
        ("transcoderPhoto", "1"), ("transcoderSubtitles", "1"), ("transcoderVideo", "1"),
        ("transcoderVideoBitrates", "64,96,208,320,720,1500,2000,3000,4000,8000,10000,12000,20000"),
        ("transcoderVideoQualities", "0,1,2,3,4,5,6,7,8,9,10,11,12"),
        ("transcoderVideoResolutions", "128,128,160,240,320,480,768,720,720,1080,1080,1080,1080"),
        ("updatedAt", config.base_time), ("updater", "1"), ("version", config.server_version),
        ("voiceSearch", "1"),
    )  # fmt: skip
    body = "".join(
        element("Directory", (("count", 1), ("key", key), ("title", key))) for key in ROOT_DIRECTORIES
    )
    return container(pairs, body)


def identity(config: EmulatorConfig) -> bytes:
    pairs = (
        ("size", 0),
        ("apiVersion", "1.1.1"),
        ("claimed", "1"),
        ("machineIdentifier", machine_identifier(config)),
        ("version", config.server_version),
    )
    return container(pairs, "")


def library_root(config: EmulatorConfig) -> bytes:
    pairs = (
        ("size", 3),
        ("allowSync", "0"),
        ("art", "/:/resources/library-art.png"),
        ("content", ""),
        ("identifier", IDENTIFIER),
        ("mediaTagPrefix", MEDIA_TAG_PREFIX),
        ("mediaTagVersion", media_tag_version(config)),
        ("title1", "Plex Library"),
        ("title2", ""),
    )
    body = "".join(
        element("Directory", (("key", key), ("title", title)))
        for key, title in (
            ("sections", "Library Sections"),
            ("recentlyAdded", "Recently Added Content"),
            ("onDeck", "On Deck Content"),
        )
    )
    return container(pairs, body)


def _section_art(section: Section) -> tuple[str, str]:
    kind = "movie" if section.kind == MOVIE else "show"
    return f"/:/resources/{kind}-fanart.jpg", f"/:/resources/{kind}.png"


def section_directory(section: Section) -> str:
    art, thumb = _section_art(section)
    pairs = (
        ("allowSync", "1"), ("art", art),
        ("composite", f"/library/sections/{section.section_id}/composite/{section.scanned_at}"),
        ("filters", "1"), ("refreshing", "0"), ("thumb", thumb), ("key", section.section_id),
        ("type", section.kind), ("title", section.title), ("agent", section.agent), ("scanner", section.scanner),
        ("language", "en-US"), ("uuid", section.uuid), ("updatedAt", section.scanned_at),
        ("createdAt", section.created_at), ("scannedAt", section.scanned_at), ("content", "1"),
        ("directory", "1"), ("contentChangedAt", section.content_changed_at), ("hidden", "0"),
    )  # fmt: skip
    location = element("Location", (("id", section.section_id), ("path", section.location)))
    return element("Directory", pairs, location)


def sections_list(config: EmulatorConfig, sections: list[Section]) -> bytes:
    pairs = (
        ("size", len(sections)),
        ("allowSync", "0"),
        ("identifier", IDENTIFIER),
        ("mediaTagPrefix", MEDIA_TAG_PREFIX),
        ("mediaTagVersion", media_tag_version(config)),
        ("title1", "Plex Library"),
    )
    return container(pairs, "".join(section_directory(section) for section in sections))


def section_browse(config: EmulatorConfig, section: Section) -> bytes:
    """``/library/sections/<id>``: the browse options of one section."""
    art, thumb = _section_art(section)
    entries = (("all", "All"), ("recentlyAdded", "Recently Added"), ("folder", "By Folder"))
    body = "".join(element("Directory", (("key", key), ("title", title))) for key, title in entries)
    pairs = (
        ("size", len(entries)),
        *library_attributes(config, section),
        ("art", art),
        ("thumb", thumb),
        ("title1", section.title),
        ("viewGroup", "secondary"),
    )
    return container(pairs, body)


def library_attributes(config: EmulatorConfig, section: Section | None) -> Attributes:
    """Attributes every library container carries; section ones only when all items share a section."""
    pairs = [("allowSync", "1"), ("identifier", IDENTIFIER)]
    if section is not None:
        pairs += [
            ("librarySectionID", section.section_id),
            ("librarySectionTitle", section.title),
            ("librarySectionUUID", section.uuid),
        ]
    pairs += [("mediaTagPrefix", MEDIA_TAG_PREFIX), ("mediaTagVersion", media_tag_version(config))]
    return pairs


def section_listing_attributes(config: EmulatorConfig, section: Section, libtype: str) -> Attributes:
    art, thumb = _section_art(section)
    title2 = {"movie": "All Movies", "show": "All Shows", "season": "All Seasons", "episode": "All Episodes"}
    return (
        *library_attributes(config, section),
        ("art", art),
        ("nocache", "1"),
        ("sortAsc", "1"),
        ("thumb", thumb),
        ("title1", section.title),
        ("title2", title2[libtype]),
        ("viewGroup", libtype),
        ("viewMode", "131122"),
    )


def show_children_attributes(
    config: EmulatorConfig, section: Section, show: Show, leaves: bool
) -> Attributes:
    """Container of ``/children`` (seasons) or, with ``leaves``, ``/allLeaves`` (episodes) of a show."""
    return (
        *library_attributes(config, section),
        ("art", f"{show.key}/art/{show.image_version}"),
        ("banner", f"{show.key}/banner/{show.image_version}"),
        ("key", show.rating_key),
        ("mixedParents", "1" if leaves else None),
        ("nocache", "1"),
        ("parentIndex", 1),
        ("parentTitle", show.title),
        ("parentYear", show.year),
        ("summary", show.summary),
        ("theme", f"{show.key}/theme/{show.image_version}"),
        ("thumb", f"{show.key}/thumb/{show.image_version}"),
        ("title1", section.title),
        ("title2", show.title),
        ("viewGroup", "episode" if leaves else "season"),
        ("viewMode", "65592" if leaves else "65593"),
    )


def season_children_attributes(config: EmulatorConfig, section: Section, season: Season) -> Attributes:
    show = season.parent
    return (
        *library_attributes(config, section),
        ("art", f"{show.key}/art/{show.image_version}"),
        ("banner", f"{show.key}/banner/{show.image_version}"),
        ("grandparentContentRating", show.content_rating),
        ("grandparentRatingKey", show.rating_key),
        ("grandparentStudio", show.studio),
        ("grandparentTheme", f"{show.key}/theme/{show.image_version}"),
        ("grandparentThumb", f"{show.key}/thumb/{show.image_version}"),
        ("grandparentTitle", show.title),
        ("key", season.rating_key),
        ("nocache", "1"),
        ("parentIndex", season.index),
        ("parentTitle", show.title),
        ("theme", f"{show.key}/theme/{show.image_version}"),
        ("thumb", f"{season.key}/thumb/{season.image_version}"),
        ("title1", show.title),
        ("title2", season.title),
        ("viewGroup", "episode"),
        ("viewMode", "65592"),
    )


def all_episodes_directory(show: Show) -> str:
    """The "All episodes" entry Plex puts first in a show's ``/children``: no ratingKey, no type."""
    pairs = (
        ("leafCount", show.leaf_count),
        ("thumb", f"{show.key}/thumb/{show.image_version}"),
        ("viewedLeafCount", show.viewed_leaf_count),
        ("key", f"{show.key}/allLeaves"),
        ("title", "All episodes"),
    )
    return element("Directory", pairs)
