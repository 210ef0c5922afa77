"""200 concurrent MPEG-TS viewers of one channel through nginx, from one upstream reader (issue 18,
item 3 and its acceptance line), each receiving every packet (checked on a sample).

    .venv/bin/python bench/ts_fanout.py                       # 200 viewers, 60 s, sample of 10
    .venv/bin/python bench/ts_fanout.py --viewers 50 --seconds 20 --tunes 0   # a quick look

What runs, each a process of its own:

1. `./bin/run` (the embedded default, demo station) on a throwaway data folder: it puts channel 3
   on the air; its web server answers nginx's HLS authorisation.
2. The TS fan-out server, `python -m retrovue ts-fanout`, on the same data folder and database.
3. nginx with the shipped deploy/nginx.conf (rendered by the tests' runner: web, the fan-out
   server and its HLS log port on loopback), as production runs it.
4. The load generator, bench/ts_fanout_viewers.py: `--viewers` connections to
   nginx's /iptv/channel/3.ts for `--seconds`; the first `--sample` keep their bytes.

Meanwhile this script copies each new segment of channel 3 from disk as the playlist lists it.
Afterwards each sampled viewer's bytes must be exactly consecutive segments on disk, from its
first to its last (a partial last one, where the window closed), so every packet arrived, in
order, once; every viewer's 188-byte sync is checked all along, and none may be cut off early.
The fan-out server must have started one reader for the channel (its log says so).

CPU and memory are read from /proc over the window for the fan-out server and nginx (master and
workers), and from the load generator's own rusage, each apart; the load average is printed with
them (the box is shared). Then `bench/ts_tune_in.py` runs through nginx (`--tunes`, 0 skips it):
its median must stay ≤ 0.3 s (issue 15); then straight to Django's TS view and through nginx
again, so the load of the moment hits both alike. Figures go to bench/results/ts_fanout.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.on_air import free_port, start_station, stop_station, wait_for_playlist  # noqa: E402
from tests.deploy import nginx_runner  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python")
WORK = Path("/tmp/retrovue-bench-tsfanout")
CHANNEL = "3"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, gone: float = 0.0) -> float:
    """utime + stime of `pid`; `gone` for a process that has exited (nginx's cache loader does)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return gone
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_mb(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    found = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE))
    return {
        "rss_mb": round(int(found.get("VmRSS", 0)) / 1024, 1),
        "peak_rss_mb": round(int(found.get("VmHWM", 0)) / 1024, 1),
    }


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


class SegmentRecorder(threading.Thread):
    """Copies each segment of the channel's live playlist from disk as it appears (msn → bytes)."""

    def __init__(self, folder: Path):
        super().__init__(daemon=True)
        self.folder = folder
        self.segments: dict[int, bytes] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                text = (self.folder / "index.m3u8").read_text()
            except OSError:
                text = ""
            sequence = (
                int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1)) if "SEQUENCE" in text else 0
            )
            uris = [line for line in text.splitlines() if line and not line.startswith("#")]
            for offset, uri in enumerate(uris):
                if sequence + offset not in self.segments:
                    with contextlib.suppress(OSError):  # deleted already: the check says so
                        self.segments[sequence + offset] = (self.folder / uri).read_bytes()
            self.stopping.wait(0.2)


def check_sample(data: bytes, segments: dict[int, bytes]) -> dict:
    """Whether `data` is consecutive segments on disk (the last possibly cut short)."""
    start = next((msn for msn, body in sorted(segments.items()) if data.startswith(body)), None)
    if start is None:
        return {"ok": False, "why": "the stream does not start with a segment on disk", "bytes": len(data)}
    at, msn = 0, start
    while at < len(data):
        body = segments.get(msn)
        if body is None:
            return {"ok": False, "why": f"segment {msn} was never recorded", "at": at, "bytes": len(data)}
        piece = data[at : at + len(body)]
        if piece != body[: len(piece)]:
            return {"ok": False, "why": f"bytes differ inside segment {msn}", "at": at, "bytes": len(data)}
        at += len(piece)
        msn += 1
    return {
        "ok": True,
        "first_msn": start,
        "segments": msn - start,
        "packets": len(data) // 188,
        "bytes": len(data),
    }


