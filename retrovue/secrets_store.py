"""Keys RetroVue generates for itself on the embedded default.

In production the operator supplies every key through the environment. On the embedded default
nobody should have to invent one, so the first start writes random keys into the data folder
(readable by the owner only) and later starts reuse them: sessions survive restarts and tokens
encrypted yesterday still decrypt today.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet


def _read_or_create(path: Path, make) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return path.read_text().strip()
    value = make()
    # O_EXCL: when web and worker start together, exactly one of them creates the file.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value + "\n")
    return value


def embedded_secret_key(data_dir: Path) -> str:
    return _read_or_create(data_dir / "secret_key", lambda: secrets.token_urlsafe(50))


def embedded_encryption_key(data_dir: Path) -> str:
    return _read_or_create(data_dir / "encryption_key", lambda: Fernet.generate_key().decode())
