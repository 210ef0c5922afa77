"""Audio and subtitle ``<Stream>`` elements of a Part, as a full item request returns them.

Shaped on the captured items (PLEX_LIVE_AND_AUTH_NOTES.md §7; fixtures lukehagar 44547/134703 and
plexapirs 159637): ``streamType`` 2 audio and 3 subtitle; booleans ``"1"`` and *absent* when false;
``languageCode`` as Plex writes it (``fra``, ``deu``: ISO 639-2/T, not /B); a track without a language
has no language attributes at all; a sidecar subtitle has ``key="/library/streams/<id>"``, ``format``,
no ``index``, and "External" in its display title.

Which parts get which extra tracks follows from the part id, not from the generator's random
stream, so adding tracks leaves every other generated value as it was. The first audio track is
always the default English one and the first subtitle an English SRT.
"""

from __future__ import annotations

from . import vocabulary as words
from .model import MediaVersion
from .xmlwriter import element

# (name, languageTag, languageCode as Plex writes it, divisor: parts whose id it divides get the track)
EXTRA_AUDIO = (("French", "fr", "fra", 4), ("German", "de", "deu", 6), ("Spanish", "es", "spa", 9))
UNKNOWN_AUDIO_EVERY = 23
FORCED_SUBTITLE_EVERY = 5
SDH_SUBTITLE_EVERY = 8
SIDECAR_SUBTITLE_EVERY = 3
SIDECAR_LANGUAGES = (("Portuguese", "pt", "por"), ("Spanish", "es", "spa"), ("French", "fr", "fra"))
STREAM_IDS_PER_PART = 16


def _language(name: str, tag: str, code: str) -> tuple:
    return (("language", name), ("languageTag", tag), ("languageCode", code))


def stream_id(part_id: int, number: int) -> int:
    """Unique, stable ids: a block per part (number 0 is the video stream)."""
    return part_id * STREAM_IDS_PER_PART + number


def audio_and_subtitle_elements(media: MediaVersion, part_id: int, first_index: int) -> str:
    audio_name = words.AUDIO_CODEC_NAMES.get(media.audio_codec, media.audio_codec.upper())
    channels = words.CHANNEL_NAMES.get(media.audio_channels, str(media.audio_channels))
    layout = words.CHANNEL_LAYOUTS.get(media.audio_channels, "stereo")
    audio_kbps = words.AUDIO_KBPS.get(media.audio_codec, 640)
    index = first_index
    number = 1
    rendered = []

    def audio(language: tuple, label: str, *, default: bool, codec: str, channel_count: int, kbps: int):
        nonlocal index, number
        primary = codec == media.audio_codec
        codec_label = f"{audio_name} {channels}" if primary else f"{codec.upper()} Stereo"
        described = f"{label} ({codec_label})"
        rendered.append(
            element(
                "Stream",
                (
                    ("id", stream_id(part_id, number)), ("streamType", 2), ("selected", 1 if default else None),
                    ("default", 1 if default else None), ("codec", codec), ("index", index),
                    ("channels", channel_count), ("bitrate", kbps), *language,
                    ("audioChannelLayout", layout if primary else "stereo"), ("bitDepth", 16),
                    ("profile", media.audio_profile if primary else None), ("samplingRate", 48000),
                    ("title", codec_label), ("displayTitle", described),
                    ("extendedDisplayTitle", described),
                ),
            )
        )  # fmt: skip
        index += 1
        number += 1

    audio(_language("English", "en", "eng"), "English", default=True, codec=media.audio_codec,
          channel_count=media.audio_channels, kbps=audio_kbps)  # fmt: skip
    for name, tag, code, every in EXTRA_AUDIO:
        if part_id % every == 0:
            audio(_language(name, tag, code), name, default=False, codec="ac3", channel_count=2, kbps=192)
    if part_id % UNKNOWN_AUDIO_EVERY == 0:  # a commentary track nobody tagged
        audio((), "Unknown", default=False, codec="aac", channel_count=2, kbps=128)

    def subtitle(language: tuple, display: str, *, title=None, forced=False, sdh=False, sidecar=False):
        nonlocal index, number
        own_id = stream_id(part_id, number)
        rendered.append(
            element(
                "Stream",
                (
                    ("id", own_id), ("key", f"/library/streams/{own_id}" if sidecar else None),
                    ("streamType", 3), ("codec", "srt"), ("index", None if sidecar else index),
                    ("bitrate", None if sidecar else 0), *language, ("forced", 1 if forced else None),
                    ("hearingImpaired", 1 if sdh else None), ("format", "srt" if sidecar else None),
                    ("title", title), ("displayTitle", display), ("extendedDisplayTitle", display),
                ),
            )
        )  # fmt: skip
        if not sidecar:
            index += 1
        number += 1

    english = _language("English", "en", "eng")
    if media.has_subtitles:
        subtitle(english, "English (SRT)")
        if part_id % SDH_SUBTITLE_EVERY == 0:
            subtitle(english, "English SDH (SRT)", title="SDH", sdh=True)
    if part_id % FORCED_SUBTITLE_EVERY == 0:  # signs and foreign dialogue, shown whatever the viewer picks
        subtitle(english, "English Forced (SRT)", title="Forced", forced=True)
    if part_id % SIDECAR_SUBTITLE_EVERY == 0:
        name, tag, code = SIDECAR_LANGUAGES[part_id % len(SIDECAR_LANGUAGES)]
        subtitle(_language(name, tag, code), f"{name} (SRT External)", sidecar=True)
    return "".join(rendered)