def run_tune_in(base: str, tunes: int) -> dict:
    if tunes <= 0:
        return {}
    done = subprocess.run(
        [PYTHON, str(ROOT / "bench" / "ts_tune_in.py"), base, "--channel", CHANNEL, "--tunes", str(tunes), "--pause", "0.5"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    print(done.stdout[-2500:], done.stderr[-1500:])
    return json.loads((ROOT / "bench" / "results" / "ts_tune_in.json").read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--sample", type=int, default=10)
    parser.add_argument(
        "--tunes", type=int, default=20, help="bench/ts_tune_in.py tunes through nginx (0: skip)"
    )
    parser.add_argument("--keep", action="store_true", help="leave the work folder")
    args = parser.parse_args()

    shutil.rmtree(WORK, ignore_errors=True)
    data = WORK / "data"
    data.mkdir(parents=True)
    web_port, fanout_port, hls_log_port = free_port(), free_port(), free_port()
    log = (WORK / "station.log").open("wb")
    station = start_station(data, web_port, log)
    fanout = nginx = None
    result: dict = {"viewers": args.viewers, "seconds": args.seconds, "sample": args.sample}
    try:
        waited = wait_for_playlist(f"http://127.0.0.1:{web_port}/hls/{CHANNEL}/index.m3u8", station, 900)
        print(f"channel {CHANNEL} on air after {waited:.0f} s")
        environment = {**os.environ, "RETROVUE_DATA_DIR": str(data)}
        for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE"):
            environment.pop(name, None)
        fanout_log = (WORK / "ts-fanout.log").open("wb")
        fanout = subprocess.Popen(
            [PYTHON, "-m", "retrovue", "ts-fanout", "--bind", f"127.0.0.1:{fanout_port}",
             "--hls-log", f"127.0.0.1:{hls_log_port}"],
            cwd=ROOT, env=environment, stdout=fanout_log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        prefix = WORK / "nginx"
        prefix.mkdir()
        nginx_port = free_port()
        conf = nginx_runner.render(
            prefix, port=nginx_port, upstream_port=web_port, hls_root=data / "hls",
            ts_fanout_port=fanout_port, hls_log_port=hls_log_port,
        )  # fmt: skip
        nginx = nginx_runner.start(nginx_runner.nginx_binary(), prefix, conf, nginx_port)
        base = f"http://127.0.0.1:{nginx_port}"
        for _ in range(100):  # the fan-out server imports Django before it listens
            try:
                with urllib.request.urlopen(f"{base}/iptv/channel/{CHANNEL}.ts", timeout=5) as response:
                    response.read(188)
                break
            except OSError:
                time.sleep(0.2)
        time.sleep(1)  # that probe's reader stops once it is gone

        log_offset = (WORK / "ts-fanout.log").stat().st_size  # readers started from here on count
        recorder = SegmentRecorder(data / "hls" / CHANNEL)
        recorder.start()
        nginx_pids = [nginx.process.pid, *children(nginx.process.pid)]
        nginx_before = {pid: cpu_seconds(pid) for pid in nginx_pids}
        before = {"fanout": cpu_seconds(fanout.pid), "nginx": sum(nginx_before.values())}
        load_before = load_average()
        started = time.monotonic()
        generator = subprocess.run(
            [PYTHON, str(ROOT / "bench" / "ts_fanout_viewers.py"), f"{base}/iptv/channel/{CHANNEL}.ts",
             "--viewers", str(args.viewers), "--seconds", str(args.seconds), "--sample", str(args.sample),
             "--out", str(WORK / "sample")],
            capture_output=True, text=True, timeout=args.seconds + 120,
        )  # fmt: skip
        elapsed = time.monotonic() - started
        nginx_after = {pid: cpu_seconds(pid, gone=used) for pid, used in nginx_before.items()}
        after = {"fanout": cpu_seconds(fanout.pid), "nginx": sum(nginx_after.values())}
        fanout_memory = memory_mb(fanout.pid)
        nginx_memory = sum(memory_mb(pid)["rss_mb"] for pid in nginx_pids if Path(f"/proc/{pid}").exists())
        load_after = load_average()
        recorder.stopping.set()
        recorder.join()
        if generator.returncode != 0:
            raise SystemExit(f"load generator failed: {generator.stderr[-2000:]}")
        load = json.loads(generator.stdout.strip().splitlines()[-1])

        viewers = load["viewers"]
        samples = [
            check_sample((WORK / "sample" / f"viewer-{index:03d}.ts").read_bytes(), recorder.segments)
            for index in range(min(args.sample, args.viewers))
        ]
        byte_counts = [viewer["bytes"] for viewer in viewers]
        fanout_text = (WORK / "ts-fanout.log").read_bytes()[log_offset:].decode(errors="replace")
        result.update(
            {
                "statuses": sorted({viewer["status"] for viewer in viewers}),
                "viewers_ok": sum(
                    viewer["status"].endswith("200 OK")
                    and not viewer["ended_early"]
                    and not viewer["sync_errors"]
                    for viewer in viewers
                ),
                "sync_errors": sum(viewer["sync_errors"] for viewer in viewers),
                "ended_early": sum(viewer["ended_early"] for viewer in viewers),
                "bytes_per_viewer": {
                    "min": min(byte_counts),
                    "median": statistics.median(byte_counts),
                    "max": max(byte_counts),
                },
                "mbit_per_viewer": round(statistics.median(byte_counts) * 8 / args.seconds / 1e6, 2),
                "first_byte_seconds_median": statistics.median(
                    viewer["first_byte_seconds"]
                    for viewer in viewers
                    if viewer["first_byte_seconds"] is not None
                ),
                "sample_checks": samples,
                "sample_all_packets": all(sample["ok"] for sample in samples),
                "readers_started_for_channel": fanout_text.count(f"Channel {CHANNEL}: TS reader started"),
                "window_seconds": round(elapsed, 1),
                "cores": {
                    "ts_fanout": round((after["fanout"] - before["fanout"]) / elapsed, 3),
                    "nginx": round((after["nginx"] - before["nginx"]) / elapsed, 3),
                    "load_generator_apart": round(load["cpu_seconds"] / elapsed, 3),
                },
                "memory_mb": {
                    "ts_fanout": fanout_memory,
                    "nginx_rss_total": round(nginx_memory, 1),
                    "load_generator_peak_rss": load["max_rss_mb"],
                },
                "load_average_before": load_before,
                "load_average_after": load_after,
            }
        )
        result["tune_in_through_nginx"] = run_tune_in(base, args.tunes)
        # The same tunes straight to Django's own TS view (the embedded default), at the same load.
        result["tune_in_direct_to_django"] = run_tune_in(f"http://127.0.0.1:{web_port}", args.tunes)
        result["tune_in_through_nginx_again"] = run_tune_in(base, args.tunes)
        result["load_average_end"] = load_average()
    finally:
        if nginx is not None:
            nginx.stop()
        if fanout is not None and fanout.poll() is None:
            fanout.terminate()
            try:
                fanout.wait(timeout=15)
            except subprocess.TimeoutExpired:
                fanout.kill()
        stop_station(station)
        log.close()
    print(json.dumps({key: value for key, value in result.items() if key != "sample_checks"}, indent=2))
    print("sample:", json.dumps(result.get("sample_checks", [])))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "ts_fanout.json").write_text(json.dumps(result, indent=2))
    if not args.keep:
        shutil.rmtree(WORK, ignore_errors=True)
    held = (
        result.get("viewers_ok") == args.viewers
        and result.get("sample_all_packets")
        and result.get("readers_started_for_channel") == 1
    )
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
