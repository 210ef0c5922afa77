"""Storing the audio and subtitle tracks of media files, whoever reported them (Plex, ffprobe, sidecars).

Each origin's rows for a file are replaced together by that origin's next report, so a Plex sync
never erases what ffprobe found in the file and vice versa.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import lru_cache

from django.db import connection

from catalog.choices import StreamKind, StreamOrigin
from catalog.media.languages import lookup, normalise_code
from catalog.media.probe import ProbedTrack, ProbeResult
from catalog.models import MediaStream
from catalog.plex.parse import RemoteStream

BATCH_SIZE = 1000
# Text subtitle files a player picks up beside a video (.sub/.idx pairs are pictures: not burnable).
SUBTITLE_EXTENSIONS = {".srt": "srt", ".ass": "ass", ".ssa": "ssa", ".vtt": "webvtt", ".smi": "sami"}
VIDEO_EXTENSIONS = {
    ".mkv",
    ".mp4",
    ".m4v",
    ".avi",
    ".mov",
    ".ts",
    ".m2ts",
    ".mpg",
    ".mpeg",
    ".wmv",
    ".webm",
    ".flv",
}
FORCED_WORDS = {"forced", "foreign"}
HEARING_IMPAIRED_WORDS = {"sdh", "cc"}


@lru_cache(maxsize=512)  # a library holds a few dozen distinct (code, tag, name) triples
def _language_values(code: str, tag: str, name: str) -> tuple[str, str, str, str]:
    fields = language_fields(code, tag, name)
    return fields["language"], fields["language_code"], fields["language_code_raw"], fields["language_tag"]


def language_fields(code: str = "", tag: str = "", name: str = "") -> dict[str, str]:
    """Normalised code plus the raw values; the name and tag are filled from the code when absent."""
    raw = code or tag or name
    known = lookup(code) or lookup(tag) or lookup(name)
    return {
        "language_code": known.code if known else normalise_code(raw),
        "language_code_raw": raw[:20],
        "language_tag": (tag or (known.alpha2 if known else ""))[:20],
        "language": (name or (known.name if known else ""))[:80],
    }


# Column order of the rows `plex_row` builds and `copy_rows` writes.
COPY_FIELDS = (
    "media_file", "origin", "kind", "stream_index", "codec", "language", "language_code", "language_code_raw",
    "language_tag", "title", "display_title", "channels", "is_default", "forced", "hearing_impaired", "external",
    "key", "path",
)  # fmt: skip
_ATTRIBUTES = tuple(f"{name}_id" if name == "media_file" else name for name in COPY_FIELDS)


def plex_row(media_file_id: int, stream: RemoteStream) -> tuple:
    """A Plex-reported track as a row for `copy_rows`: a full sync writes tens of thousands of them,
    and a COPY of plain tuples takes a fraction of bulk_create's time on model instances."""
    language = _language_values(stream.language_code, stream.language_tag, stream.language)
    return (
        media_file_id, StreamOrigin.PLEX.value, stream.kind, None if stream.external else stream.index,
        stream.codec[:40], language[0][:80], language[1], language[2][:20], language[3][:20], stream.title[:200],
        stream.display_title[:200], stream.channels, stream.default, stream.forced, stream.hearing_impaired,
        stream.external, stream.key[:300], "",
    )  # fmt: skip


