"""Load test: thousands of live HLS viewers through the shipped nginx config (issue 18, "many viewers").

A 20-channel station over a prepared store (bench/station_on_air.py's Station, supervisor and web
server, a private PostgreSQL) with deploy/nginx.conf in front, as production runs it; then, per
step, wrk players (bench/hls_viewer.lua via bench/hls_viewers.py: one live player per connection,
playlist every target duration, each new segment once) spread evenly over the channels. Reports
per step: requests/s (playlists and segments apart), Mbit/s, p50/p99 latency, errors and timeouts,
each channel's segment lag (a light reader of the playlists on disk, once a second), the CPU of
every station process (nginx, web, supervisor, channel ffmpegs, PostgreSQL) and the load tool's
own apart, and the requests that reached Django (its access log), in two modes:

  off   stream tokens off (the default): nginx serves playlists and segments from disk and asks
        Django /iptv/authorize once per channel per cache period
  on    RETROVUE_REQUIRE_STREAM_TOKEN=true and the nginx map switched on for /hls/: each viewer
        carries a token (`--tokens` distinct ones, each shared by viewers/tokens players of one
        channel); Django serves the tokenised playlists, nginx the segments after a cached
        /iptv/authorize per channel and token

A step holds when, over the measuring window, every channel keeps real time, every answer is a
200, the players get at least 95 % of the segments airing, and the segments' p99 stays under
one segment duration (wrk's socket errors and timeouts, which cover the whole run with the players
tuning in over the warm-up, are reported beside). In `--search-modes` the viewers double while every step holds (up to
`--max-viewers`) and halve while none has (down to `--min-viewers`), to find where it breaks.

    .venv/bin/python bench/hls_load.py                                  # 2,000 viewers, both modes
    .venv/bin/python bench/hls_load.py --search-modes off,on            # and search each limit

wrk comes from Debian (`apt-get install wrk`, done here when missing, as bin/lib.sh does). Figures
go to bench/results/hls_load.json and .md; the load average before and after every step is
printed beside it, since the box's 2 cores are shared.
"""

from __future__ import annotations

import os

# This bench's own work folder (sources, store, logs), so it can run beside bench/station.py.
os.environ.setdefault("RETROVUE_BENCH_STATION_WORK", "/tmp/retrovue-bench-hls-load")

import argparse
import json
import shutil
import signal
import sys
import time
from datetime import timedelta

from hls_viewers import WRK_PART, WrkViewers, ensure_wrk
from station_common import ROOT, WORK
from station_on_air import (
    NGINX_PART,
    Station,
    on_air_step,
    playout_bench,
    start_nginx,
    start_web,
    stop_web,
    wait_for_web,
)
from station_processes import BENCH_DB, PrivatePostgres

TOKENS_ON_FOR_HLS = '"~^/hls/" on;'  # the $retrovue_stream_auth map line that locks every channel
THIS_SCRIPT_PART = "load generator (this script, apart)"
DATABASE_PART = "database: this station's private server (every process)"


def held(step: dict, segment_seconds: float) -> tuple[bool, list[str]]:
    """Whether a step held, and what fell short when not."""
    viewers = step["viewers"]
    short = []
    if step["behind"]:
        short.append(f"channels behind real time: {step['behind']}")
    # Judged on the measuring window (the players' own counts): wrk's error counters cover the
    # whole run, tune-in crowd included, and are reported beside.
    if viewers["all"]["not_200"] or viewers["wrk_failures"]:
        short.append(
            f"errors: {viewers['all']['not_200']} not 200, failed wrk processes {list(viewers['wrk_failures'])}"
        )
    airing = viewers["viewers"] / segment_seconds
    segments = viewers.get("segment", {}).get("per_s", 0.0)
    if segments < 0.95 * airing:
        short.append(f"players got {segments:.0f} segments/s of the {airing:.0f}/s airing")
    p99 = viewers.get("segment", {}).get("p99_ms")
    if p99 is None or p99 > segment_seconds * 1000:
        short.append(f"segment p99 {p99} ms over one segment ({segment_seconds:g} s)")
    return not short, short


