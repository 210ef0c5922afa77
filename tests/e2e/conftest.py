"""The `station` fixture: the README's run command on the embedded default, started for a test."""

import os
import shutil
import signal
import subprocess
import sys

import pytest
import requests

from tests.e2e.embedded_station import DEMO_REUSED, PROJECT_ROOT, embedded_env, free_port
from tests.integration.celery_worker import wait_for


@pytest.fixture(scope="session")
def made_demo_media(tmp_path_factory):
    """The demo library, generated once per run (about 100 s of ffmpeg on this box)."""
    from scheduling.demo.media import make_demo_media

    return make_demo_media(tmp_path_factory.mktemp("demo-media-once") / "demo-media")


@pytest.fixture
def station(request, tmp_path):
    """`param` False: no demo; True: the demo station as a fresh install makes it, media included;
    DEMO_REUSED: the demo station over media made once for the run (hard links), for tests about
    what happens after set-up. The set-up finds the media complete by its manifest and keeps it."""
    demo = getattr(request, "param", False)
    if demo == DEMO_REUSED:
        media = request.getfixturevalue("made_demo_media")
        data = tmp_path / "data"
        data.mkdir(mode=0o700)
        shutil.copytree(media, data / "demo-media", copy_function=os.link)
        demo = True
    port = free_port()
    log_path = tmp_path / "station.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "retrovue", "run", "--bind", f"127.0.0.1:{port}"],
        cwd=PROJECT_ROOT,
        env=embedded_env(tmp_path / "data", demo=demo),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def healthy():
        if process.poll() is not None:
            raise AssertionError(f"launcher exited early:\n{log_path.read_text()[-3000:]}")
        try:
            return requests.get(f"{base}/healthz?check=database", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(healthy, timeout=240 if demo else 90, describe="the web server")
        yield {"base": base, "process": process, "data": tmp_path / "data", "log": log_path}
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()
