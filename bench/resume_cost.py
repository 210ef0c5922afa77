"""Benchmark: how long "resume the interrupted program" takes when an alert comes off the air.

The rewrite runs in the channel's feed while the channel waits for its next entry (the feed has
`LEAD_SEGMENTS` segments, 6 s at 2 s segments, already handed to ffmpeg), so it must stay well
under that. One channel of bench/schedule_build.py's station (7 days of program log, 48 h of pieces,
a full week of slots) is built, then `scheduling.resume.resume_after_interruption` is timed for
two-minute alerts at several times of day, each on the log the previous one left.

    .venv/bin/python bench/resume_cost.py [--repeat 5]

Needs PostgreSQL (a database `retrovue_bench_resume` is created and dropped).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import UTC, datetime, timedelta

from benchdb import ROOT, create_and_set_up, drop
from schedule_build import make_catalog, make_channels

BENCH_DB = "retrovue_bench_resume"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--database-server",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    create_and_set_up(args.database_server, BENCH_DB)
    from scheduling.builder import roll_forward
    from scheduling.models import Channel, Piece, ProgramEntry
    from scheduling.resume import resume_after_interruption

    make_channels(1, make_catalog())
    now = datetime(2026, 11, 23, 14, 7, tzinfo=UTC)
    roll_forward(now)
    channel = Channel.objects.get()
    runs = []
    for number in range(args.repeat):
        interrupted = now + timedelta(hours=1 + 3 * number, minutes=11, seconds=7)
        started = time.perf_counter()
        resume_after_interruption(channel, interrupted, interrupted + timedelta(minutes=2), title="Alert")
        runs.append(time.perf_counter() - started)
    result = {
        "programs": ProgramEntry.objects.count(),
        "pieces": Piece.objects.count(),
        "seconds": [round(value, 3) for value in runs],
        "median_seconds": round(statistics.median(runs), 3),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "resume_cost.json").write_text(json.dumps(result, indent=2))
    drop(args.database_server, BENCH_DB)


if __name__ == "__main__":
    main()
