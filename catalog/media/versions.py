"""Which version of an item airs, and which of its files and chapter marks go with it.

A Plex item can have several versions (`<Media>`: a 4K and a 720p copy, a theatrical and an extended
cut), each made of parts played in order. One version airs, never several one after the other. The
choice, in this order:

  1. the version staff pinned in the admin, if any (their word beats every rule below);
  2. a version whose every part is on disk here (path mapping resolves and the file exists, and no
     probe found it broken) before one that must be read from Plex over HTTP;
  3. a version whose video codec is the one the channel profile encodes to (H.264), which
     pre-generation can work from most cheaply;
  4. the largest picture not above the profile's size, else the smallest above it;
  5. Plex's own order (its default version first).

The *reference* version is the choice without a profile (rule 4 then takes the largest picture). The
schedule is built once for all channels, so an item's length and its break points (chapter marks)
come from the reference version only. A channel profile may air another version of the **same cut**
(a length within `SAME_CUT_TOLERANCE_MS` of the reference's), e.g. the 720p copy on an SD channel
when the reference is the 4K one; a different cut airs only when it is the reference, so the
scheduled length is always the aired length.

Folder sources have no versions: their item's files (one) air as they are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from django.db.models import Q, QuerySet

from catalog.choices import FileState
from catalog.models import ChapterMark, MediaFile, MediaVersion, Playable

PROFILE_VIDEO_CODECS = frozenset({"h264", "avc", "avc1"})  # what playout encodes every channel to
SAME_CUT_TOLERANCE_MS = 2000


class ProfileSize(Protocol):
    """What the choice needs of a channel's stream profile (scheduling.StreamProfile has it)."""

    width: int
    height: int


@dataclass(frozen=True)
class VersionFacts:
    pk: int
    position: int
    pinned: bool
    on_disk_here: bool
    video_codec: str
    width: int | None
    height: int | None
    duration_ms: int | None


def rank(version: VersionFacts, profile: ProfileSize | None) -> tuple:
    """Sort key: the smallest key airs (see the module docstring for the order)."""
    area = (version.width or 0) * (version.height or 0)
    if profile is None:
        size_rank = (0, -area)
    else:
        fits = (version.width or 0) <= profile.width and (version.height or 0) <= profile.height
        size_rank = (0, -area) if fits else (1, area)
    return (
        not version.pinned,
        not version.on_disk_here,
        version.video_codec.lower() not in PROFILE_VIDEO_CODECS,
        size_rank,
        version.position,
    )


def choose(versions: list[VersionFacts], profile: ProfileSize | None = None) -> VersionFacts | None:
    """The version to air on a channel with `profile` (None: the reference version)."""
    if not versions:
        return None
    reference = min(versions, key=lambda version: rank(version, None))
    if profile is None or reference.pinned:
        return reference
    same_cut = [version for version in versions if _same_cut(version, reference)]
    return min(same_cut, key=lambda version: rank(version, profile))


def _same_cut(version: VersionFacts, reference: VersionFacts) -> bool:
    if version.duration_ms is None or reference.duration_ms is None:
        return version.pk == reference.pk
    return abs(version.duration_ms - reference.duration_ms) <= SAME_CUT_TOLERANCE_MS


def facts_by_item(playable_ids: Iterable[int]) -> dict[int, list[VersionFacts]]:
    """Every version of the items, with whether all its parts are on disk here (two queries)."""
    ids = list(playable_ids)
    broken = Q(probed_at__isnull=False, playable_ok=False)
    missing_here = set(
        MediaFile.objects.filter(version__playable_id__in=ids)
        .filter(~Q(state=FileState.NORMAL) | broken)
        .values_list("version_id", flat=True)
    )
    with_parts = set(
        MediaFile.objects.filter(version__playable_id__in=ids).values_list("version_id", flat=True)
    )
    found: dict[int, list[VersionFacts]] = defaultdict(list)
    rows = MediaVersion.objects.filter(playable_id__in=ids).values_list(
        "pk", "playable_id", "position", "pinned", "video_codec", "width", "height", "duration_ms"
    )
    for pk, playable_id, position, pinned, codec, width, height, duration in rows:
        here = pk in with_parts and pk not in missing_here
        found[playable_id].append(VersionFacts(pk, position, pinned, here, codec, width, height, duration))
    return found


def chosen_version_id(playable_id: int, profile: ProfileSize | None = None) -> int | None:
    choice = choose(facts_by_item([playable_id]).get(playable_id, []), profile)
    return choice.pk if choice else None


def reference_version_ids(playable_ids: Iterable[int]) -> dict[int, int]:
    """The reference version of each item that has versions."""
    return {
        playable_id: choice.pk
        for playable_id, versions in facts_by_item(playable_ids).items()
        if (choice := choose(versions)) is not None
    }


def airing_files(playable_id: int, profile: ProfileSize | None = None) -> QuerySet[MediaFile]:
    """The files that air for the item on a channel with `profile`, in play order: the chosen
    version's parts, or the item's files when it has no versions (folder sources)."""
    files = MediaFile.objects.filter(playable_id=playable_id)
    version_id = chosen_version_id(playable_id, profile)
    if version_id is not None:
        files = files.filter(version_id=version_id)
    return files.order_by("position")


def chapter_marks_of_reference(playable_ids: Iterable[int]) -> QuerySet[ChapterMark]:
    """The items' chapter marks that belong to the version the schedule is built from, plus the marks
    that belong to no version (staff's, a folder file's)."""
    ids = list(playable_ids)
    references = reference_version_ids(ids)
    return ChapterMark.objects.filter(playable_id__in=ids).filter(
        Q(version__isnull=True) | Q(version_id__in=list(references.values()))
    )


def apply_reference(playable_ids: Iterable[int]) -> None:
    """Give each item its reference version's length (after a sync wrote versions, or a pin)."""
    rows = [
        Playable(pk=playable_id, duration_ms=choice.duration_ms)
        for playable_id, versions in facts_by_item(playable_ids).items()
        if (choice := choose(versions)) is not None and choice.duration_ms
    ]
    Playable.objects.bulk_update(rows, ["duration_ms"], batch_size=500)
