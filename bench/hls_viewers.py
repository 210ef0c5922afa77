"""Thousands of live HLS players with wrk (bench/hls_load.py), and what they saw.

wrk (Debian's `wrk`, LuaJIT inside) runs bench/hls_viewer.lua: one player per connection. wrk keeps
one Lua state per thread and never tells a callback which connection it serves, so each player
gets a thread of its own (`-t N -c N`); one wrk process per channel keeps each process's event
loops small (wrk sizes every thread's loop by the process's whole connection count). Standard
library only, so the end-to-end test can load it by path.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

LUA = Path(__file__).with_name("hls_viewer.lua")
WRK_PART = "load generator: wrk (apart)"
KINDS = ("playlist", "segment")


def ensure_wrk() -> str:
    """The wrk binary, installed from Debian the way bin/lib.sh's apt_install does when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    as_root = [] if os.geteuid() == 0 else ["sudo"]
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*as_root, "apt-get", "update", "-qq"], check=True, env=environment)
    subprocess.run(
        [*as_root, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"],
        check=True, env=environment,
    )  # fmt: skip
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("apt-get installed wrk but it is not on PATH")
    return found


def raise_open_files(wanted: int) -> int:
    """Raise this process's (and so its children's) open-file limit towards `wanted`, up to the hard
    limit; returns the soft limit in force. Each wrk player holds a socket and its thread's epoll."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def spread(viewers: int, numbers: list[str]) -> dict[str, int]:
    """Viewers per channel, as even as they divide."""
    each, extra = divmod(viewers, len(numbers))
    return {number: each + (1 if index < extra else 0) for index, number in enumerate(numbers)}


class WrkViewers:
    """`viewers` players spread over `numbers`' playlists at `base`, counted from `warmup` s on.

    `tokens`: stream tokens handed out in contiguous blocks over the players in channel order (player
    k of V gets token k·T // V), so a token is shared by V/T players, all on one channel as long as
    T ≥ the channels: a household's devices, not one token on every channel. `count_log`: a log whose lines written during the measuring window `stop()`
    counts by path (the web server's access log, to count Django's /iptv/authorize answers).
    `nice`: wrk's niceness, so its thousands of threads do not outweigh nginx's few in the
    scheduler (real viewers are on other machines).
    """

    def __init__(
        self,
        base: str,
        numbers: list[str],
        viewers: int,
        *,
        warmup: float = 5.0,
        tokens: list[str] | None = None,
        count_log: Path | None = None,
        timeout_s: int = 10,
        nice: int = 0,
    ):
        binary = ensure_wrk()
        self.numbers = numbers
        self.per_channel = spread(viewers, numbers)
        self.folder = Path(tempfile.mkdtemp(prefix="retrovue-hls-load-"))
        self.count_log = count_log
        self.log_offsets: list[int] = []
        self.limit = raise_open_files(3 * max(self.per_channel.values()) + 256)
        self.measure_from = time.time() + warmup
        self.result: dict | None = None
        # Players tune in spread over most of the warm-up (a crowd, not one instant).
        tune_in = max(0.0, warmup - 1.0)
        self.processes: dict[str, subprocess.Popen] = {}
        first = 0
        for number, count in self.per_channel.items():
            if count == 0:
                continue
            own_tokens = []
            if tokens:
                total = sum(self.per_channel.values())
                own_tokens = [tokens[(first + k) * len(tokens) // total] for k in range(count)]
            first += count
            argv = [
                *(["nice", "-n", str(nice)] if nice else []), binary,
                "-t", str(count), "-c", str(count), "-d", "24h", "--timeout", f"{timeout_s}s", "-s", str(LUA), f"{base}/hls/{number}/index.m3u8",
                "--", f"{self.measure_from:.3f}", str(self.folder / f"{number}.json"), f"{tune_in:.1f}",
                *own_tokens,
            ]  # fmt: skip
            self.processes[number] = subprocess.Popen(
                argv,
                stdout=(self.folder / f"{number}.out").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.roots = {process.pid: WRK_PART for process in self.processes.values()}
        # The log offset when counting starts, read on a timer so the window matches the players'.
        self.marker = threading.Timer(warmup, self._mark_log)
        self.marker.daemon = True
        self.marker.start()

    def _log_size(self) -> int:
        try:
            return self.count_log.stat().st_size if self.count_log else 0
        except OSError:
            return 0

    def _mark_log(self) -> None:
        self.log_offsets.append(self._log_size())

    def stop(self) -> dict:
        """Stop every wrk (SIGINT: each writes its report) and merge the reports; once."""
        if self.result is None:
            self.result = self._stop()
        return self.result

    def _stop(self) -> dict:
        stopped_at = time.time()
        self.marker.cancel()
        log_end = self._log_size()
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)  # wrk prints its summary and runs done()
        reports, failures = {}, {}
        for number, process in self.processes.items():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            report = self.folder / f"{number}.json"
            if report.exists():
                reports[number] = json.loads(report.read_text())
            else:
                failures[number] = (self.folder / f"{number}.out").read_text(errors="replace")[-500:]
        seconds = max(stopped_at - self.measure_from, 1e-9)
        result = merge(reports, seconds)
        result["viewers"] = sum(self.per_channel.values())
        result["open_files_limit"] = self.limit
        result["wrk_failures"] = failures
        if self.count_log is not None and self.log_offsets:
            result["upstream"] = count_paths(self.count_log, self.log_offsets[0], log_end, seconds)
        shutil.rmtree(self.folder, ignore_errors=True)
        return result


def percentile(histogram: dict[str, int], fraction: float) -> float | None:
    """The latency (ms) below which `fraction` of the requests finished, from bucket lower bounds (µs)."""
    total = sum(histogram.values())
    if not total:
        return None
    seen = 0
    for key in sorted(histogram, key=float):
        seen += histogram[key]
        if seen >= fraction * total:
            return float(key) / 1000
    return None


def merge(reports: dict[str, dict], seconds: float) -> dict:
    """One summary from every wrk process's report: rates per kind over the measuring window,
    latency percentiles, statuses, per channel requests, and wrk's own error counters."""
    kinds: dict[str, dict] = {}
    wrk_errors: dict[str, int] = {}
    channels: dict[str, dict] = {}
    for number, report in reports.items():
        channels[number] = {"requests": 0, "not_200": 0}
        for name, row in report.get("kinds", {}).items():
            into = kinds.setdefault(name, {"requests": 0, "bytes": 0, "statuses": {}, "latency_us": {}})
            into["requests"] += row["requests"]
            into["bytes"] += row["bytes"]
            for code, count in row["statuses"].items():
                into["statuses"][code] = into["statuses"].get(code, 0) + count
            for key, count in row["latency_us"].items():
                into["latency_us"][key] = into["latency_us"].get(key, 0) + count
            channels[number]["requests"] += row["requests"]
            channels[number]["not_200"] += sum(c for code, c in row["statuses"].items() if code != "200")
        for name, value in report.get("wrk", {}).items():
            if name.endswith("errors") or name == "timeouts":
                wrk_errors[name] = wrk_errors.get(name, 0) + int(value)
    summary: dict = {"window_s": round(seconds, 1), "channels": channels, "wrk_errors": wrk_errors}
    every: dict[str, int] = {}
    for name, row in kinds.items():
        for key, count in row["latency_us"].items():
            every[key] = every.get(key, 0) + count
        summary[name] = {
            "requests": row["requests"],
            "per_s": round(row["requests"] / seconds, 1),
            "mbit_s": round(row["bytes"] * 8 / seconds / 1e6, 1),
            "statuses": row["statuses"],
            "p50_ms": percentile(row["latency_us"], 0.50),
            "p99_ms": percentile(row["latency_us"], 0.99),
            "max_ms": percentile(row["latency_us"], 1.0),
        }
    total = sum(row["requests"] for row in kinds.values())
    summary["all"] = {
        "requests": total,
        "per_s": round(total / seconds, 1),
        "not_200": sum(
            count for row in kinds.values() for code, count in row["statuses"].items() if code != "200"
        ),
        "p50_ms": percentile(every, 0.50),
        "p99_ms": percentile(every, 0.99),
    }
    return summary


def count_paths(log: Path, start: int, end: int, seconds: float) -> dict:
    """Requests per second that reached the web server in a window of its access log (gunicorn's
    format, `"GET /path HTTP/1.1"`), by kind: nginx's auth subrequests, playlists, other."""
    with log.open("rb") as handle:
        handle.seek(start)
        text = handle.read(max(0, end - start)).decode("utf-8", "replace")
    counts = {"authorize": 0, "hls_playlist": 0, "hls_segment": 0, "other": 0}
    for line in text.splitlines():
        if '"GET ' not in line and '"HEAD ' not in line:
            continue
        path = line.split('"', 2)[1].split(" ")[1]
        if path.startswith("/iptv/authorize"):
            counts["authorize"] += 1
        elif path.startswith("/hls/") and path.endswith(".m3u8"):
            counts["hls_playlist"] += 1
        elif path.startswith("/hls/"):
            counts["hls_segment"] += 1
        else:
            counts["other"] += 1
    return {name: round(count / seconds, 1) for name, count in counts.items()} | {"counts": counts}