def run_mode(mode: str, viewer_steps: list[int], station: Station, bench, args, database) -> list[dict]:
    """Web and nginx for one token mode, then one on-air step per viewer count."""
    from retrovue.core.models import StreamToken

    tokens_on = mode == "on"
    os.environ["RETROVUE_REQUIRE_STREAM_TOKEN"] = "true" if tokens_on else "false"
    tokens = [StreamToken.issue(f"load test viewer {n}")[1] for n in range(args.tokens)] if tokens_on else []
    web = start_web(args.web_port)
    nginx = None
    results = []
    try:
        wait_for_web(f"http://127.0.0.1:{args.web_port}")
        nginx = start_nginx(args.web_port, TOKENS_ON_FOR_HLS if tokens_on else "", port=args.nginx_port)
        base = f"http://127.0.0.1:{nginx.port}"
        plan = list(viewer_steps)
        while plan:
            viewers = plan.pop(0)

            def make_viewers(base, numbers, target, viewers=viewers):
                return WrkViewers(
                    base, numbers, viewers, warmup=min(5.0, args.settle), tokens=tokens,
                    count_log=WORK / "web.log", timeout_s=args.timeout, nice=args.load_nice,
                )  # fmt: skip

            load_before = os.getloadavg()
            step = on_air_step(
                station, bench, web, base, args.channels, args, database, nginx, make_viewers=make_viewers
            )
            step["mode"], step["load_before"], step["load_after"] = mode, load_before, os.getloadavg()
            step["held_all"], step["short"] = held(step, station.profile.segment_seconds)
            results.append(step)
            print_step(step)
            (WORK / "hls-load-steps.json").write_text(json.dumps(results, indent=2, default=str))
            if not plan and mode in args.search_modes:
                # Up while every step holds, down while none has: the first step that breaks
                # (or the largest that holds) is the finding.
                outcomes = {earlier["held_all"] for earlier in results}
                if outcomes == {True} and viewers * 2 <= args.max_viewers:
                    plan.append(viewers * 2)
                elif outcomes == {False} and viewers // 2 >= args.min_viewers:
                    plan.append(viewers // 2)
    finally:
        if nginx is not None:
            nginx.stop()
        stop_web(web)
        StreamToken.objects.all().delete()
    return results


def cores(step: dict, part: str) -> float:
    return step["parts"].get(part, {}).get("cores", 0.0)


def database_cores(step: dict) -> float:
    return sum(v["cores"] for k, v in step["parts"].items() if k.startswith("database: this station"))


def print_step(step: dict) -> None:
    viewers = step["viewers"]
    playlist, segment = viewers.get("playlist", {}), viewers.get("segment", {})
    upstream = viewers.get("upstream", {})
    print(
        f"\ntokens {step['mode']}, {viewers['viewers']} viewers on {step['channels']} channels: "
        f"{'HELD' if step['held_all'] else 'did not hold: ' + '; '.join(step['short'])}\n"
        f"  requests/s {viewers['all']['per_s']} (playlists {playlist.get('per_s')}, segments "
        f"{segment.get('per_s')}, {segment.get('mbit_s')} Mbit/s); p50/p99 ms playlists "
        f"{playlist.get('p50_ms')}/{playlist.get('p99_ms')}, segments {segment.get('p50_ms')}/"
        f"{segment.get('p99_ms')}; not 200: {viewers['all']['not_200']}; wrk {viewers['wrk_errors']}\n"
        f"  lag max {step['max_lag_s']} s, median {step['median_lag_s']} s, longest stall "
        f"{step['longest_stall_s']} s; behind {step['behind']}\n"
        f"  Django /iptv/authorize {upstream.get('authorize')}/s, playlists {upstream.get('hls_playlist')}/s\n"
        f"  cores: nginx {cores(step, NGINX_PART):.3f}, web {cores(step, 'web (gunicorn)'):.3f}, "
        f"supervisor {cores(step, 'supervisor (Python: feed, planner)'):.3f}, ffmpegs "
        f"{cores(step, 'channel ffmpegs'):.3f}, db {database_cores(step):.3f}; apart: wrk "
        f"{cores(step, WRK_PART):.3f}, this script {cores(step, THIS_SCRIPT_PART):.3f}; machine "
        f"{step['machine_busy_cores']:.2f} of {os.cpu_count()}\n"
        f"  load average {' '.join(f'{v:.2f}' for v in step['load_before'])} → "
        f"{' '.join(f'{v:.2f}' for v in step['load_after'])}"
    )


def markdown(steps: list[dict], args) -> str:
    lines = [
        f"HLS load through deploy/nginx.conf: {args.channels} channels, SD profile, "
        f"{args.window:g} s window per step; tokens on: {args.tokens} distinct tokens"
        f"{f'; wrk at nice {args.load_nice}' if args.load_nice else ''}.",
        "",
        "| tokens | viewers | held | req/s (playlists + segments) | Mbit/s | p50 / p99 ms playlists "
        "| p50 / p99 ms segments | not 200 / wrk errors (whole run) | max lag s (stall s) | Django authorize/s | "
        "Django playlists/s | nginx | web | supervisor + ffmpegs | db | wrk (apart) | this script (apart) "
        "| machine busy | load avg before → after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for step in steps:
        viewers = step["viewers"]
        playlist, segment = viewers.get("playlist", {}), viewers.get("segment", {})
        upstream = viewers.get("upstream", {})
        errors = sum(viewers["wrk_errors"].values())
        ours = cores(step, "supervisor (Python: feed, planner)") + cores(step, "channel ffmpegs")
        lines.append(
            f"| {step['mode']} | {viewers['viewers']} | {'yes' if step['held_all'] else '**no**'} | "
            f"{viewers['all']['per_s']} ({playlist.get('per_s')} + {segment.get('per_s')}) | "
            f"{segment.get('mbit_s')} | {playlist.get('p50_ms')} / {playlist.get('p99_ms')} | "
            f"{segment.get('p50_ms')} / {segment.get('p99_ms')} | {viewers['all']['not_200']} / {errors} | "
            f"{step['max_lag_s']} ({step['longest_stall_s']}) | {upstream.get('authorize')} | "
            f"{upstream.get('hls_playlist')} | {cores(step, NGINX_PART):.2f} | "
            f"{cores(step, 'web (gunicorn)'):.2f} | {ours:.3f} | {database_cores(step):.3f} | "
            f"{cores(step, WRK_PART):.2f} | {cores(step, THIS_SCRIPT_PART):.2f} | "
            f"{step['machine_busy_cores']:.2f} | {step['load_before'][0]:.2f} → {step['load_after'][0]:.2f} |"
        )
    for step in steps:
        if not step["held_all"]:
            lines.append(
                f"\n{step['mode']}, {step['viewers']['viewers']} viewers: {'; '.join(step['short'])}"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--viewers", type=int, default=2000, help="players per step (first step)")
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--modes", default="off,on", help="stream tokens off, on, or both (in that order)")
    parser.add_argument("--search-modes", default="", help="modes in which viewers double while a step holds")
    parser.add_argument("--max-viewers", type=int, default=8000, help="where a search upwards stops")
    parser.add_argument("--min-viewers", type=int, default=250, help="where a search downwards stops")
    parser.add_argument(
        "--load-nice", type=int, default=0,
        help="run wrk at this niceness (its thousands of threads otherwise crowd nginx's few)",
    )  # fmt: skip
    parser.add_argument("--tokens", type=int, default=100, help="distinct stream tokens with tokens on")
    parser.add_argument("--window", type=float, default=60.0, help="measuring window per step, s")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds on air before the viewers")
    parser.add_argument("--timeout", type=int, default=10, help="wrk's request timeout, s")
    parser.add_argument("--source-seconds", type=int, default=60)
    parser.add_argument("--unique-cuts", type=int, default=3, help="distinct own pieces per channel")
    parser.add_argument("--postgres-port", type=int, default=18450)
    parser.add_argument("--web-port", type=int, default=18410)
    parser.add_argument("--nginx-port", type=int, default=18420)
    parser.add_argument("--max-connections", type=int, default=300, help="the private server's")
    args = parser.parse_args()
    args.search_modes = set(filter(None, args.search_modes.split(",")))
    args.ts_readers = 0  # on_air_step's default viewers are replaced; no TS readers here
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ensure_wrk()
    from benchdb import create_and_set_up, drop
    from station_common import make_source

    WORK.mkdir(parents=True, exist_ok=True)
    database = PrivatePostgres(args.postgres_port, args.max_connections)
    shutil.rmtree(WORK / "data", ignore_errors=True)
    os.environ["RETROVUE_DATA_DIR"] = str(WORK / "data")
    os.environ["RETROVUE_HLS_ROOT"] = str(WORK / "data" / "hls")
    os.environ["RETROVUE_PREGEN_ROOT"] = str(WORK / "data" / "pregen")
    steps: list[dict] = []
    result: dict = {"args": vars(args) | {"search_modes": sorted(args.search_modes)}, "cores": os.cpu_count()}
    try:
        create_and_set_up(database.url, BENCH_DB)
        result["load_before"] = os.getloadavg()
        print(f"load average before: {' '.join(f'{v:.2f}' for v in result['load_before'])}")
        source = make_source("720p29.97", args.source_seconds)
        modes = [mode for mode in args.modes.split(",") if mode]
        per_step = args.settle + 10 + args.window + 60
        horizon = timedelta(seconds=max(20 * 60, per_step * 4 * len(modes) + 600))
        started = time.perf_counter()
        station = Station(source, args.source_seconds * 1000, args.unique_cuts, horizon)
        station.grow(args.channels)
        print(f"store prepared for {args.channels} channels in {time.perf_counter() - started:.0f} s")
        bench = playout_bench()
        for mode in modes:
            steps += run_mode(mode, [args.viewers], station, bench, args, database)
    finally:
        drop(database.url, BENCH_DB)
        database.stop()
        result["steps"] = steps
        result["load_after"] = os.getloadavg()
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        (out / "hls_load.json").write_text(json.dumps(result, indent=2, default=str))
        if steps:
            (out / "hls_load.md").write_text(markdown(steps, args) + "\n")
            print("\n" + markdown(steps, args))
        print(f"load average after: {' '.join(f'{v:.2f}' for v in result['load_after'])}")


if __name__ == "__main__":
    main()
