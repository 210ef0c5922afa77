"""Benchmark: build 7 days of program log and 48 h of piece log for 50 channels.

Catalog: 60 shows × 40 episodes (with chapter marks), 200 movies, 300 short-form clips. Each
channel has a full week of slots (sitcom blocks, a movie night, a shuffled Saturday block). The
timed part is `roll_forward` on an empty log (the whole build, database writes included); it is
repeated on a fresh log and the median reported. XMLTV rendering is measured by bench/xmltv.py.

    .venv/bin/python bench/schedule_build.py [--channels 50] [--repeat 3]

Needs PostgreSQL (a database `retrovue_bench_schedule` is created and dropped).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import UTC, datetime
from datetime import time as clock_time

from benchdb import ROOT, create_and_set_up, drop

BENCH_DB = "retrovue_bench_schedule"


def make_catalog():
    from catalog.models import (
        ChapterMark,
        Episode,
        MediaFile,
        MediaSource,
        Movie,
        Playable,
        ShortFormItem,
        Show,
    )
    from catalog.sync.bulk import bulk_create_playables

    source = MediaSource.objects.create(name="bench", kind="folder", path="/bench")
    shows = Show.objects.bulk_create(
        [
            Show(
                source=source,
                rating_key=f"s{n}",
                title=f"Show {n:02d}",
                year=1980 + n % 15,
                content_rating="TV-PG",
            )
            for n in range(60)
        ]
    )
    episodes = [
        Episode(source=source, show=show, rating_key=f"e{show.pk}-{n}", title=f"Episode {n}", kind="episode",
                season_number=1 + n // 20, episode_number=1 + n % 20, duration_ms=(21 * 60 + n % 90) * 1000,
                content_rating="TV-PG")
        for show in shows for n in range(40)
    ]  # fmt: skip
    bulk_create_playables(episodes)
    movies = [
        Movie(source=source, rating_key=f"m{n}", title=f"Movie {n}", kind="movie", year=1970 + n % 30,
              duration_ms=(85 + n % 50) * 60_000, content_rating="PG")
        for n in range(200)
    ]  # fmt: skip
    bulk_create_playables(movies)
    kinds = ["commercial"] * 6 + ["bumper", "promo", "station_id", "interstitial", "filler"]
    clips = [
        ShortFormItem(source=source, rating_key=f"c{n}", title=f"Clip {n}", kind=kinds[n % len(kinds)],
                      duration_ms=(15 + (n % 8) * 15) * 1000, commercial_company=f"Company {n % 40}",
                      category="out" if n % 2 else "in")
        for n in range(300)
    ]  # fmt: skip
    bulk_create_playables(clips)
    ChapterMark.objects.bulk_create(
        [
            ChapterMark(playable_id=episode.pk, time_ms=mark * 60_000, origin="plex")
            for episode in episodes
            for mark in (7, 14)
        ]
    )
    MediaFile.objects.bulk_create(
        [
            MediaFile(playable_id=pk, local_path=f"/bench/{pk}.mkv", state="normal")
            for pk in Playable.objects.values_list("pk", flat=True)
        ],
        batch_size=5000,
    )
    return shows


def make_channels(count: int, shows):
    from scheduling.models import BreakRule, Channel, ScheduleTemplate, TimeSlot

    for number in range(count):
        channel = Channel.objects.create(
            number=str(number + 2), name=f"Bench {number}", time_zone="America/New_York", seed=number
        )
        BreakRule.objects.create(channel=channel)
        template = ScheduleTemplate.objects.create(channel=channel, name="Week")
        blocks = [(6, 12, "in_order"), (12, 18, "shuffle"), (18, 20, "in_order"), (23, 24, "random")]
        for index, (start, end, order) in enumerate(blocks):
            slot = TimeSlot.objects.create(
                template=template, days=list(range(7)), order=order, start_time=clock_time(start),
                end_time=clock_time(end % 24),
            )  # fmt: skip
            slot.shows.set(shows[(number + index * 7) % 60 : (number + index * 7) % 60 + 3])
        TimeSlot.objects.create(
            template=template, days=list(range(7)), content="movies", order="shuffle",
            start_time=clock_time(20), end_time=clock_time(23),
        )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--database-server",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    create_and_set_up(args.database_server, BENCH_DB)
    from scheduling.builder import roll_forward
    from scheduling.models import Piece, ProgramEntry

    make_channels(args.channels, make_catalog())
    now = datetime(2026, 11, 23, 14, 7, tzinfo=UTC)
    runs = []
    for _ in range(args.repeat):
        ProgramEntry.objects.all().delete()
        started = time.perf_counter()
        totals = roll_forward(now)
        runs.append(time.perf_counter() - started)
    result = {
        "channels": args.channels,
        "programs": ProgramEntry.objects.count(),
        "pieces": Piece.objects.count(),
        "seconds": [round(value, 2) for value in runs],
        "median_seconds": round(statistics.median(runs), 2),
        "totals": totals,
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "schedule_build.json").write_text(json.dumps(result, indent=2))

    drop(args.database_server, BENCH_DB)


if __name__ == "__main__":
    main()
