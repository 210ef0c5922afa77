"""Benchmark: Plex sync of a big library against the emulator (issue: sync that is fast and incremental).

Library: ~17,000 episodes in 300 shows plus 2,000 movies, 5 ms added to every request. Phases:
  full         first sync into an empty catalog
  no-change    incremental sync right after
  50-change    incremental after renaming 50 episodes, touching 3 shows, deleting 2 episodes, adding 5
Each phase's wall time, requests made and the syncing process's peak RSS are reported; the run is
repeated (fresh database and emulator each time) and medians printed. The emulator runs as its own
process so its memory is not counted.

    .venv/bin/python bench/plex_sync.py [--repeat 3] [--shows 300] [--movies 2000] [--latency-ms 5]

Needs PostgreSQL (DATABASE_URL's server; a database `retrovue_bench_sync` is created and dropped).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time

import requests
from benchdb import ROOT, create_and_set_up, drop

BENCH_DB = "retrovue_bench_sync"
TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class EmulatorProcess:
    def __init__(self, args):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "plex_emulator", "--port", str(self.port), "--token", TOKEN, "--quiet",
             "--shows", str(args.shows), "--seasons", "4", "--episodes", str(args.episodes_per_season),
             "--movies", str(args.movies), "--latency-ms", str(args.latency_ms), "--seed", "17"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url}/identity", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("the emulator did not start")

    def control(self, method: str, path: str, payload: dict | None = None) -> dict:
        response = requests.request(
            method, f"{self.url}/_emulator/{path}", json=payload, headers={"X-Plex-Token": TOKEN}, timeout=60
        )
        response.raise_for_status()
        return response.json()

    def requests_made(self) -> int:
        return self.control("GET", "stats")["total"]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def make_changes(emulator: EmulatorProcess) -> dict:
    episodes = emulator.control("GET", "library?type=episode")["items"]
    shows = emulator.control("GET", "library?type=show")["items"]
    for episode in episodes[:50]:
        emulator.control(
            "POST",
            "library/touch",
            {"rating_key": episode["ratingKey"], "title": episode["title"] + " (edit)"},
        )
    for show in shows[:3]:
        emulator.control("POST", "library/touch", {"rating_key": show["ratingKey"]})
    for episode in episodes[-2:]:
        emulator.control("POST", "library/delete", {"rating_key": episode["ratingKey"]})
    for number in range(5):
        emulator.control(
            "POST",
            "library/add_episode",
            {"show_rating_key": shows[5]["ratingKey"], "season_index": 1, "title": f"Bench {number}"},
        )
    return {"updated": 50, "removed": 2, "added": 5}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_round(args) -> dict:
    from catalog.models import Episode, MediaSource, Movie, Show
    from catalog.sync.engine import sync_plex_source

    MediaSource.objects.all().delete()
    emulator = EmulatorProcess(args)
    try:
        source = MediaSource.objects.create(name="bench", kind="plex", base_url=emulator.url, token=TOKEN)
        results = {}
        for phase in ("full", "no-change", "50-change"):
            expected = make_changes(emulator) if phase == "50-change" else None
            emulator.control("POST", "stats/reset")
            started = time.perf_counter()
            run = sync_plex_source(source, "full" if phase == "full" else "incremental")
            seconds = time.perf_counter() - started
            assert run.status == "succeeded", run.error
            if expected:
                assert (run.added, run.updated, run.removed) == (expected["added"], expected["updated"], expected["removed"]), (
                    run.added, run.updated, run.removed)  # fmt: skip
            results[phase] = {
                "seconds": round(seconds, 3),
                "requests": emulator.requests_made(),
                "added": run.added, "updated": run.updated, "removed": run.removed, "skipped": run.skipped,
                "peak_rss_mb": round(peak_rss_mb(), 1),
            }  # fmt: skip
        results["catalog"] = {
            "shows": Show.objects.count(), "episodes": Episode.objects.count(), "movies": Movie.objects.count()
        }  # fmt: skip
        return results
    finally:
        emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shows", type=int, default=300)
    parser.add_argument("--episodes-per-season", type=int, default=14)
    parser.add_argument("--movies", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=5)
    parser.add_argument(
        "--database-server",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument(
        "--database",
        default=BENCH_DB,
        help="throwaway database name (differ when several people bench at once)",
    )
    args = parser.parse_args()
    create_and_set_up(args.database_server, args.database)
    rounds = [one_round(args) for _ in range(args.repeat)]
    print(f"catalog after sync: {rounds[0]['catalog']}")
    print(
        f"{'phase':<10} {'median s':>9} {'min s':>7} {'max s':>7} {'requests':>9} {'changes a/u/r':>14} {'peak RSS MB':>12}"
    )
    summary = {}
    for phase in ("full", "no-change", "50-change"):
        seconds = [entry[phase]["seconds"] for entry in rounds]
        last = rounds[-1][phase]
        summary[phase] = {"median_seconds": statistics.median(seconds), "runs": seconds, **last}
        print(
            f"{phase:<10} {statistics.median(seconds):>9.2f} {min(seconds):>7.2f} {max(seconds):>7.2f} {last['requests']:>9} "
            f"{last['added']:>4}/{last['updated']}/{last['removed']:<6} {max(r[phase]['peak_rss_mb'] for r in rounds):>12.0f}"
        )
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "plex_sync.json").write_text(
        json.dumps({"args": vars(args) | {"database_server": "…"}, "summary": summary}, indent=2)
    )

    drop(args.database_server, args.database)


if __name__ == "__main__":
    main()