def copy_rows(rows: list[tuple]) -> None:
    """Insert `plex_row` tuples with one COPY on PostgreSQL (a full sync writes tens of thousands;
    `bulk_create` took three times as long), batched inserts elsewhere (the embedded SQLite).
    Call inside a transaction."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        MediaStream.objects.bulk_create(
            [MediaStream(**dict(zip(_ATTRIBUTES, row, strict=True))) for row in rows], batch_size=500
        )
        return
    columns = ", ".join(
        connection.ops.quote_name(MediaStream._meta.get_field(name).column) for name in COPY_FIELDS
    )
    table = connection.ops.quote_name(MediaStream._meta.db_table)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def from_probe(media_file_id: int, track: ProbedTrack) -> MediaStream:
    return MediaStream(
        media_file_id=media_file_id,
        origin=StreamOrigin.PROBE,
        kind=track.kind,
        stream_index=track.index,
        codec=track.codec[:40],
        title=track.title[:200],
        channels=track.channels,
        is_default=track.default,
        forced=track.forced,
        hearing_impaired=track.hearing_impaired,
        **language_fields(track.language),
    )


def sidecar_subtitles(
    media_file_id: int, video_path: str, listing: Iterable[str] | None = None
) -> list[MediaStream]:
    """Subtitle files beside a video, named after it: `Show S01E01.en.srt`, `Movie.French.forced.srt`.

    Between the video's name and the extension, a language (code, tag or English name) and the words
    forced, sdh/cc (hearing impaired) and default; other words become the title. A file that starts
    with the name of another video in the folder with a longer name belongs to that one
    (`Movie.Part2.en.srt` is Part2's). `listing` is the folder's file names, when the caller has it.
    """
    directory, name = os.path.split(video_path)
    if listing is None:
        try:
            listing = os.listdir(directory or ".")
        except OSError:
            return []
    names = sorted(listing)
    stem = os.path.splitext(name)[0]
    other_stems = [
        os.path.splitext(other)[0]
        for other in names
        if os.path.splitext(other)[1].lower() in VIDEO_EXTENSIONS and other != name
    ]
    rows = []
    for candidate in names:
        base, extension = os.path.splitext(candidate)
        codec = SUBTITLE_EXTENSIONS.get(extension.lower())
        if codec is None or not _named_after(base, stem):
            continue
        if any(len(other) > len(stem) and _named_after(base, other) for other in other_stems):
            continue
        language, flags, words = None, set(), []
        for word in base[len(stem) :].strip(". _-").split("."):
            folded = word.strip().casefold()
            if not folded:
                continue
            if folded in FORCED_WORDS or folded in HEARING_IMPAIRED_WORDS or folded == "default":
                flags.add(folded)
            elif folded == "hi" and language is not None:  # after a language, "hi" is hearing impaired
                flags.add("sdh")
            elif language is None and lookup(folded) is not None:
                language = folded
            else:
                words.append(word)
        rows.append(
            MediaStream(
                media_file_id=media_file_id,
                origin=StreamOrigin.SIDECAR,
                kind=StreamKind.SUBTITLE,
                codec=codec,
                title=" ".join(words)[:200],
                display_title=candidate[:200],
                is_default="default" in flags,
                forced=bool(flags & FORCED_WORDS),
                hearing_impaired=bool(flags & HEARING_IMPAIRED_WORDS),
                external=True,
                path=os.path.join(directory, candidate)[:2048],
                **(language_fields(language) if language else {}),
            )
        )
    return rows


def _named_after(base: str, stem: str) -> bool:
    return base == stem or (base.startswith(stem) and base[len(stem)] in "._- ")


def store_probed_tracks(
    media_file_id: int, video_path: str, result: ProbeResult | None, listing: Iterable[str] | None = None
) -> None:
    """The file's tracks as ffprobe saw them (when `result` is given) and the sidecars beside it."""
    sidecars = sidecar_subtitles(media_file_id, video_path, listing)
    if result is None:
        wanted = {_sidecar_key(row) for row in sidecars}
        current = MediaStream.objects.filter(media_file_id=media_file_id, origin=StreamOrigin.SIDECAR)
        if {_sidecar_key(row) for row in current} != wanted:
            replace_streams([StreamOrigin.SIDECAR], [media_file_id], sidecars)
        return
    rows = [from_probe(media_file_id, track) for track in result.tracks] if result.playable else []
    replace_streams([StreamOrigin.PROBE, StreamOrigin.SIDECAR], [media_file_id], rows + sidecars)


def _sidecar_key(row: MediaStream) -> tuple:
    return (
        row.path,
        row.language_code,
        row.forced,
        row.hearing_impaired,
        row.is_default,
        row.title,
        row.codec,
    )


def replace_streams(origins: Iterable[str], media_file_ids: Iterable[int], rows: list[MediaStream]) -> None:
    """Swap the given origins' tracks of these files for `rows` (call inside a transaction)."""
    MediaStream.objects.filter(media_file_id__in=list(media_file_ids), origin__in=list(origins)).delete()
    MediaStream.objects.bulk_create(rows, batch_size=BATCH_SIZE)
