"""Where Kodi and TinyMediaManager put artwork beside the media, and the references the sync stores.

A folder source's reference is `<path relative to the source>|<mtime_ns>:<size>`: replacing the file
changes it, so the artwork task re-reads exactly the images that changed.
"""

from __future__ import annotations

import os

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".tbn")
SHOW_POSTERS = ("poster", "folder", "show", "cover")
MOVIE_POSTERS = ("poster", "folder", "movie", "cover")


def show_candidates() -> list[str]:
    return list(SHOW_POSTERS)


def movie_candidates(stem: str) -> list[str]:
    return [f"{stem}-poster", f"{stem}-cover", *MOVIE_POSTERS]


def episode_candidates(stem: str) -> list[str]:
    return [f"{stem}-thumb", stem]


def season_candidates(number: int) -> list[str]:
    """Kodi keeps season posters in the show's folder: season01-poster.jpg, season-specials-poster.jpg."""
    names = [f"season{number:02d}-poster", f"season{number:02d}"]
    if number == 0:
        names[:0] = ["season-specials-poster", "season-specials"]
    return names


def image_names(filenames) -> dict[str, str]:
    """The image files among a folder's names, by lower-case name."""
    return {name.lower(): name for name in filenames if name.lower().endswith(IMAGE_EXTENSIONS)}


def find_image(images: dict[str, str], candidates: list[str]) -> str | None:
    """The first candidate base name present with any image extension (case-insensitive)."""
    for base in candidates:
        for extension in IMAGE_EXTENSIONS:
            name = images.get(f"{base.lower()}{extension}")
            if name is not None:
                return name
    return None


def reference_for(root: str, path: str) -> str:
    """`relative/path.jpg|mtime_ns:size`, or "" when the file can't be read (no artwork then)."""
    try:
        status = os.stat(path)
    except OSError:
        return ""
    relative = os.path.relpath(path, root).replace(os.sep, "/")
    return f"{relative}|{status.st_mtime_ns}:{status.st_size}"[:500]


def path_from_reference(root: str, reference: str) -> str | None:
    """The absolute file a folder reference names, or None if it would leave the source folder."""
    relative = reference.rsplit("|", 1)[0]
    if not relative or os.path.isabs(relative):
        return None
    root = os.path.abspath(root)
    path = os.path.abspath(os.path.join(root, relative))
    if os.path.commonpath([root, path]) != root:
        return None
    return path
