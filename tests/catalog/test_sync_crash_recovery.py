"""A sync killed with SIGKILL mid-way, then run again, leaves the same catalog as an uninterrupted one."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from catalog.models import Episode, SyncRun
from plex_emulator import EmulatorConfig, PlexEmulator
from tests.catalog.plex_helpers import snapshot, source_for, sync
from tests.integration.celery_worker import database_url_for_subprocesses, wait_for

PROJECT_ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

LIBRARY = EmulatorConfig(
    shows=20, seasons_per_show=3, episodes_per_season=20, movies=40, seed=11, latency_ms=15
)


def test_kill_minus_nine_mid_sync_then_rerun_converges(tmp_path):
    with PlexEmulator(LIBRARY) as emulator:
        interrupted = source_for(emulator, name="interrupted")
        script = (
            "from catalog.models import MediaSource; from catalog.sync.engine import sync_plex_source; "
            f"sync_plex_source(MediaSource.objects.get(pk={interrupted.pk}), 'full')"
        )
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_subprocesses(),
            "DJANGO_SETTINGS_MODULE": "retrovue.settings_test",
        }
        log = (tmp_path / "sync.log").open("wb")
        child = subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", script],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

        def some_episodes_written():
            assert child.poll() is None, (
                "the sync finished before it could be killed: " + (tmp_path / "sync.log").read_text()[-2000:]
            )
            return Episode.objects.filter(source=interrupted).count() > 0

        wait_for(some_episodes_written, timeout=120, interval=0.05, describe="the sync to write episodes")
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        log.close()
        written_when_killed = Episode.objects.filter(source=interrupted).count()
        assert 0 < written_when_killed < emulator.library.count("episode")
        assert SyncRun.objects.get(source=interrupted).status == "running"  # what a dead worker leaves

        rerun = sync(interrupted, "incremental")
        uninterrupted = source_for(emulator, name="uninterrupted")
        clean = sync(uninterrupted, "full")

    assert rerun.status == clean.status == "succeeded", rerun.error
    assert snapshot(interrupted) == snapshot(uninterrupted)
