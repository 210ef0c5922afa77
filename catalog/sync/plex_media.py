"""What a Plex sync writes below an item: its versions, their parts (files), chapters, markers, tracks.

In Plex's XML a `<Media>` is one version of an item and its `<Part>`s are that version's files, played
in order. Versions are stored apart (MediaVersion), each with its own parts (MediaFile), so a film with
a 4K and a 720p copy is two versions of one part each, never four minutes of one then the other.

Rows are matched to what Plex lists by Plex's ids (a Media id, a Part key), so a staff pin, a probe
result and the tracks found survive a re-sync; files stored before versions existed (no version) are
taken over by the version whose Part they are.
"""

from __future__ import annotations

from collections import defaultdict

from catalog.choices import StreamOrigin
from catalog.media.paths import PathMapper
from catalog.media.streams import copy_rows, plex_row
from catalog.media.versions import apply_reference
from catalog.models import ChapterMark, MediaFile, MediaStream, MediaVersion, PlexMarker
from catalog.plex.parse import RemoteItem, RemotePart
from catalog.sync.files import resolve_file

BATCH_SIZE = 500
MARKER_KINDS = {"intro", "credits", "commercial"}
# Rows whose position changes are parked above every real position first, so that two rows trading
# places never meet on the (version, position) unique constraint.
PARKING = 10_000

VERSION_FIELDS = [
    "position", "media_key", "container", "video_codec", "audio_codec", "width", "height", "duration_ms",
    "size_bytes",
]  # fmt: skip
FILE_FIELDS = [
    "version", "position", "part_key", "plex_path", "local_path", "state", "size_bytes", "container", "duration_ms",
    "video_codec", "audio_codec", "width", "height", "frame_rate", "probed_at", "playable_ok", "probe_error",
]  # fmt: skip


def versions_of(item: RemoteItem) -> list[list[RemotePart]]:
    """The item's parts grouped by version, in Plex's order."""
    grouped: dict[int, list[RemotePart]] = defaultdict(list)
    for part in item.parts:
        grouped[part.version].append(part)
    return [grouped[index] for index in sorted(grouped)]


def write_versions(instances: dict[int, RemoteItem], mapper: PathMapper) -> None:
    """Make each item's versions and files what Plex lists now; then each item's length is its
    reference version's (catalog.media.versions)."""
    pks = list(instances)
    old_versions = list(MediaVersion.objects.filter(playable_id__in=pks))
    old_files = list(MediaFile.objects.filter(playable_id__in=pks))
    version_rows: dict[tuple[int, int], MediaVersion] = {}
    used: set[int] = set()
    old_by_item = defaultdict(list)
    for row in old_versions:
        old_by_item[row.playable_id].append(row)
    for pk, item in instances.items():
        for index, parts in enumerate(versions_of(item)):
            row = _match_version(old_by_item[pk], parts[0].media_key, index, used) or MediaVersion(
                playable_id=pk
            )
            _fill_version(row, index, parts)
            version_rows[(pk, index)] = row
    _save(MediaVersion, old_versions, list(version_rows.values()), VERSION_FIELDS)

    by_part_key = {(row.playable_id, row.part_key): row for row in old_files if row.part_key}
    by_place = {(row.playable_id, row.version_id, row.position): row for row in old_files}
    file_rows: list[MediaFile] = []
    taken: set[int] = set()
    for pk, item in instances.items():
        for index, parts in enumerate(versions_of(item)):
            version = version_rows[(pk, index)]
            for position, part in enumerate(parts):
                row = by_part_key.get((pk, part.part_key)) if part.part_key else None
                if row is None or row.pk in taken:
                    row = by_place.get((pk, version.pk, position))
                if row is None or row.pk in taken:
                    row = MediaFile(playable_id=pk)
                if row.pk:
                    taken.add(row.pk)
                _fill_file(row, version, position, part, mapper)
                file_rows.append(row)
    _save(MediaFile, old_files, file_rows, FILE_FIELDS)
    apply_reference(pks)


def _match_version(rows: list[MediaVersion], media_key: str, index: int, used: set[int]):
    for row in rows:
        if row.pk not in used and media_key and row.media_key == media_key:
            used.add(row.pk)
            return row
    for row in rows:
        if row.pk not in used and row.position == index and not (media_key and row.media_key):
            used.add(row.pk)
            return row
    return None


def _fill_version(row: MediaVersion, index: int, parts: list[RemotePart]) -> None:
    first = parts[0]
    sizes = [part.size_bytes for part in parts]
    lengths = [part.duration_ms for part in parts]
    row.position, row.media_key = index, first.media_key[:100]
    row.container, row.video_codec, row.audio_codec = (
        first.container[:40],
        first.video_codec[:40],
        first.audio_codec[:40],
    )
    row.width, row.height = first.width, first.height
    # A Media's own duration covers all its parts; without it, the parts' lengths add up to it.
    row.duration_ms = first.version_duration_ms or (sum(lengths) if None not in lengths else None)
    row.size_bytes = sum(sizes) if None not in sizes else None  # fmt: skip


