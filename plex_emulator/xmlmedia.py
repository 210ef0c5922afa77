"""Renders the playable side of an item: Media, Part, Stream, Chapter, Marker.

Listings carry Media and Part only; a metadata request adds the Streams, and
Chapters/Markers when ``includeChapters=1``/``includeMarkers=1`` ask for them,
matching what real servers return.
"""

from __future__ import annotations

from . import tracks
from . import vocabulary as words
from .model import MediaVersion, Playback
from .xmlwriter import element

# Plex puts a file timestamp in part keys; any stable number keeps clients happy.
PART_KEY_STAMP = 1_500_000_000


def media_element(media: MediaVersion, with_streams: bool) -> str:
    media_attributes = (
        ("id", media.media_id),
        ("duration", media.duration),
        ("bitrate", media.bitrate),
        ("width", media.width),
        ("height", media.height),
        ("aspectRatio", round(media.width / media.height, 2)),
        ("audioChannels", media.audio_channels),
        ("audioCodec", media.audio_codec),
        ("videoCodec", media.video_codec),
        ("videoResolution", media.video_resolution),
        ("container", media.container),
        ("videoFrameRate", media.video_frame_rate),
        ("audioProfile", media.audio_profile),
        ("videoProfile", media.video_profile),
    )
    parts = "".join(
        element(
            "Part",
            (
                ("id", part.part_id),
                (
                    "key",
                    f"/library/parts/{part.part_id}/{PART_KEY_STAMP + part.part_id}/file.{part.container}",
                ),
                ("duration", part.duration),
                ("file", part.file),
                ("size", part.size),
                ("audioProfile", media.audio_profile),
                ("container", part.container),
                ("videoProfile", media.video_profile),
            ),
            _stream_elements(media, part.part_id) if with_streams else "",
        )
        for part in media.parts
    )
    return element("Media", media_attributes, parts)


def _stream_elements(media: MediaVersion, part_id: int) -> str:
    resolution = "4K" if media.video_resolution == "4k" else f"{media.video_resolution}p"
    video_name = words.VIDEO_CODEC_NAMES.get(media.video_codec, media.video_codec.upper())
    language = (("language", "English"), ("languageTag", "en"), ("languageCode", "eng"))
    audio_kbps = words.AUDIO_KBPS.get(media.audio_codec, 640)
    video_kbps = media.bitrate - audio_kbps
    video = element(
        "Stream",
        (
            ("id", tracks.stream_id(part_id, 0)), ("streamType", 1), ("default", 1), ("codec", media.video_codec),
            ("index", 0), ("bitrate", video_kbps), *language, ("bitDepth", 10 if "10" in media.video_profile else 8),
            ("chromaLocation", "left"), ("chromaSubsampling", "4:2:0"), ("codedHeight", media.height),
            ("codedWidth", media.width), ("frameRate", words.FRAME_RATES.get(media.video_frame_rate, "23.976")),
            ("hasScalingMatrix", 0), ("height", media.height), ("level", 41), ("profile", media.video_profile),
            ("refFrames", 4), ("scanType", "progressive"), ("width", media.width),
            ("title", f"{video_name} @ {video_kbps} kbps"), ("displayTitle", f"{resolution} ({video_name})"),
            ("extendedDisplayTitle", f"{resolution} ({video_name})"),
        ),
    )  # fmt: skip
    return video + tracks.audio_and_subtitle_elements(media, part_id, first_index=1)


def chapter_elements(media: MediaVersion, playback: Playback) -> str:
    count = playback.chapter_count
    bounds = [media.duration * number // count for number in range(count + 1)] if count else []
    return "".join(
        element(
            "Chapter",
            (
                ("id", media.media_id * 100 + number),
                ("filter", f"thumb={media.media_id * 100 + number}"),
                ("index", number),
                ("startTimeOffset", bounds[number - 1]),
                ("endTimeOffset", bounds[number]),
                ("tag", f"Chapter {number}"),
                ("thumb", f"/library/media/{media.media_id}/chapterImages/{number}"),
            ),
        )
        for number in range(1, count + 1)
    )


def marker_elements(media_id: int, duration: int, playback: Playback) -> str:
    markers = []
    if playback.intro:
        markers.append(("intro", *playback.intro, None))
    if playback.credits_start is not None:
        markers.append(("credits", playback.credits_start, duration, "1"))
    rendered = []
    for number, (kind, start, end, final) in enumerate(markers, start=1):
        marker_id = media_id * 10 + number
        # plexapi reads <Attributes> unconditionally, and Plex always sends it.
        attributes_element = element("Attributes", (("id", marker_id), ("version", 5)))
        pairs = (
            ("id", marker_id),
            ("type", kind),
            ("startTimeOffset", start),
            ("endTimeOffset", end),
            ("final", final),
        )
        rendered.append(element("Marker", pairs, attributes_element))
    return "".join(rendered)
