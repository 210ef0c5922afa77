"""Acceptance run (issue 16): an alert for all channels, from the API, with 20 channels on the air.

Runs the break-in end-to-end test (`tests/alerts/test_break_in.py`) with
`RETROVUE_TEST_ALERT_CHANNELS=<channels>`, which puts the channels on the air (real ffmpeg, the
feed, HLS and MPEG-TS), issues the alert through the API with a real Celery worker encoding the
slate, clears it, and checks every channel's return, the shared HLS checker and a TS reader. The test
writes what it measured (`RETROVUE_BREAK_IN_REPORT`); this prints, per run and over all runs:

  hls       request → the alert's first segment listed in each channel's playlist
  ts        request → that segment's last byte read from each channel's /iptv/channel/<n>.ts
  schedule  request → the alert's schedule time on each channel (when a player at the live edge
            shows it: the feed runs LEAD_SEGMENTS segments ahead of the wall clock)

The acceptance bound is 2 × the segment (4 s) for hls and ts on every channel.

    .venv/bin/python bench/alert_break_in.py                 # one run, 20 channels (about 2 min)
    .venv/bin/python bench/alert_break_in.py --runs 3
    .venv/bin/python bench/alert_break_in.py --channels 50

Uses PostgreSQL and Redis as `./bin/test` does (DATABASE_URL, RETROVUE_TEST_REDIS_URL); results as
JSON in bench/results/. Exits non-zero if any run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
RESULTS = ROOT / "bench" / "results"
TEST = "tests/alerts/test_break_in.py"
MEASURES = {"hls_listed_s": "hls", "ts_arrived_s": "ts"}


def run_once(channels: int, report: Path, log: Path) -> tuple[int, dict | None, float]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "retrovue.settings_test",
        "DATABASE_URL": os.environ.get(
            "RETROVUE_TEST_DATABASE_URL", "postgresql://postgres:postgres@127.0.0.1:5432/retrovue"
        ),
        "RETROVUE_TEST_REDIS_URL": os.environ.get("RETROVUE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "RETROVUE_TEST_ALERT_CHANNELS": str(channels),
        "RETROVUE_BREAK_IN_REPORT": str(report),
    }
    env.pop("RETROVUE_TEST_RUN_ID", None)  # a fresh test database per run
    report.unlink(missing_ok=True)
    started = time.monotonic()
    with log.open("wb") as output:
        completed = subprocess.run(
            [PYTHON, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", TEST],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    figures = json.loads(report.read_text()) if report.is_file() else None
    return completed.returncode, figures, time.monotonic() - started


def summary(values: list[float]) -> str:
    values = sorted(values)
    return f"median {statistics.median(values):5.2f}  max {values[-1]:5.2f}  min {values[0]:5.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    runs, failed = [], 0
    for number in range(1, args.runs + 1):
        report = RESULTS / f"alert_break_in-{stamp}-{number}.json"
        log = RESULTS / f"alert_break_in-{stamp}-{number}.log"
        code, figures, seconds = run_once(args.channels, report, log)
        failed += code != 0
        print(
            f"run {number}: {'passed' if code == 0 else f'FAILED (exit {code}, see {log})'} in {seconds:.0f} s"
        )
        if figures:
            runs.append(figures)
            for key, label in MEASURES.items():
                print(f"  {label:9} {summary(list(figures[key].values()))}  (s after the request)")
            schedule = figures["schedule_time_s"]
            print(f"  schedule  median {schedule['median']:5.2f}  max {schedule['max']:5.2f}")
    if len(runs) > 1:
        print(f"all {len(runs)} runs, {args.channels} channels each:")
        for key, label in MEASURES.items():
            print(f"  {label:9} {summary([v for run in runs for v in run[key].values()])}")
    bound = 2 * (runs[0]["segment_seconds"] if runs else 2)
    print(f"bound: {bound} s (2 x the segment) on every channel, HLS and TS")
    (RESULTS / f"alert_break_in-{stamp}.json").write_text(json.dumps(runs, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
