"""Finding 1: the data folder (SQLite with session keys and password hashes, generated keys, the
first admin password, the folder broker) is private to the service's user.

It was 0755 with the database 0644: any local account could copy a session key and be admin.
Checked on the real thing: `python -m retrovue run` on a data folder an older version left open.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from retrovue.core.private_data import make_private, published_modes, published_umask
from tests.e2e.embedded_station import PROJECT_ROOT, embedded_env, free_port
from tests.integration.celery_worker import wait_for

OPEN_FOLDER, OPEN_FILE = 0o755, 0o644


def _loose_entries(root: Path) -> list[str]:
    """Entries under `root` (and root itself) that group or others may read, write or enter."""
    loose = []
    for path in [root, *root.rglob("*")]:
        info = os.lstat(path)
        if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & 0o077:
            loose.append(f"{path.relative_to(root.parent)} {oct(stat.S_IMODE(info.st_mode))}")
    return loose


def _left_open_by_an_older_version(data: Path) -> None:
    data.mkdir(mode=OPEN_FOLDER)
    data.chmod(OPEN_FOLDER)
    for name, text in (("secret_key", "k" * 60), ("admin_password", "admin hunter2")):
        (data / name).write_text(text + "\n")
        (data / name).chmod(OPEN_FILE)
    broker = data / "broker"
    broker.mkdir()
    broker.chmod(OPEN_FOLDER)
    (broker / "old.msg").write_text("{}")
    (broker / "old.msg").chmod(OPEN_FILE)


@pytest.mark.e2e
def test_run_makes_the_data_folder_private_and_creates_everything_private(tmp_path):
    data = tmp_path / "data"
    _left_open_by_an_older_version(data)
    port = free_port()
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "retrovue", "run", "--bind", f"127.0.0.1:{port}"],
            cwd=PROJECT_ROOT,
            env=embedded_env(data),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def healthy():
            if process.poll() is not None:
                raise AssertionError(f"run exited early:\n{log_path.read_text()[-3000:]}")
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz?check=database", timeout=2).ok
            except requests.RequestException:
                return False

        wait_for(healthy, timeout=120, describe="the embedded station")
        # A sign-in writes a session row: the database and its WAL are in use.
        session = requests.Session()
        session.get(f"http://127.0.0.1:{port}/admin/login/", timeout=5)

        database = data / "retrovue.sqlite3"
        for path in (
            data,
            database,
            data / "retrovue.sqlite3-wal",
            data / "secret_key",
            data / "admin_password",
        ):
            assert path.exists(), path
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        assert stat.S_IMODE(database.stat().st_mode) == 0o600
        assert _loose_entries(data) == []
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def test_repair_leaves_symlinks_and_what_they_point_at_alone(tmp_path):
    data = tmp_path / "data"
    _left_open_by_an_older_version(data)
    elsewhere = tmp_path / "shared.txt"
    elsewhere.write_text("not ours to change")
    elsewhere.chmod(OPEN_FILE)
    (data / "link").symlink_to(elsewhere)

    changed = make_private(data)

    assert changed == 5  # the folder, two files, the broker folder and its message
    assert _loose_entries(data) == []
    assert stat.S_IMODE(elsewhere.stat().st_mode) == OPEN_FILE
    assert make_private(data) == 0


def test_roots_nginx_reads_are_readable_only_outside_the_data_folder(tmp_path):
    data = tmp_path / "data"
    assert published_modes(data / "hls", data) == (0o700, 0o600)
    assert published_umask(data / "hls", data) == 0o077
    assert published_modes(tmp_path / "srv" / "hls", data) == (0o755, 0o644)
    assert published_umask(tmp_path / "srv" / "hls", data) == 0o022
