"""Which audio track and which forced subtitle of a file a channel airs: pure choices over its tracks.

A file's tracks come from ffprobe of the file itself when it was probed (those indexes are what
ffmpeg will see), else from Plex. Audio: the track in the profile's preferred language, else the
file's default track, else the first. Forced subtitles (foreign dialogue, signs) are burnt in when
the profile asks for it: the forced text track in the preferred language, else in the aired audio's
language, else a forced track with no language. Picture subtitles (PGS, VobSub) can't go through
the subtitles filter and are skipped; so are Plex sidecars this machine has no path for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from catalog.choices import StreamKind, StreamOrigin
from catalog.media.languages import normalise_code
from playout.ffmpeg_commands import BurnSubtitle

TEXT_SUBTITLE_CODECS = {"srt", "subrip", "ass", "ssa", "webvtt", "vtt", "mov_text", "text", "smi", "microdvd"}


@dataclass(frozen=True)
class Track:
    """What the choice needs of a MediaStream row."""

    kind: str
    stream_index: int | None
    language_code: str = ""
    is_default: bool = False
    forced: bool = False
    external: bool = False
    codec: str = ""
    path: str = ""
    origin: str = StreamOrigin.PROBE


@dataclass(frozen=True)
class TrackChoice:
    audio: int = 0  # among the file's audio tracks: ffmpeg's `0:a:<n>`
    subtitle: BurnSubtitle | None = None


def usable(tracks: Iterable[Track]) -> list[Track]:
    """The tracks of one origin: ffprobe's (with the sidecars found beside the file) when there are any."""
    tracks = list(tracks)
    probed = [track for track in tracks if track.origin in (StreamOrigin.PROBE, StreamOrigin.SIDECAR)]
    return probed if any(track.origin == StreamOrigin.PROBE for track in probed) else tracks


def choose(
    tracks: Iterable[Track], video_path: str, preferred_language: str, burn_forced: bool
) -> TrackChoice:
    tracks = usable(tracks)
    embedded = sorted(
        (track for track in tracks if not track.external and track.stream_index is not None),
        key=lambda track: track.stream_index,
    )
    audio = [track for track in embedded if track.kind == StreamKind.AUDIO]
    wanted = normalise_code(preferred_language)
    picked = _pick_audio(audio, wanted)
    subtitle = None
    if burn_forced:
        language = wanted or (audio[picked].language_code if audio else "")
        subtitle = _forced_subtitle(tracks, embedded, video_path, language)
    return TrackChoice(audio=picked, subtitle=subtitle)


def _pick_audio(audio: list[Track], wanted: str) -> int:
    if not audio:
        return 0
    for predicate in (
        lambda track: wanted and track.language_code == wanted,
        lambda track: track.is_default,
    ):
        for number, track in enumerate(audio):
            if predicate(track):
                return number
    return 0


def _forced_subtitle(tracks, embedded, video_path: str, language: str) -> BurnSubtitle | None:
    text_subtitles = [
        track
        for track in tracks
        if track.kind == StreamKind.SUBTITLE and track.codec.lower() in TEXT_SUBTITLE_CODECS
    ]
    forced = [track for track in text_subtitles if track.forced and (track.path or not track.external)]
    for predicate in (
        lambda track: language and track.language_code == language,
        lambda track: not track.language_code,
    ):
        for track in forced:
            if predicate(track):
                if track.external:
                    return BurnSubtitle(path=track.path)
                # The subtitles filter's `si` counts the file's subtitle tracks only, in file order.
                subtitles_in_file = [t for t in embedded if t.kind == StreamKind.SUBTITLE]
                number = next(n for n, other in enumerate(subtitles_in_file) if other is track)
                return BurnSubtitle(path=video_path, track=number)
    return None
