"""The data folder is private to the service's user: the folder 0700, everything in it 0600.

It holds the SQLite database (password and API-token hashes, live session keys), the generated
secret and encryption keys, the first admin password, the folder broker's messages and the
playout's feed secrets; any local account that can read one of them can become admin. So:

* created so: every RetroVue process runs with umask 077 (set when the settings load), so files
  and folders it creates are its own, whoever else shares the machine;
* repaired at start: `python -m retrovue run` and the other process commands walk the folder and
  take away group and other bits left by an older version or a hand-made copy.

The exception is what nginx, another user, reads: the HLS, artwork and media roots. Where such a
root lies outside the data folder (production: /srv/retrovue/…), the code that writes into it
asks `published_umask`/`published_modes` for world-readable modes; inside the data folder (the
embedded default, where Django serves them) they are private like everything else.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PUBLISHED_UMASK = 0o022
PUBLISHED_DIR_MODE = 0o755
PUBLISHED_FILE_MODE = 0o644


def use_private_umask() -> None:
    os.umask(PRIVATE_UMASK)


def _data_dir() -> Path:
    from django.conf import settings

    return Path(settings.DATA_DIR).resolve()


def is_private(path: Path, data_dir: Path | None = None) -> bool:
    return Path(path).resolve().is_relative_to((data_dir or _data_dir()).resolve())


def published_umask(root: Path, data_dir: Path | None = None) -> int:
    """The umask for a child process writing files nginx serves from `root` (ffmpeg's segments)."""
    return PRIVATE_UMASK if is_private(root, data_dir) else PUBLISHED_UMASK


def published_modes(root: Path, data_dir: Path | None = None) -> tuple[int, int]:
    """(folder mode, file mode) for what is written under `root` for nginx to serve."""
    if is_private(root, data_dir):
        return PRIVATE_DIR_MODE, PRIVATE_FILE_MODE
    return PUBLISHED_DIR_MODE, PUBLISHED_FILE_MODE


def make_private(data_dir: Path) -> int:
    """Create `data_dir` if needed and take group/other bits off it and everything inside; returns
    how many entries were changed. Symbolic links are neither followed nor changed, and served
    roots placed outside the folder are not touched."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    changed = _tighten(data_dir, PRIVATE_DIR_MODE)
    for folder, dirs, files in os.walk(data_dir, followlinks=False):
        for name in dirs:
            changed += _tighten(Path(folder, name), PRIVATE_DIR_MODE)
        for name in files:
            changed += _tighten(Path(folder, name), PRIVATE_DIR_MODE)
    return changed


def _tighten(path: Path, folder_mode: int) -> int:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return 0  # gone meanwhile (a broker message consumed, a segment swept)
    if stat.S_ISLNK(info.st_mode):
        return 0
    current = stat.S_IMODE(info.st_mode)
    # Group and other lose everything; the owner keeps what it had (and full use of folders).
    wanted = folder_mode if stat.S_ISDIR(info.st_mode) else current & 0o700
    if current == wanted:
        return 0
    try:
        os.chmod(path, wanted, follow_symlinks=False)
    except (FileNotFoundError, NotImplementedError):
        return 0
    return 1
