"""Benchmark: cross-source matching of two big movie libraries (a Plex server and a TMM folder).

Both sources hold `--movies` films; of each pair of copies, 60 % share a TMDB id, 15 % only have
the same title and year, 10 % carry a typo or a year slip (conflicts), 5 % have disagreeing ids,
10 % exist on one side only. Titles are synthetic (three or four words, so near-misses are common:
the shortlist has to work). Phases:
  full         first matching pass (every row new)
  no-change    incremental pass right after (nothing to do but digests)
  50-change    incremental after renaming 50 TMM films
Each phase's wall time and SQL query count are reported, as median of `--repeat` runs.

    .venv/bin/python bench/matching.py [--movies 5000] [--repeat 3]

Needs PostgreSQL (DATABASE_URL's server; a database `retrovue_bench_matching` is created and dropped).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time

from benchdb import ROOT, create_and_set_up, drop

BENCH_DB = "retrovue_bench_matching"


def _words() -> list[str]:
    from plex_emulator import vocabulary

    return list(vocabulary.ADJECTIVES + vocabulary.NOUNS)


def titles(count: int, rng: random.Random) -> list[tuple[str, int]]:
    seen, found, words = set(), [], _words()
    while len(found) < count:
        title = " ".join(rng.sample(words, rng.choice((3, 4))))
        if title not in seen:
            seen.add(title)
            found.append((title, rng.randint(1950, 2023)))
    return found


def typo(title: str, rng: random.Random) -> str:
    at = rng.randrange(1, len(title) - 1)
    return title[:at] + title[at + 1] + title[at] + title[at + 2 :]


def build(movies: int, seed: int = 5):
    from catalog.models import ExternalId, MediaSource, Movie
    from catalog.sync.bulk import bulk_create_playables

    rng = random.Random(seed)
    plex = MediaSource.objects.create(name="Plex", kind="plex", base_url="http://127.0.0.1:32400")
    tmm = MediaSource.objects.create(name="TMM", kind="tmm", path="/srv/tmm")
    plex_rows, tmm_rows, plex_ids, tmm_ids = [], [], [], []
    for number, (title, year) in enumerate(titles(movies, rng)):
        roll = rng.random()
        left_title, left_year, right_title, right_year = title, year, title, year
        left_id = right_id = None
        if roll < 0.60:
            left_id = right_id = str(number + 1)
        elif roll < 0.75:
            pass
        elif roll < 0.85:
            if rng.random() < 0.5:
                right_title = typo(title, rng)
            else:
                right_year = year + 1
        elif roll < 0.90:
            left_id, right_id = str(number + 1), str(900_000 + number)
        else:
            right_title, right_year = None, None
        plex_rows.append(
            Movie(source=plex, rating_key=str(number), title=left_title, year=left_year, duration_ms=1)
        )
        plex_ids.append(left_id)
        if right_title is not None:
            tmm_rows.append(Movie(source=tmm, rating_key=f"{right_title} ({right_year})/film.mkv", title=right_title,
                                  year=right_year, duration_ms=1))  # fmt: skip
            tmm_ids.append(right_id)
    for rows in (plex_rows, tmm_rows):
        for row in rows:
            row.kind, row.sort_title = "movie", row.title
        bulk_create_playables(rows)
    ExternalId.objects.bulk_create(
        ExternalId(
            source_id=row.source_id, playable_id=row.pk, owner_kind="movie", provider="tmdb", value=value
        )
        for rows, values in ((plex_rows, plex_ids), (tmm_rows, tmm_ids))
        for row, value in zip(rows, values, strict=True)
        if value
    )
    return plex, tmm, tmm_rows


def timed(label: str, action) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        report = action()
        seconds = time.perf_counter() - started
    return {"phase": label, "seconds": seconds, "queries": len(queries), **report}


def one_run(args) -> list[dict]:
    from catalog.matching.service import match_source
    from catalog.models import MatchCandidate, Movie, Work

    _plex, tmm, tmm_rows = build(args.movies)
    phases = [timed("full", lambda: match_source(tmm))]
    phases[0]["works"], phases[0]["open_conflicts"] = Work.objects.count(), MatchCandidate.objects.count()
    phases.append(timed("no-change", lambda: match_source(tmm)))
    for row in tmm_rows[:50]:
        Movie.objects.filter(pk=row.pk).update(title=row.title + " Redux")
    phases.append(timed("50-change", lambda: match_source(tmm)))
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--movies", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--server-url",
        default=os.environ.get("RETROVUE_BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    runs = []
    for _ in range(args.repeat):
        create_and_set_up(args.server_url, BENCH_DB)
        try:
            runs.append(one_run(args))
        finally:
            drop(args.server_url, BENCH_DB)
    print(f"{args.movies} movies per source, median of {args.repeat} runs")
    print(f"{'phase':<10} {'seconds':>8} {'queries':>8} {'considered':>10} {'linked':>7} {'conflicts':>9}")
    summary = []
    for index, first in enumerate(runs[0]):
        seconds = statistics.median(run[index]["seconds"] for run in runs)
        row = {**first, "seconds": round(seconds, 3)}
        summary.append(row)
        print(f"{row['phase']:<10} {seconds:>8.2f} {row['queries']:>8} {row['considered']:>10} {row['linked']:>7} "
              f"{row['conflicts']:>9}")  # fmt: skip
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "matching.json").write_text(json.dumps({"movies": args.movies, "phases": summary}, indent=2))


if __name__ == "__main__":
    main()
