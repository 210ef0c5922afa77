"""Stopping the pre-generation worker (SIGTERM, Ctrl-C's SIGINT) leaves no encoder running and no
partial file; a worker killed outright takes its encoder with it, and the partial file it leaves is
removed when the worker starts again. Real worker process, real Redis broker, real ffmpeg."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from kombu import Connection

from playout import pregen, tasks
from playout.models import PregenPiece, PregenStatus
from retrovue.launcher import pregen_worker_argv
from retrovue.subprocesses import start_process, stop_processes
from scheduling.models import StreamProfile
from tests.integration.celery_worker import REDIS_URL, database_url_for_subprocesses, wait_for
from tests.playout.test_polite_encoding import alive, children_of

PROJECT_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db(transaction=True)


class PregenWorker:
    """`python -m retrovue worker --queues pregen`'s command line, on this test's database, store
    and a private corner of the Redis broker."""

    def __init__(self, store: Path, log: Path):
        self.prefix = f"rvtest-{uuid.uuid4().hex[:8]}:"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "retrovue.settings_test",
            "DATABASE_URL": database_url_for_subprocesses(),
            "CELERY_BROKER_URL": REDIS_URL,
            "RETROVUE_BROKER_KEY_PREFIX": self.prefix,
            "RETROVUE_PREGEN_ROOT": str(store),
        }
        self.log_path = log
        self.process: subprocess.Popen | None = None

    def start(self) -> subprocess.Popen:
        argv = pregen_worker_argv("1")
        assert argv[0] == sys.executable
        with self.log_path.open("ab") as log:
            self.process = start_process(
                argv, env=self.env, cwd=str(PROJECT_ROOT), stdout=log, stderr=subprocess.STDOUT
            )
        return self.process

    def encode(self, row: PregenPiece) -> None:
        with Connection(REDIS_URL, transport_options={"global_keyprefix": self.prefix}) as broker:
            tasks.encode.apply_async((row.pk,), connection=broker)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is not None:
            stop_processes([self.process], grace_seconds=10)


@pytest.fixture
def worker(tmp_path):
    running = PregenWorker(tmp_path / "pregen", tmp_path / "worker.log")
    yield running
    running.stop()


@pytest.fixture
def long_piece(db):
    profile = StreamProfile.objects.create(
        name="Tiny", width=160, height=120, frame_rate="25", video_bitrate_kbps=200, audio_bitrate_kbps=64
    )
    # An hour of test pattern: still encoding whenever the signal comes, on any machine.
    return PregenPiece.objects.create(special=pregen.TEST_PATTERN, profile=profile, in_ms=0, out_ms=3_600_000)


def encoding(worker: PregenWorker, store: Path) -> list[int]:
    """The worker's ffmpeg pids, once it is writing a temp file."""
    written = any(path.stat().st_size for path in store.rglob("*.tmp"))
    ffmpegs = [pid for pid in children_of(worker.process.pid) if _comm(pid) == "ffmpeg"]
    return ffmpegs if written and ffmpegs else []


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_pregen_worker_leaves_no_encoder_and_no_partial_file(worker, long_piece, tmp_path, signum):
    store = tmp_path / "pregen"
    process = worker.start()
    worker.encode(long_piece)
    ffmpegs = wait_for(lambda: encoding(worker, store), timeout=90, describe="an encode to be running")

    process.send_signal(signum)
    # A warm shutdown: Celery exits 0 after SIGTERM and 1 after Ctrl-C, never by a signal.
    assert process.wait(timeout=30) == (0 if signum == signal.SIGTERM else 1), worker.log()

    assert not [pid for pid in ffmpegs if alive(pid)]
    assert list(store.rglob("*.tmp")) == []
    long_piece.refresh_from_db()
    assert long_piece.status == PregenStatus.FAILED
    assert long_piece.error.startswith(pregen.ENCODER_INTERRUPTED)  # retried by the next plan


def test_a_killed_worker_takes_its_encoder_along_and_its_partial_file_goes_at_the_next_start(
    worker, long_piece, tmp_path
):
    store = tmp_path / "pregen"
    process = worker.start()
    worker.encode(long_piece)
    ffmpegs = wait_for(lambda: encoding(worker, store), timeout=90, describe="an encode to be running")

    process.kill()
    process.wait(timeout=10)
    wait_for(lambda: not [pid for pid in ffmpegs if alive(pid)], timeout=10, describe="the encoder to die")
    assert list(store.rglob("*.tmp")), "a crash leaves its partial file"

    worker.start()
    wait_for(lambda: not list(store.rglob("*.tmp")), timeout=60, describe="the partial file to go")