def _fill_file(row: MediaFile, version: MediaVersion, position: int, part: RemotePart, mapper) -> None:
    local_path, state = resolve_file(mapper, part.file, part.part_key)
    changed_file = row.pk is None or row.plex_path != part.file or row.size_bytes != part.size_bytes
    row.version, row.position = version, position
    row.part_key, row.plex_path, row.local_path, row.state = part.part_key, part.file, local_path, state
    row.size_bytes, row.container, row.duration_ms = part.size_bytes, part.container[:40], part.duration_ms
    row.video_codec, row.audio_codec = part.video_codec[:40], part.audio_codec[:40]
    row.width, row.height, row.frame_rate = part.width, part.height, part.frame_rate
    if changed_file:
        row.probed_at, row.playable_ok, row.probe_error = None, False, ""


def _save(model, old_rows: list, rows: list, fields: list[str]) -> None:
    """Delete the old rows not kept, park the kept ones that move, then write them all."""
    kept = {row.pk for row in rows if row.pk}
    stale = [row.pk for row in old_rows if row.pk not in kept]
    if stale:
        model.objects.filter(pk__in=stale).delete()
    before = {row.pk: (getattr(row, "version_id", None), row.position) for row in old_rows}
    moving = [
        row
        for row in rows
        if row.pk and before.get(row.pk) != (getattr(row, "version_id", None), row.position)
    ]
    if moving:
        model.objects.bulk_update(
            [model(pk=row.pk, position=PARKING + number) for number, row in enumerate(moving)], ["position"]
        )
    model.objects.bulk_create([row for row in rows if not row.pk], batch_size=BATCH_SIZE)
    model.objects.bulk_update(
        [row for row in rows if row.pk and row.pk in kept], fields, batch_size=BATCH_SIZE
    )


def default_versions(playable_ids: list[int]) -> dict[int, int]:
    """Each item's first version in Plex's order: the one Plex plays by default."""
    return dict(
        MediaVersion.objects.filter(playable_id__in=playable_ids, position=0).values_list("playable_id", "pk")
    )


def store_details(instances: dict[int, RemoteItem], details: dict[str, tuple[list, list, list]]) -> None:
    """Chapters, markers and tracks of the items fetched in full.

    Plex lists chapters and markers on the item, not on a `<Media>`: they describe the version Plex
    plays by default, its first, so they are stored against that version and mark no other.
    """
    touched = [pk for pk, item in instances.items() if item.rating_key in details]
    if not touched:
        return
    store_streams(instances, details, touched)
    default = default_versions(touched)
    chapters, markers = [], []
    for pk, item in instances.items():
        item_chapters, item_markers, _ = details.get(item.rating_key, ([], [], []))
        chapters += [
            ChapterMark(playable_id=pk, version_id=default.get(pk), title=title[:200], time_ms=start_ms, origin="plex")
            for title, start_ms in item_chapters
        ]  # fmt: skip
        markers += [
            PlexMarker(playable_id=pk, kind=kind, start_ms=begin, end_ms=end)
            for kind, begin, end in item_markers
            if kind in MARKER_KINDS
        ]
    ChapterMark.objects.filter(playable_id__in=touched, origin="plex").delete()
    PlexMarker.objects.filter(playable_id__in=touched).delete()
    ChapterMark.objects.bulk_create(chapters, ignore_conflicts=True, batch_size=BATCH_SIZE)
    PlexMarker.objects.bulk_create(markers, ignore_conflicts=True, batch_size=BATCH_SIZE)


def store_streams(instances, details, touched: list[int]) -> None:
    """Replace the Plex-reported tracks of the touched items' files; Parts match by key, else by
    their order across all versions (the order Plex lists them in)."""
    files = defaultdict(dict)
    ordered = MediaFile.objects.filter(playable_id__in=touched).order_by(
        "playable_id", "version__position", "position"
    )
    order = defaultdict(int)
    for pk, playable_id, part_key in ordered.values_list("pk", "playable_id", "part_key"):
        if part_key:
            files[playable_id][part_key] = pk
        files[playable_id][order[playable_id]] = pk
        order[playable_id] += 1
    rows = []
    for pk in touched:
        parts = details[instances[pk].rating_key][2]
        for position, (part_key, streams) in enumerate(parts):
            file_id = files[pk].get(part_key) or files[pk].get(position)
            if file_id is not None:
                rows += [plex_row(file_id, stream) for stream in streams]
    file_ids = [file_id for by_key in files.values() for file_id in set(by_key.values())]
    MediaStream.objects.filter(media_file_id__in=file_ids, origin=StreamOrigin.PLEX).delete()
    copy_rows(rows)
