"""Runs RetroVue's processes together: the embedded default's one-command start.

`python -m retrovue run` prepares the database and starts the web server, the workers (one for
sync/default, one for pre-generation), the live-update listener and beat, as children it watches. If any child dies the
others are stopped and the launcher exits non-zero, so a service manager (or the person at the
terminal) sees the failure instead of a half-running station.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from retrovue.subprocesses import start_process, stop_processes

PYTHON = sys.executable


@dataclass
class ServiceSpec:
    name: str
    argv: list[str]


@dataclass
class Launcher:
    services: list[ServiceSpec]
    children: dict = field(default_factory=dict)
    stopping: bool = False
    exit_code: int = 0

    def install_signal_handlers(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._request_stop)

    def _request_stop(self, signum, _frame) -> None:
        self.stopping = True

    def start_all(self) -> None:
        for spec in self.services:
            self.children[spec.name] = start_process(spec.argv)

    def check_children(self) -> None:
        for name, process in self.children.items():
            code = process.poll()
            if code is not None and not self.stopping:
                print(
                    f"retrovue: {name} exited with status {code}; stopping the others.",
                    file=sys.stderr,
                    flush=True,
                )
                self.exit_code = code or 1
                self.stopping = True

    def stop_all(self) -> None:
        stop_processes(list(self.children.values()), grace_seconds=20)

    def run(self) -> int:
        self.install_signal_handlers()
        self.start_all()
        try:
            while not self.stopping:
                self.check_children()
                time.sleep(0.5)
        finally:
            self.stop_all()
        return self.exit_code


def web_argv(bind: str) -> list[str]:
    threads = os.environ.get("RETROVUE_WEB_THREADS", "32")
    workers = os.environ.get("RETROVUE_WEB_WORKERS", "2")
    # gthread workers: long-lived viewer streams each hold a thread, not a whole process.
    return [
        PYTHON,
        "-m",
        "gunicorn",
        "retrovue.wsgi:application",
        "--bind",
        bind,
        "--worker-class",
        "gthread",
        "--workers",
        workers,
        "--threads",
        threads,
        "--timeout",
        "120",
        "--no-control-socket",
        "--logger-class",
        "retrovue.gunicorn_logging.RedactingLogger",
        "--access-logfile",
        "-",
        "--access-logformat",
        '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss',
    ]


def worker_argv(queues: str, name: str, concurrency: str, pool: str | None = None) -> list[str]:
    return [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "retrovue",
        "worker",
        "--queues",
        queues,
        "--hostname",
        f"{name}@%h",
        "--concurrency",
        concurrency,
        *(["--pool", pool] if pool else []),
        "--loglevel",
        "INFO",
    ]


def pregen_worker_argv(concurrency: str | None = None) -> list[str]:
    """The pre-generation worker: its own queue, and a threads pool so the shutdown signal reaches
    the process whose threads run the encoders (see playout.tasks)."""
    concurrency = concurrency or os.environ.get("RETROVUE_PREGEN_CONCURRENCY", "2")
    return worker_argv("pregen", "pregen", concurrency, pool="threads")


def beat_argv(schedule_dir: Path) -> list[str]:
    return [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "retrovue",
        "beat",
        "--loglevel",
        "INFO",
        "--pidfile",
        "",
        "--schedule",
        str(schedule_dir / "celerybeat-schedule"),
    ]


def playout_argv(extra: list[str] | None = None) -> list[str]:
    """The playout supervisor: one stream-copying ffmpeg per on-air channel (see playout.supervisor)."""
    return [PYTHON, "-m", "playout", *(extra or [])]


def ts_fanout_argv(bind: str, hls_log: str) -> list[str]:
    """The TS fan-out server behind nginx's /iptv/channel/: one reader per channel for all its
    viewers (see playout.ts_fanout)."""
    return [PYTHON, "-m", "playout.ts_fanout", "--bind", bind, "--hls-log", hls_log]


def listen_argv() -> list[str]:
    """The live-update listener: Plex notification sockets turned into item syncs (see catalog.live)."""
    return [PYTHON, "-m", "retrovue", "listen"]


def embedded_services(bind: str, data_dir: Path) -> list[ServiceSpec]:
    return [
        ServiceSpec("web", web_argv(bind)),
        ServiceSpec(
            "worker",
            worker_argv("sync,default", "worker", os.environ.get("RETROVUE_WORKER_CONCURRENCY", "2")),
        ),
        ServiceSpec("pregen", pregen_worker_argv()),
        ServiceSpec("playout", playout_argv()),
        ServiceSpec("listen", listen_argv()),
        ServiceSpec("beat", beat_argv(data_dir)),
    ]


def ensure_admin_user(data_dir: Path) -> str | None:
    """Create the first staff account if there is none; return its password once, else None."""
    from django.contrib.auth import get_user_model

    users = get_user_model()
    if users.objects.filter(is_superuser=True).exists():
        return None
    username = os.environ.get("RETROVUE_ADMIN_USER", "admin")
    password = os.environ.get("RETROVUE_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
    users.objects.create_superuser(username=username, email="", password=password)
    note = data_dir / "admin_password"
    descriptor = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(f"{username} {password}\n")
    return password
