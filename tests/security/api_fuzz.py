"""schemathesis against the real API: a fresh station (SQLite or PostgreSQL), migrated and seeded,
served by gunicorn (`python -m retrovue web`), fuzzed through `/api/openapi.json` with a staff
token; the run passes when no request gets a server error.

The test suite runs it bounded (test_api_fuzzing.py); the longer run is by hand:

    .venv/bin/python -m tests.security.api_fuzz --database sqlite --max-examples 200
    .venv/bin/python -m tests.security.api_fuzz --database postgresql --max-examples 200
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
POSTGRES_ADMIN_URL = os.environ.get(
    "RETROVUE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

SEED = r"""
import json
from django.test import Client
from django.contrib.auth import get_user_model
from retrovue.core.models import ApiToken, TaskRun
from scheduling.models import Channel, ScheduleTemplate
from tests.factories import EpisodeFactory, MovieFactory, MediaFileFactory, ShortFormFactory, ChapterMarkFactory
user = get_user_model().objects.create_user("fuzzer", password="x" * 20, is_staff=True, is_superuser=True)
_, token = ApiToken.issue(user, "schemathesis")
episode = EpisodeFactory()
MediaFileFactory(playable=episode)
ChapterMarkFactory(playable=episode)
MovieFactory(source=episode.source)
ShortFormFactory()
channel = Channel.objects.create(number="7", name="Seven", time_zone="UTC")
ScheduleTemplate.objects.create(channel=channel, name="Week")
TaskRun.objects.create(task_id="seed", task_name="sync.plex")
client = Client()
client.force_login(user)
print(json.dumps({"token": token, "schema": client.get("/api/openapi.json").json()}))
"""


@dataclass
class FuzzResult:
    returncode: int
    output: str

    @property
    def server_errors(self) -> bool:
        return self.returncode != 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(data_dir: Path, database_url: str) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("RETROVUE_", "DJANGO_", "CELERY_"))
    }
    env.update(
        {
            "RETROVUE_DATA_DIR": str(data_dir),
            "DATABASE_URL": database_url,
            "RETROVUE_TASKS_EAGER": "true",
            "DJANGO_SETTINGS_MODULE": "retrovue.settings",
            "RETROVUE_WEB_WORKERS": "1",
            "RETROVUE_WEB_THREADS": "4",
            "RETROVUE_LOG_LEVEL": "WARNING",
        }
    )
    return env


def _run(argv: list[str], env: dict, timeout: float) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{argv[:4]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result


def _postgres_database() -> tuple[str, callable]:
    import psycopg

    name = f"retrovue_fuzz_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", drop


def fuzz(
    database: str,
    *,
    max_examples: int,
    seed: int | None = None,
    phases: str = "examples,coverage,fuzzing,stateful",
    workdir: Path | None = None,
) -> FuzzResult:
    """Run schemathesis once against a fresh station on `database` ("sqlite" or "postgresql")."""
    own_workdir = workdir is None  # removed afterwards (the caller's, e.g. pytest's tmp_path, is left)
    workdir = Path(workdir or tempfile.mkdtemp(prefix="retrovue-fuzz-"))
    data_dir = workdir / "data"
    drop = None
    if database == "sqlite":
        database_url = f"sqlite:///{data_dir / 'fuzz.sqlite3'}"
    else:
        database_url, drop = _postgres_database()
    env = _environment(data_dir, database_url)
    server = None
    try:
        _run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env, timeout=600)
        seeded_output = _run([sys.executable, "manage.py", "shell", "-c", SEED], env, timeout=120).stdout
        seeded = json.loads(seeded_output.strip().splitlines()[-1])
        schema_path = workdir / "openapi.json"
        schema_path.write_text(json.dumps(seeded["schema"]))
        port = _free_port()
        log = (workdir / "web.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "retrovue", "web", "--bind", f"127.0.0.1:{port}"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError((workdir / "web.log").read_text()[-3000:]) from None
                time.sleep(0.2)
        argv = [
            str(Path(sys.executable).with_name("schemathesis")), "run", str(schema_path),
            "--url", f"http://127.0.0.1:{port}",
            "--header", f"Authorization: Bearer {seeded['token']}",
            "--checks", "not_a_server_error",
            "--max-examples", str(max_examples),
            "--phases", phases,
            "--workers", "1",
            "--generation-database", "none",
            "--no-color",
            "--request-timeout", "30",
        ]  # fmt: skip
        if seed is not None:
            argv += ["--seed", str(seed)]
        result = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=3600)
        return FuzzResult(result.returncode, result.stdout + result.stderr)
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        if drop is not None:
            drop()
        shutil.rmtree(workdir if own_workdir else data_dir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--max-examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    args = parser.parse_args()
    result = fuzz(args.database, max_examples=args.max_examples, seed=args.seed, phases=args.phases)
    print(result.output)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
