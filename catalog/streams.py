"""Storing the audio and subtitle tracks of media files, whoever reported them (Plex, ffprobe, sidecars).

Each origin's rows for a file are replaced together by that origin's next report, so a Plex sync
never erases what ffprobe found in the file and vice versa.
"""

from __future__ import annotations

from collections.abc import Iterable

from catalog.choices import StreamOrigin
from catalog.languages import lookup, normalise_code
from catalog.models import MediaStream
from catalog.plex.parse import RemoteStream

BATCH_SIZE = 1000


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


def from_plex(media_file_id: int, stream: RemoteStream) -> MediaStream:
    return MediaStream(
        media_file_id=media_file_id,
        origin=StreamOrigin.PLEX,
        kind=stream.kind,
        stream_index=None if stream.external else stream.index,
        codec=stream.codec[:40],
        title=stream.title[:200],
        display_title=stream.display_title[:200],
        channels=stream.channels,
        is_default=stream.default,
        forced=stream.forced,
        hearing_impaired=stream.hearing_impaired,
        external=stream.external,
        key=stream.key[:300],
        **language_fields(stream.language_code, stream.language_tag, stream.language),
    )


def replace_streams(origins: Iterable[str], media_file_ids: Iterable[int], rows: list[MediaStream]) -> None:
    """Swap the given origins' tracks of these files for `rows` (call inside a transaction)."""
    MediaStream.objects.filter(media_file_id__in=list(media_file_ids), origin__in=list(origins)).delete()
    MediaStream.objects.bulk_create(rows, batch_size=BATCH_SIZE)
