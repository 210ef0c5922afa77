"""Disc folders: a ripped DVD (`VIDEO_TS`) or Blu-ray (`BDMV`) folder is one item, its main title.

A DVD holds title sets: `VTS_nn_0.VOB` is a title set's menu, `VTS_nn_1.VOB`, `VTS_nn_2.VOB`, … its
video, cut into ≤1 GB files that play in order; `VIDEO_TS.VOB` is the disc's own menu and never
airs. The main title is the longest title set (each one's VOBs are ffprobed and their lengths added;
the lower number wins a tie), stored as the item's media files in order, so playout plays the parts
back to back as it does a multi-part Plex item. A Blu-ray's main title is its longest
`BDMV/STREAM/*.m2ts` stream (RetroVue does not read the disc's playlists, so a film split across
several clips airs as its longest one; see the README).

Kodi's names for a disc's .nfo are `VIDEO_TS/VIDEO_TS.nfo` and `BDMV/index.nfo`; one beside the disc
folder (`movie.nfo`, or named after the movie's folder) works too.

Probing every title set is the slow part, so a disc's file names, sizes and times are kept as the
item's `source_fingerprint`: an unchanged disc is not probed again. A layout with nothing to play is
`DiscError`, which the scan reports for that item.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field

from catalog.media import probe as probing

DVD = "dvd"
BLU_RAY = "bluray"
DISC_FOLDERS = {"video_ts": DVD, "bdmv": BLU_RAY}
DISC_NFO_NAMES = {DVD: "video_ts.nfo", BLU_RAY: "index.nfo"}

_TITLE_SET_VOB = re.compile(r"^vts_(\d{2})_(\d)\.vob$", re.IGNORECASE)
_STREAM_EXTENSIONS = (".m2ts", ".mts")


class DiscError(ValueError):
    """A disc folder with nothing RetroVue can play; the message says why, for the sync's report."""


@dataclass
class DiscTitle:
    """The disc's main title: its files in play order, each probed."""

    parts: list[probing.ProbeResult] = field(default_factory=list)
    label: str = ""  # "title set 2" / "stream 00001.m2ts", for reports

    @property
    def duration_ms(self) -> int:
        return sum(part.duration_ms or 0 for part in self.parts)


def disc_kind(folder_name: str) -> str | None:
    return DISC_FOLDERS.get(folder_name.lower())


def disc_fingerprint(disc_dir: str, kind: str) -> str:
    """A digest of the files the main title is chosen from (names, sizes, times); "" if unreadable."""
    try:
        files = sorted(_candidate_files(disc_dir, kind))
        stats = [(name, os.stat(path)) for name, path in files]
    except OSError:
        return ""
    text = "\n".join(f"{name}\t{stat.st_size}\t{stat.st_mtime_ns}" for name, stat in stats)
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:32]


def main_title(disc_dir: str, kind: str) -> DiscTitle:
    """Probe the disc's title sets (DVD) or streams (Blu-ray) and return the longest. Raises DiscError."""
    if kind == DVD:
        return _dvd_main_title(disc_dir)
    return _bluray_main_title(disc_dir)


def _candidate_files(disc_dir: str, kind: str) -> list[tuple[str, str]]:
    if kind == DVD:
        return [
            (name, os.path.join(disc_dir, name))
            for name in os.listdir(disc_dir)
            if (match := _TITLE_SET_VOB.match(name)) and match.group(2) != "0"
        ]
    stream_dir = _child(disc_dir, "stream")
    if stream_dir is None:
        return []
    return [
        (name, os.path.join(stream_dir, name))
        for name in os.listdir(stream_dir)
        if name.lower().endswith(_STREAM_EXTENSIONS)
    ]


def _dvd_main_title(disc_dir: str) -> DiscTitle:
    try:
        files = _candidate_files(disc_dir, DVD)
    except OSError as error:
        raise DiscError(f"cannot list the DVD folder ({error.strerror or error})") from error
    title_sets: dict[int, list[tuple[int, str]]] = {}
    for name, path in files:
        match = _TITLE_SET_VOB.match(name)
        title_sets.setdefault(int(match.group(1)), []).append((int(match.group(2)), path))
    if not title_sets:
        raise DiscError(
            "a DVD folder without title sets (no VTS_nn_1.VOB); VIDEO_TS.VOB is only the disc's menu, "
            "so there is nothing to air"
        )
    best: DiscTitle | None = None
    problems = []
    for number in sorted(title_sets):
        parts = [probing.probe_media_file(path) for _, path in sorted(title_sets[number])]
        broken = [part for part in parts if not part.playable or not part.duration_ms]
        if broken:
            problems.append(
                f"title set {number}: {os.path.basename(broken[0].path)} {broken[0].error or 'has no length'}"
            )
            continue
        title = DiscTitle(parts=parts, label=f"title set {number}")
        if best is None or title.duration_ms > best.duration_ms:
            best = title
    if best is None:
        raise DiscError("no title set ffprobe can play (" + "; ".join(problems) + ")")
    return best


def _bluray_main_title(disc_dir: str) -> DiscTitle:
    try:
        files = sorted(_candidate_files(disc_dir, BLU_RAY))
    except OSError as error:
        raise DiscError(f"cannot list the Blu-ray folder ({error.strerror or error})") from error
    if not files:
        raise DiscError("a Blu-ray folder without streams (no BDMV/STREAM/*.m2ts); nothing to air")
    best: DiscTitle | None = None
    problems = []
    for name, path in files:
        part = probing.probe_media_file(path)
        if not part.playable or not part.duration_ms:
            problems.append(f"{name} {part.error or 'has no length'}")
            continue
        if best is None or part.duration_ms > best.duration_ms:
            best = DiscTitle(parts=[part], label=f"stream {name}")
    if best is None:
        raise DiscError("no stream ffprobe can play (" + "; ".join(problems) + ")")
    return best


def _child(directory: str, name: str) -> str | None:
    """A subfolder by name in any letter case (discs copied from Windows keep upper case)."""
    for entry in os.listdir(directory):
        if entry.lower() == name and os.path.isdir(os.path.join(directory, entry)):
            return os.path.join(directory, entry)
    return None
