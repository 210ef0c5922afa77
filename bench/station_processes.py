"""CPU and memory of every process of the station (bench/station.py, on-air phase), and its private PostgreSQL."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from station_common import WORK

BENCH_DB = "retrovue_bench_station"
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
# Parts whose processes serve more than this station (the database and broker servers): reported
# apart, not counted in the station's own CPU and memory.
SERVER_OUTSIDE_STATION = " (whole server, reported apart)"


class PrivatePostgres:
    """A PostgreSQL server of the benchmark's own, so the database's CPU is all the station's and its
    connections never crowd a shared server: the supervisor keeps about one per channel and each
    gunicorn thread serving viewers one (up to 2 workers × 32 threads): 173 server processes at 100
    channels."""

    def __init__(self, port: int, max_connections: int):
        binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if not binaries:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.bin = binaries[-1]
        self.port = port
        self.folder = Path(f"/tmp/retrovue-bench-station-pg-{port}")
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir()
        shutil.chown(self.folder, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*as_postgres, str(self.bin / "initdb"), "-D", str(self.folder / "data"), "-A", "trust",
                        "-U", "postgres", "--no-sync"], check=True, capture_output=True, timeout=120)  # fmt: skip
        self.log = (WORK / "postgres.log").open("ab")
        self.process = subprocess.Popen(
            [*as_postgres, str(self.bin / "postgres"), "-D", str(self.folder / "data"), "-p", str(port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}",
             "-c", f"max_connections={max_connections}"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        import psycopg

        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(self.url).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"the private PostgreSQL did not start; see {self.log.name}") from None
                time.sleep(0.5)

    def stop(self) -> None:
        from django.db import connections

        connections.close_all()
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D",
                        str(self.folder / "data"), "stop", "-m", "fast"], capture_output=True, timeout=120)  # fmt: skip
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


# --- /proc accounting --------------------------------------------------------------------------------


def read_processes() -> dict[tuple[int, int], dict]:
    """(pid, start time) → ppid, own CPU ticks, reaped children's ticks, RSS bytes, command line."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry.name}/stat").read_text()
            command = (
                Path(f"/proc/{entry.name}/cmdline")
                .read_bytes()
                .replace(b"\0", b" ")
                .decode("utf-8", "replace")
            )
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()
        found[(int(entry.name), int(fields[19]))] = {
            "pid": int(entry.name),
            "comm": text[text.find("(") + 1 : text.rfind(")")],
            "ppid": int(fields[1]),
            "ticks": int(fields[11]) + int(fields[12]),
            "reaped": int(fields[13]) + int(fields[14]),
            "rss": int(fields[21]) * PAGE,
            "command": command.strip(),
        }
    return found


def proportional_bytes(pid: int) -> int | None:
    """Proportional set size: shared pages (PostgreSQL's shared buffers, ffmpeg's libraries)
    divided among the processes that map them, so a sum over processes doesn't count them N times."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def classify(process: dict, by_pid: dict[int, dict], roots: dict[int, str]) -> str | None:
    """Which part of the station a process is (None: not the station's, e.g. another user's)."""
    if process["pid"] == os.getpid():
        return "load generator (this script, apart)"
    pid, hops = process["pid"], 0
    while pid in by_pid and hops < 20:
        if pid in roots:
            root = roots[pid]
            if root == "supervisor":
                if process["pid"] == pid:
                    return "supervisor (Python: feed, planner)"
                if "feed.ffconcat" in process["command"]:
                    return "channel ffmpegs"
                return "supervisor: other children"
            return root
        pid, hops = by_pid[pid]["ppid"], hops + 1
    command = process["command"]
    if process["comm"] == "redis-server":
        return f"broker: redis-server{SERVER_OUTSIDE_STATION}"
    if process["comm"].startswith("postgres") or command.startswith("postgres"):
        if f" {BENCH_DB} " in command:
            if any(root.startswith("database: this station's private server") for root in roots.values()):
                # This station's backends are counted under its private server already; a backend of
                # the same database name outside it is another user's station bench, on their server.
                return None
            return "database: this station's backends"
        if command.startswith("postgres: ") and len(command.split()) >= 4 and "launcher" not in command:
            return None  # another user's backend on the shared server
        return f"database: server processes{SERVER_OUTSIDE_STATION}"
    return None


def usage(before: dict, after: dict, seconds: float, roots: dict[int, str]) -> dict[str, dict]:
    """Cores and RSS per part of the station between two /proc readings."""
    by_pid = {row["pid"]: row for row in after.values()}
    parts: dict[str, dict] = {}
    for key, row in after.items():
        part = classify(row, by_pid, roots)
        if part is None:
            continue
        earlier = before.get(key)
        ticks = row["ticks"] - (earlier["ticks"] if earlier else 0)
        if row["pid"] in roots:  # children that exited inside the window
            ticks += row["reaped"] - (earlier["reaped"] if earlier else 0)
        entry = parts.setdefault(part, {"cores": 0.0, "rss_mb": 0.0, "pss_mb": 0.0, "processes": 0})
        entry["cores"] += ticks / TICK / seconds
        entry["rss_mb"] += row["rss"] / 1e6
        entry["pss_mb"] += (proportional_bytes(row["pid"]) or row["rss"]) / 1e6
        entry["processes"] += 1
    return parts


# --- Viewers -----------------------------------------------------------------------------------------
