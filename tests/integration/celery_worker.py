"""Start a real Celery worker process for integration tests, against a real Redis broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.db import connection
from kombu import Connection

from retrovue.subprocesses import start_process, stop_processes

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("RETROVUE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_is_up() -> bool:
    try:
        with Connection(REDIS_URL, connect_timeout=2) as probe:
            probe.ensure_connection(max_retries=1)
        return True
    except Exception:
        return False


def database_url_for_subprocesses() -> str:
    """The URL of the database pytest-django created, so the worker sees the test's rows."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"  # the test database is a file (settings_test), not memory
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or "5432"
    return f"postgresql://{settings['USER']}{password}@{host}:{port}/{settings['NAME']}"


@contextmanager
def running_worker(queues: str, log_path: Path, broker_url: str = REDIS_URL, hostname: str | None = None):
    """Yield a kombu Connection to publish on; a worker consumes `queues` until the block ends.

    A random key prefix isolates this run's queues inside the shared Redis.
    """
    prefix = f"rvtest-{uuid.uuid4().hex[:8]}:"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "retrovue.settings_test",
        "DATABASE_URL": database_url_for_subprocesses(),
        "CELERY_BROKER_URL": broker_url,
        "RETROVUE_BROKER_KEY_PREFIX": prefix,
    }
    log = log_path.open("wb")
    worker = start_process(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "retrovue",
            "worker",
            "--queues",
            queues,
            "--pool",
            "solo",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
            *(["--hostname", hostname] if hostname else []),
        ],
        env=env,
        cwd=str(PROJECT_ROOT),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        with Connection(broker_url, transport_options={"global_keyprefix": prefix}) as publisher:
            yield publisher
    finally:
        stop_processes([worker], grace_seconds=10)
        log.close()


def wait_for(predicate, *, timeout: float, interval: float = 0.2, describe: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout:g} s waiting for {describe}")
