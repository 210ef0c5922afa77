"""A throwaway PostgreSQL database for one benchmark run, with RetroVue's Django set up on it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def server_url(url: str, database: str) -> str:
    """The same server as `url`, another database."""
    return url.rsplit("/", 1)[0] + f"/{database}"


def create_and_set_up(server: str, name: str) -> None:
    """(Re)create database `name` on the server, point Django at it, and migrate."""
    import psycopg

    with psycopg.connect(server_url(server, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = server_url(server, name)
    os.environ.setdefault("RETROVUE_DATA_DIR", "/tmp/retrovue-bench")
    # Benches run the Plex emulator on loopback and their media under /tmp: list both, as an
    # operator would (the data folder itself never counts as media).
    os.environ.setdefault("RETROVUE_PLEX_HOSTS", "127.0.0.1,localhost")
    os.environ.setdefault("RETROVUE_LIBRARY_ROOTS", "/tmp")
    os.environ["DJANGO_SETTINGS_MODULE"] = "retrovue.settings"
    os.environ["RETROVUE_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def drop(server: str, name: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(server_url(server, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
