"""Benchmark: rendering a week of XMLTV for 50 channels (issue: guide data must be fast).

Builds 50 channels × 7 days of 30-minute programs (16,800 rows, each with a title, an episode title,
a paragraph of description, a rating and episode numbers) in a database of its own, then times
`render_xmltv` over the week — the same call /iptv/xmltv.xml makes — and, separately, the whole
request through Django's test client. Reports the median and the spread over the runs.

    .venv/bin/python bench/xmltv.py [--runs 7] [--channels 50] [--days 7] [--keep]

Needs PostgreSQL (the server in DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/postgres);
a database `retrovue_bench_xmltv` is created, and dropped afterwards unless --keep is given.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import UTC, datetime, timedelta

from benchdb import ROOT, create_and_set_up, drop

BENCH_DB = "retrovue_bench_xmltv"


DESCRIPTION = (
    "Sam's old flame comes back to the bar with news that has everyone talking, while Norm & Cliff "
    'bet on whether Diane can keep a secret for one whole evening. Frasier offers "professional" '
    "advice nobody asked for."
)
SHOWS = [
    "Cheers",
    "Taxi",
    "M*A*S*H",
    "Family Ties",
    "The Wonder Years",
    "Night Court",
    "Alf",
    "Perfect Strangers",
]


def build_station(channels: int, days: int, start: datetime) -> int:
    from scheduling.models import Channel, ProgramEntry

    made = Channel.objects.bulk_create(
        [
            Channel(number=str(number), name=f"Retro {number}", call_sign=f"WR{number:02d}", group="Bench")
            for number in range(2, channels + 2)
        ]
    )
    per_channel = days * 48
    rows = []
    for channel in made:
        for index in range(per_channel):
            show = SHOWS[(index + channel.pk) % len(SHOWS)]
            begins = start + timedelta(minutes=30 * index)
            rows.append(
                ProgramEntry(
                    channel=channel,
                    start=begins,
                    stop=begins + timedelta(minutes=30),
                    title=show,
                    subtitle=f"{show} episode {index % 22 + 1}",
                    description=DESCRIPTION,
                    category="Series",
                    content_rating="TV-PG",
                    season_number=index // 22 % 9 + 1,
                    episode_number=index % 22 + 1,
                    is_rerun=index % 5 != 0,
                    content_ms=22 * 60_000,
                )
            )
    ProgramEntry.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def timed(function, runs: int) -> list[float]:
    function()  # warm-up: imports, query plans, caches
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return seconds


def summary(seconds: list[float]) -> dict:
    return {
        "median_seconds": round(statistics.median(seconds), 4),
        "min_seconds": round(min(seconds), 4),
        "max_seconds": round(max(seconds), 4),
        "runs": [round(value, 4) for value in seconds],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="leave the database for a look afterwards")
    parser.add_argument(
        "--database-server",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs must be at least 5 for a meaningful median")
    create_and_set_up(args.database_server, BENCH_DB)
    try:
        from django.test import Client

        from scheduling.models import Channel
        from scheduling.xmltv import render_xmltv

        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        stop = start + timedelta(days=args.days)
        started = time.perf_counter()
        rows = build_station(args.channels, args.days, start)
        print(
            f"built {args.channels} channels × {args.days} days = {rows} programs in {time.perf_counter() - started:.1f} s"
        )

        size = {}

        def render():
            size["bytes"] = len(
                render_xmltv(Channel.objects.filter(enabled=True), start, stop, "http://tv.example.com")
            )

        client = Client()

        def request():
            response = client.get("/iptv/xmltv.xml", HTTP_HOST="tv.example.com")
            assert response.status_code == 200, response.status_code

        results = {"render_xmltv": summary(timed(render, args.runs))}
        if args.days == 7:  # the URL always serves a week
            results["GET /iptv/xmltv.xml"] = summary(timed(request, args.runs))
        print(f"document: {size['bytes'] / 1e6:.1f} MB, {rows} programmes")
        print(f"{'what':<22} {'median s':>9} {'min s':>7} {'max s':>7}   runs={args.runs}")
        for name, figures in results.items():
            print(
                f"{name:<22} {figures['median_seconds']:>9.3f} {figures['min_seconds']:>7.3f} {figures['max_seconds']:>7.3f}"
            )
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        (out / "xmltv.json").write_text(
            json.dumps(
                {
                    "args": vars(args) | {"database_server": "…"},
                    "programs": rows,
                    "bytes": size["bytes"],
                    **results,
                },
                indent=2,
            )
        )
    finally:
        if not args.keep:
            drop(args.database_server, BENCH_DB)


if __name__ == "__main__":
    main()
