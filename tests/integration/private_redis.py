"""A private redis-server on a free port, for tests that stop and restart the broker."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import redis

from retrovue.subprocesses import start_process, stop_process
from tests.integration.celery_worker import wait_for


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """`start()` and `stop()` as often as a test likes; the port stays the same across restarts."""

    def __init__(self, folder: Path, port: int | None = None):
        self.folder = folder
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = start_process(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=(self.folder / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for(self.answers, timeout=15, describe=f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, grace_seconds=5)
            self.process = None
        wait_for(lambda: not self.answers(), timeout=10, describe="redis-server to stop")
