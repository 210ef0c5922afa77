"""Benchmark: what a whole station costs on this box (issue 15, item 1), in two phases.

  encode   Realistic sources (720p29.97 and 1080p24, with motion, a moving zooming overlay and
           heavy temporal grain, H.264 with B-frames and x264's default GOP, the way library files
           come) are cut at a realistic, off-keyframe in point and encoded with the product's own
           pre-generation command: `playout.ffmpeg_commands.pregen_argv`, run through
           `playout.encoder_process.run_encoder` with `with_thread_limit(…, encoder_threads())`,
           so at nice 19, idle I/O class and the configured thread count, exactly as the `pregen`
           queue runs it. Per profile (and source, and with or without a channel bug): CPU-seconds
           per second of content (RUSAGE_CHILDREN delta of the encoder; median of `--reps`) and
           the encoder's wall speed (× real time).
  on-air   A private PostgreSQL, channels whose break log repeats a 50 s cycle (40 % their own
           pieces, 60 % pieces shared by every channel), a store prepared before air, then for each
           step N the real supervisor and web server with an HLS viewer per channel and a few TS
           readers: CPU (utime+stime from /proc) and PSS of every process by part, the store's
           size, and whether any channel falls behind (newest segment late by > 1.5 target
           durations, or no new segment for that long). Steps double after the list until one
           fails (`--extra-steps`). bench/README.md describes both phases and their limits.

    .venv/bin/python bench/station.py --quick              # aimed at under 5 minutes
    .venv/bin/python bench/station.py                      # longer sources and cuts, every step
    .venv/bin/python bench/station.py --phases encode      # one phase only

Sources are cached in /tmp/retrovue-bench-station/sources (never committed); figures go to
bench/results/station.json and station.md. The load average before and after is printed: other
work on the box (2 cores shared) inflates wall times, less so CPU-seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys

from station_common import ROOT, WORK, setup_django
from station_encode import encode_markdown, encode_phase
from station_on_air import on_air_markdown, on_air_phase
from station_processes import BENCH_DB, PrivatePostgres


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short sources, cuts and windows (< 5 min)")
    parser.add_argument("--phases", default="encode,on-air", help="encode, on-air, or both (default)")
    parser.add_argument(
        "--source-seconds", type=int, default=None, help="length of each source (60; full 120)"
    )
    parser.add_argument("--cut", type=float, default=None, help="seconds of content per encode (8; full 60)")
    parser.add_argument(
        "--reps", type=int, default=None, help="encodes per row, median reported (3; quick 1)"
    )
    parser.add_argument(
        "--sources",
        default="",
        help="encode phase: comma-separated source names (default all; see station_common)",
    )
    parser.add_argument(
        "--methods",
        default="",
        help="encode phase: full encode, smart copy, pass-through (comma-separated; default all)",
    )
    parser.add_argument("--all-bugs", action="store_true", help="bug variant for every profile, not just SD")
    parser.add_argument("--steps", default=None, help="channel counts on air (10,25; full 10,25,50,100)")
    parser.add_argument(
        "--extra-steps", type=int, default=None, help="doublings after the last step if all held"
    )
    parser.add_argument(
        "--window", type=float, default=None, help="measuring window per step, s (30; full 60)"
    )
    parser.add_argument(
        "--settle", type=float, default=None, help="seconds on air before the viewers (5; full 10)"
    )
    parser.add_argument(
        "--keep-going", action="store_true", help="run the listed steps after one falls behind"
    )
    parser.add_argument("--ts-readers", type=int, default=3, help="MPEG-TS readers (on the first channels)")
    parser.add_argument(
        "--unique-cuts", type=int, default=None, help="distinct own pieces per channel (3; full 8)"
    )
    parser.add_argument(
        "--database-server",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="with --shared-postgres: the server to use",
    )
    parser.add_argument(
        "--shared-postgres", action="store_true",
        help="use --database-server instead of a private server (~1 connection per channel + the web's)",
    )  # fmt: skip
    parser.add_argument("--postgres-port", type=int, default=5499, help="port of the private server")
    parser.add_argument(
        "--max-connections", type=int, default=1000, help="the private server's max_connections"
    )
    args = parser.parse_args()
    quick = args.quick
    args.source_seconds = args.source_seconds or (60 if quick else 120)
    args.cut = args.cut or (8.0 if quick else 60.0)
    args.reps = args.reps or (1 if quick else 3)
    args.steps = args.steps or ("10,25" if quick else "10,25,50,100")
    args.extra_steps = args.extra_steps if args.extra_steps is not None else (0 if quick else 3)
    args.window = args.window or (20.0 if quick else 60.0)
    args.settle = args.settle if args.settle is not None else (3.0 if quick else 10.0)
    args.unique_cuts = min(24, args.unique_cuts or (3 if quick else 6))
    # SIGTERM unwinds like Ctrl-C, so the supervisor, web and private PostgreSQL are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    phases = set(args.phases.split(","))
    unknown = phases - {"encode", "on-air"}
    if unknown:
        parser.error(f"unknown phase: {', '.join(sorted(unknown))}")
    database = None
    if "on-air" in phases:
        from benchdb import create_and_set_up

        WORK.mkdir(parents=True, exist_ok=True)
        if not args.shared_postgres:
            database = PrivatePostgres(args.postgres_port, args.max_connections)
            args.database_server = database.url
        shutil.rmtree(WORK / "data", ignore_errors=True)
        os.environ["RETROVUE_DATA_DIR"] = str(WORK / "data")
        os.environ["RETROVUE_HLS_ROOT"] = str(WORK / "data" / "hls")
        os.environ["RETROVUE_PREGEN_ROOT"] = str(WORK / "data" / "pregen")
        create_and_set_up(args.database_server, BENCH_DB)
    else:
        setup_django()
    load_before = os.getloadavg()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in load_before)}; {os.cpu_count()} cores")
    result: dict = {
        "args": vars(args) | {"database_server": "…"},
        "cores": os.cpu_count(),
        "load_before": load_before,
    }
    markdown = []
    try:
        if "encode" in phases:
            result["encode"] = encode_phase(args)
            markdown.append(encode_markdown(result["encode"], args))
        if "on-air" in phases:
            result["on_air"] = on_air_phase(args, result.get("encode", []), database)
            markdown.append(on_air_markdown(result["on_air"], args))
    finally:
        if "on-air" in phases:
            from benchdb import drop

            drop(args.database_server, BENCH_DB)
        if database is not None:
            database.stop()
    result["load_after"] = os.getloadavg()
    print(f"load average after: {' '.join(f'{v:.2f}' for v in result['load_after'])}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "station.json").write_text(json.dumps(result, indent=2, default=str))
    (out / "station.md").write_text("\n\n".join(markdown) + "\n")
    print("\n" + "\n\n".join(markdown))


if __name__ == "__main__":
    main()
