"""Where a Plex Part's file is for this machine, and what state that leaves the media file in."""

from __future__ import annotations

import os

from catalog.choices import FileState
from catalog.media.paths import PathMapper


def resolve_file(mapper: PathMapper, server_path: str, part_key: str) -> tuple[str, str]:
    """(local_path, state) for one Part.

    normal          the mapped (or unmapped, same-machine) path exists here
    file_not_found  a mapping rule claims the folder but the file is not there (a disk or rule problem)
    remote_only     no local copy, but Plex can stream the Part over HTTP
    unavailable     neither a local file nor a Part to stream
    """
    local_path = mapper.map(server_path) if server_path else None
    if local_path and os.path.isfile(local_path):
        return local_path, FileState.NORMAL
    if local_path and mapper.matching_rule(server_path) is not None:
        return local_path, FileState.FILE_NOT_FOUND
    if part_key:
        return local_path or "", FileState.REMOTE_ONLY
    return local_path or "", FileState.UNAVAILABLE
