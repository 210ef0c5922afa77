"""The operator's media roots: the only folders whose files the station serves or hands to ffmpeg.

A file path in the catalog comes from a sync (a folder scan, or a Plex path through a path
mapping); staff cannot type one. Before the product reads such a path — the chapter editor's
player, a folder scan — it asks `inside_media_roots(path)`: the path is resolved with every
symbolic link followed (realpath) and must then lie inside one of the roots, which are themselves
resolved. The data folder (database, keys, broker) never counts as media, even when a root
contains it, except for a root the operator put inside it on purpose (the demo media).

The roots come from the environment only (`RETROVUE_LIBRARY_ROOTS`, colon- or comma-separated
folders), never from a form. Embedded default: the data folder's `demo-media` and `library`
folders; production default: none (folder sources and local files are refused until set).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

ROOTS_VARIABLE = "RETROVUE_LIBRARY_ROOTS"


class OutsideMediaRoots(ValueError):
    """The path leaves the operator's media roots; the message says which roots there are."""


def media_roots() -> list[Path]:
    """The resolved roots (a settings value wins over the environment, for tests)."""
    configured = getattr(settings, ROOTS_VARIABLE, None)
    if configured is None:
        raw = os.environ.get(ROOTS_VARIABLE, "").strip()
        if raw:
            configured = [part for part in raw.replace(",", os.pathsep).split(os.pathsep) if part.strip()]
        elif getattr(settings, "RETROVUE_MODE", "embedded") == "embedded":
            data = Path(settings.DATA_DIR)
            configured = [data / "demo-media", data / "library"]
        else:
            configured = []
    return [Path(os.path.realpath(os.path.expanduser(str(root).strip()))) for root in configured]


def _within(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def inside_media_roots(path: str | os.PathLike) -> bool:
    """Whether `path`, with every symbolic link resolved, lies inside a media root (and not in the
    data folder unless its root does)."""
    if not str(path).strip() or "\x00" in str(path):
        return False
    real = Path(os.path.realpath(os.path.expanduser(str(path))))
    data = Path(os.path.realpath(settings.DATA_DIR))
    for root in media_roots():
        if not _within(real, root):
            continue
        if _within(real, data) and not _within(root, data):
            continue  # a root above the data folder does not open the database and the keys
        return True
    return False


def require_inside_media_roots(path: str | os.PathLike, what: str = "The path") -> str:
    """`path` resolved (realpath) if it is inside a media root; OutsideMediaRoots otherwise."""
    if not inside_media_roots(path):
        roots = ", ".join(str(root) for root in media_roots()) or "none set"
        raise OutsideMediaRoots(
            f"{what} {path} is not inside the media roots ({roots}); the operator sets them in "
            f"{ROOTS_VARIABLE}, and symbolic links must stay inside them too."
        )
    return os.path.realpath(os.path.expanduser(str(path)))
