"""Opening a file that a URL names, inside the folder it must come from.

Django's views for the HLS, artwork and media roots (nginx does the same with
`disable_symlinks on`) open files only through this: a symbolic link anywhere below the root, or
as the file itself, is refused, so a link planted in a served folder cannot hand out the
encryption key, the database or anything else outside it.
"""

from __future__ import annotations

import os
from pathlib import Path


def open_inside(root: Path, relative: str):
    """Open `root/relative` for reading; FileNotFoundError if it leaves `root` or passes a symlink."""
    root = Path(root).resolve()
    target = root / relative
    folder = target.parent
    if not folder.is_relative_to(root) or folder.resolve() != folder:
        raise FileNotFoundError(relative)
    descriptor = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    return os.fdopen(descriptor, "rb")
