"""The README's run command on the embedded default: SQLite, a folder broker, every process up."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
import requests

from tests.e2e.embedded_station import PROJECT_ROOT, embedded_env
from tests.integration.celery_worker import wait_for

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("station", [True], indirect=True)
def test_run_command_sets_up_the_demo_station_and_serves_admin_and_guide(station):
    base = station["base"]
    assert requests.get(f"{base}/admin/login/", timeout=5).status_code == 200
    assert requests.get(f"{base}/api/", timeout=5).status_code == 401
    guide = requests.get(f"{base}/guide", timeout=10)
    assert guide.status_code == 200
    assert "RetroVue Classic TV" in guide.text and "RetroVue Kids" in guide.text

    session = requests.Session()
    login_page = session.get(f"{base}/admin/login/", timeout=5)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
    signed_in = session.post(
        f"{base}/admin/login/?next=/admin/",
        data={
            "username": "admin",
            "password": "first-sign-in-pw",
            "csrfmiddlewaretoken": csrf,
            "next": "/admin/",
        },
        headers={"Referer": f"{base}/admin/login/"},
        timeout=10,
    )
    assert signed_in.status_code == 200
    assert "Station administration" in signed_in.text

    # Publish through the embedded (folder) broker, as any part of the station would.
    sent = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from retrovue.core.tasks import purge_old_task_runs; print(purge_old_task_runs.delay(days=30).id)",
        ],
        cwd=PROJECT_ROOT,
        env=embedded_env(station["data"]),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    task_id = sent.stdout.strip().splitlines()[-1]

    def recorded_state():
        with sqlite3.connect(station["data"] / "retrovue.sqlite3") as database:
            row = database.execute("SELECT state FROM core_taskrun WHERE task_id = ?", (task_id,)).fetchone()
        return row and row[0] != "running" and row[0]

    assert wait_for(recorded_state, timeout=30, describe="the worker to run the task") == "succeeded"
    assert station["process"].poll() is None, "a child process died: " + station["log"].read_text()[-3000:]


def test_embedded_station_is_healthy_with_its_worker_and_playout_beating(station):
    """The full /healthz over the filesystem broker: the worker's heartbeat and the supervisor's."""

    def report():
        response = requests.get(f"{station['base']}/healthz", timeout=5)
        return response.json() if response.status_code == 200 else None

    body = wait_for(report, timeout=90, interval=1, describe="a healthy /healthz")
    checks = {check["name"]: check["detail"] for check in body["checks"]}
    assert checks["broker"] == "filesystem reachable"
    assert checks["queue:sync"] == checks["queue:pregen"] == checks["queue:default"] == "1 live worker"
    assert checks["queue:playout"] == "the playout supervisor is alive"


def test_run_command_stops_every_process_on_sigterm(station):
    process = station["process"]
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=40)
    time.sleep(0.5)
    leftovers = subprocess.run(["pgrep", "-f", str(station["data"])], capture_output=True, text=True)
    survivors = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True)
    assert survivors.stdout.strip() == "", (
        f"processes left in the group: {survivors.stdout} {leftovers.stdout}"
    )
