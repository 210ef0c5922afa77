"""The README's run command on the embedded default (SQLite, a folder broker), started for a test."""

import os
import socket
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def embedded_env(data_dir: Path, demo: bool = False) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RETROVUE_", "DATABASE_URL", "CELERY_", "DJANGO_"))
    }
    env.update(
        {
            "RETROVUE_DATA_DIR": str(data_dir),
            "RETROVUE_ADMIN_PASSWORD": "first-sign-in-pw",
            "RETROVUE_DEMO": "1" if demo else "0",
        }
    )
    return env
