"""What file and folder names mean in a scanned tree: videos, the Kodi/TMM .nfo names, short-form
folders (commercials/, bumpers/, …), extras, NAS housekeeping folders, episode codes, and each
file's identity (`rating_key_for`: its path relative to the source folder)."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from pathlib import PurePath

from catalog.choices import ContentKind

VIDEO_EXTENSIONS = frozenset(
    {
        ".3gp",
        ".avi",
        ".divx",
        ".flv",
        ".m2ts",
        ".m4v",
        ".mkv",
        ".mov",
        ".mp4",
        ".mpeg",
        ".mpg",
        ".mts",
        ".ogv",
        ".ts",
        ".vob",
        ".webm",
        ".wmv",
    }
)
SHORT_FORM_FOLDERS = {
    "commercial": ContentKind.COMMERCIAL,
    "commercials": ContentKind.COMMERCIAL,
    "ads": ContentKind.COMMERCIAL,
    "adverts": ContentKind.COMMERCIAL,
    "advertisements": ContentKind.COMMERCIAL,
    "bumper": ContentKind.BUMPER,
    "bumpers": ContentKind.BUMPER,
    "promo": ContentKind.PROMO,
    "promos": ContentKind.PROMO,
    "station_id": ContentKind.STATION_ID,
    "station_ids": ContentKind.STATION_ID,
    "ids": ContentKind.STATION_ID,
    "idents": ContentKind.STATION_ID,
    "intro": ContentKind.INTRO,
    "intros": ContentKind.INTRO,
    "outro": ContentKind.OUTRO,
    "outros": ContentKind.OUTRO,
    "interstitial": ContentKind.INTERSTITIAL,
    "interstitials": ContentKind.INTERSTITIAL,
    "filler": ContentKind.FILLER,
    "fillers": ContentKind.FILLER,
}
IGNORED_FOLDERS = frozenset({"@eadir", "#recycle", "$recycle.bin", "lost+found", "#snapshot", ".snapshot"})
EXTRAS_FOLDERS = frozenset(
    {
        "extras",
        "trailers",
        "featurettes",
        "behind the scenes",
        "deleted scenes",
        "interviews",
        "sample",
        "samples",
    }
)
EXTRAS_SUFFIXES = ("-trailer", "-sample", "-featurette", "-behindthescenes", "-deleted", "-interview")
SHOW_NFO = "tvshow.nfo"
SEASON_NFO = "season.nfo"
MOVIE_NFO = "movie.nfo"
# File names that say nothing about what they hold; such an item is named after its folder.
GENERIC_STEMS = frozenset({"movie", "video_ts", "index", "bdmv", "disc", "main"})

RATING_KEY_LENGTH = 200
MAX_EPISODES_IN_ONE_FILE = 20

_EPISODE_IN_NAME = re.compile(r"[Ss](\d{1,3})[ ._-]?[Ee](\d{1,4})|\b(\d{1,2})x(\d{2,3})\b")
# A file of several episodes: S01E01-E02, S01E01E02, S01E01-02, 1x01-02, 1x01x02.
_EPISODE_RANGE_IN_NAME = re.compile(
    r"[Ss](\d{1,3})[ ._-]?[Ee](\d{1,4})((?:-?[Ee]\d{1,4}|-\d{1,4})*)(?![\dp])"
    r"|\b(\d{1,2})x(\d{2,3})((?:-\d{2,3}|x\d{2,3})*)\b"
)
_RANGE_PART = re.compile(r"\d{1,4}")
_YEAR_IN_NAME = re.compile(r"[\(\[]((?:19|20)\d{2})[\)\]]")
_BRACKETED = re.compile(r"\[[^\]]*\]|\{[^}]*\}")


def clean_title(stem: str) -> str:
    """A readable title from a file name: "Coca.Cola_Hilltop [480p] (1971)" → "Coca Cola Hilltop"."""
    title = _YEAR_IN_NAME.sub(" ", stem)
    title = _BRACKETED.sub(" ", title)
    if " " not in title.strip():
        title = title.replace(".", " ")
    title = re.sub(r"\s+", " ", title.replace("_", " ")).strip(" -.")
    return title or stem


def short_form_kind_for(relative_dir: str, root_name: str = "") -> str | None:
    """The short-form kind a folder's name gives its clips; the nearest named folder wins."""
    parts = [part for part in PurePath(relative_dir).parts if part not in ("", ".")]
    for name in [*reversed(parts), root_name]:
        kind = SHORT_FORM_FOLDERS.get(re.sub(r"[\s\-]+", "_", name.strip().lower()))
        if kind is not None:
            return kind
    return None


def rating_key_for(relative_path: str) -> str:
    """The relative path, shortened with a stable hash when it would not fit the column."""
    if len(relative_path) <= RATING_KEY_LENGTH:
        return relative_path
    digest = hashlib.sha1(relative_path.encode("utf-8"), usedforsecurity=False).hexdigest()[:20]
    return f"{relative_path[: RATING_KEY_LENGTH - 22]}~{digest}"


def _is_within(path: str, folder: str) -> bool:
    path, folder = os.path.normpath(path), os.path.normpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _ignored_folder(name: str) -> bool:
    return name.startswith(".") or name.lower() in IGNORED_FOLDERS


def _is_extra(relative_dir: str, stem: str) -> bool:
    parts = {part.lower() for part in PurePath(relative_dir).parts}
    return bool(parts & EXTRAS_FOLDERS) or stem.lower().endswith(EXTRAS_SUFFIXES)


def _episode_numbers_in(name: str) -> tuple[int, int] | None:
    match = _EPISODE_IN_NAME.search(name)
    if not match:
        return None
    if match.group(1):
        return int(match.group(1)), int(match.group(2))
    return int(match.group(3)), int(match.group(4))


def episode_range_in(name: str) -> tuple[int, list[int]] | None:
    """The season and every episode a file name names: "S01E01-E03" → (1, [1, 2, 3]),
    "S01E01E02" → (1, [1, 2]); None when the name has no episode code."""
    match = _EPISODE_RANGE_IN_NAME.search(name)
    if not match:
        return None
    if match.group(1):
        season, first, tail = int(match.group(1)), int(match.group(2)), match.group(3)
    else:
        season, first, tail = int(match.group(4)), int(match.group(5)), match.group(6)
    numbers = [first, *(int(part) for part in _RANGE_PART.findall(tail or ""))]
    if any(later <= earlier for earlier, later in itertools.pairwise(numbers)):
        return season, [first]  # not a rising run of episodes: trust only the first
    if "-" in (tail or "") and numbers[-1] - first <= MAX_EPISODES_IN_ONE_FILE:
        return season, list(range(first, numbers[-1] + 1))  # a range names every episode in it
    return season, numbers


def _episode_code(season: int | None, episode: int | None) -> str:
    if season is None:
        return ""
    return f"S{season:02d}" + (f"E{episode:02d}" if episode is not None else "")


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _listdir(directory: str) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []
