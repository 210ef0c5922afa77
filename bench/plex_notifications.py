"""Benchmark: live updates, from a change on the Plex server to the row in the catalog.

The sync side runs as in production, each in its own process: a Celery worker (`sync` queue, solo
pool, Redis broker under a throwaway key prefix) and the listener (`python -m retrovue listen`).
This process hosts the Plex emulator (so a burst is Python calls, not HTTP round trips), makes the
changes and watches the database. Phases:

  latency   50 changes one after the other, mixed: add a movie, retitle an episode, delete a
            movie (17/17/16). Each is timed from just before the change is made to the moment its
            row is visible (new / retitled / marked removed), polling every 10 ms.
  kill      3 times, each after the socket was healthy for `--settle` s (11): the emulator drops
            the listener's socket (RST) and a movie is added at once; time until it is visible
            (reconnect after the first backoff step, then the catch-up sync or the event).
  burst     200 movies added, 60 episodes retitled, 40 of the new movies deleted, as fast as the
            emulator takes them (≥ 500 library events); counts the sync runs they caused and
            the time until the catalog matches the server, then checks with a full sync that
            nothing was missed (0 added / updated / removed).

    .venv/bin/python bench/plex_notifications.py [--shows 40] [--movies 300] [--events 50]

Needs PostgreSQL (DATABASE_URL's server; a database `retrovue_bench_live` is created and dropped)
and Redis (`--redis`, default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from benchdb import ROOT, create_and_set_up, drop, server_url
from plex_sync import TOKEN

BENCH_DB = "retrovue_bench_live"
POLL = 0.01


class Emulator:
    """The emulator in this process: a burst is 300 Python calls, not 300 HTTP round trips."""

    def __init__(self, args):
        from plex_emulator import EmulatorConfig, PlexEmulator

        config = EmulatorConfig(
            seed=23,
            shows=args.shows,
            seasons_per_show=2,
            episodes_per_season=8,
            movies=args.movies,
            token=TOKEN,
        )
        self.emulator = PlexEmulator(config).start()
        self.library = self.emulator.library
        self.url = self.emulator.url

    def stop(self):
        self.emulator.stop()


def wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(POLL)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def start(argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    handle = log.open("wb")
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def summary(values: list[float]) -> dict:
    ordered = sorted(values)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return {
        "n": len(ordered),
        "min": round(ordered[0], 3),
        "median": round(statistics.median(ordered), 3),
        "p95": round(p95, 3),
        "max": round(ordered[-1], 3),
    }


def timed(change, visible, timeout: float = 30.0) -> float:
    started = time.perf_counter()
    change()
    wait(visible, timeout, "the change to reach the catalog")
    return time.perf_counter() - started


def latency_phase(emulator: Emulator, source, count: int) -> dict:
    from catalog.models import Episode, Movie

    library = emulator.library
    episodes = [episode.rating_key for episode in library.episodes()[:100]]
    added: list[str] = []
    results: dict[str, list[float]] = {"add": [], "change": [], "delete": []}
    for number in range(count):
        kind = ("add", "change", "delete")[number % 3]
        if kind == "delete" and not added:
            kind = "add"
        if kind == "add":
            box: dict = {}

            def add(box=box, number=number):
                box["key"] = library.add_movie(f"Live {number}", 1980).rating_key

            seconds = timed(
                add,
                lambda box=box: Movie.objects.filter(
                    source=source, rating_key=box.get("key"), state="active"
                ).exists(),
            )
            added.append(box["key"])
        elif kind == "change":
            key, title = episodes[number % len(episodes)], f"Retitled {number}"
            seconds = timed(
                lambda key=key, title=title: library.touch(key, title=title),
                lambda key=key, title=title: Episode.objects.filter(rating_key=key, title=title).exists(),
            )
        else:
            key = added.pop(0)
            seconds = timed(
                lambda key=key: library.delete(key),
                lambda key=key: Movie.objects.filter(rating_key=key, state="removed").exists(),
            )
        results[kind].append(seconds)
    every = [value for values in results.values() for value in values]
    return {"all": summary(every), **{kind: summary(values) for kind, values in results.items() if values}}


def kill_phase(emulator: Emulator, source, rounds: int, settle: float) -> dict:
    """Each kill comes after the connection was healthy for `settle` s, so backoff starts over."""
    from catalog.models import Movie, NotificationListenerState

    seconds = []
    for number in range(rounds):
        time.sleep(settle)
        connects = NotificationListenerState.objects.get(source=source).connects
        box: dict = {}

        def kill_then_add(box=box, number=number):
            emulator.emulator.notifications.kill(mode="reset")
            box["key"] = emulator.library.add_movie(f"After kill {number}", 1999).rating_key

        seconds.append(
            timed(
                kill_then_add,
                lambda box=box: Movie.objects.filter(rating_key=box.get("key"), state="active").exists(),
                timeout=60,
            )
        )
        wait(
            lambda connects=connects: (
                NotificationListenerState.objects.get(source=source).connects > connects
            ),
            30,
            "the reconnect",
        )
    return summary(seconds)


def burst_phase(emulator: Emulator, source) -> dict:
    from catalog.models import Episode, Movie, NotificationListenerState, SyncRun
    from catalog.sync.engine import sync_plex_source

    last_run = SyncRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    events_before = NotificationListenerState.objects.get(source=source).events_received
    library = emulator.library
    episodes = [episode.rating_key for episode in library.episodes()[:60]]
    started = time.perf_counter()
    added = [library.add_movie(f"Burst {n}", 1950 + n % 50).rating_key for n in range(200)]
    for key in episodes:
        library.touch(key, summary="burst")
    for key in added[:40]:
        library.delete(key)
    emitted = time.perf_counter() - started
    expected = {movie.rating_key for movie in library.movies()}

    def caught_up() -> bool:
        active = set(Movie.objects.filter(source=source, state="active").values_list("rating_key", flat=True))
        return (
            active == expected
            and Episode.objects.filter(source=source, summary="burst").count() == len(episodes)
            and not SyncRun.objects.filter(source=source, status__in=["queued", "running"]).exists()
        )

    wait(caught_up, 120, "the catalog to match the server after the burst")
    converged = time.perf_counter() - started
    runs = SyncRun.objects.filter(source=source, pk__gt=last_run).order_by("pk")
    events = NotificationListenerState.objects.get(source=source).events_received - events_before
    check = sync_plex_source(source, "full", trigger="bench check")
    return {
        "library_events": events,
        "seconds_to_emit": round(emitted, 2),
        "seconds_until_catalog_matches": round(converged, 2),
        "sync_runs": runs.count(),
        "runs": [
            {
                "trigger": run.trigger,
                "items": len(run.item_keys),
                "added": run.added,
                "updated": run.updated,
                "removed": run.removed,
                "seconds": round(run.duration_seconds or 0, 2),
            }
            for run in runs
        ],
        "full_sync_after": {"added": check.added, "updated": check.updated, "removed": check.removed},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shows", type=int, default=40)
    parser.add_argument("--movies", type=int, default=300)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--settle", type=float, default=11.0, help="healthy seconds before each kill")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--database-server",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    os.environ["CELERY_BROKER_URL"] = args.redis
    os.environ["RETROVUE_BROKER_KEY_PREFIX"] = f"bench-live-{uuid.uuid4().hex[:8]}:"
    create_and_set_up(args.database_server, BENCH_DB)
    from catalog.models import MediaSource, NotificationListenerState, SyncRun
    from catalog.sync.engine import sync_plex_source

    env = {**os.environ, "DATABASE_URL": server_url(args.database_server, BENCH_DB)}
    emulator = Emulator(args)
    worker = listener = None
    try:
        source = MediaSource.objects.create(name="bench", kind="plex", base_url=emulator.url, token=TOKEN)
        assert sync_plex_source(source, "full").status == "succeeded"
        worker = start(
            [sys.executable, "-m", "celery", "-A", "retrovue", "worker", "--queues", "sync,default", "--pool",
             "solo", "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
            env, out / "plex_notifications.worker.log",
        )  # fmt: skip
        listener = start(
            [sys.executable, "-m", "retrovue", "listen"], env, out / "plex_notifications.listen.log"
        )
        wait(
            lambda: NotificationListenerState.objects.filter(source=source, status="connected").exists(),
            60,
            "the listener to connect",
        )
        wait(
            lambda: SyncRun.objects.filter(
                source=source, trigger="websocket reconnect", status="succeeded"
            ).exists(),
            60,
            "the worker to run the catch-up sync",
        )
        results = {
            "latency": latency_phase(emulator, source, args.events),
            "kill": kill_phase(emulator, source, args.kills, args.settle),
            "burst": burst_phase(emulator, source),
        }
    finally:
        for process in (listener, worker):
            if process is not None:
                stop(process)
        emulator.stop()
    print(f"{'latency (s)':<22} {'n':>3} {'min':>7} {'median':>7} {'p95':>7} {'max':>7}")
    for name, figures in [
        *(("event " + k, v) for k, v in results["latency"].items()),
        ("after kill", results["kill"]),
    ]:
        print(
            f"{name:<22} {figures['n']:>3} {figures['min']:>7.3f} {figures['median']:>7.3f} "
            f"{figures['p95']:>7.3f} {figures['max']:>7.3f}"
        )
    burst = results["burst"]
    print(
        f"burst: {burst['library_events']} library events in {burst['seconds_to_emit']} s → "
        f"{burst['sync_runs']} sync runs; catalog matched the server after {burst['seconds_until_catalog_matches']} s; "
        f"full sync afterwards: {burst['full_sync_after']}"
    )
    for run in burst["runs"]:
        print(f"  run: {run}")
    (out / "plex_notifications.json").write_text(
        json.dumps({"args": vars(args) | {"database_server": "…"}, "results": results}, indent=2)
    )
    drop(args.database_server, BENCH_DB)


if __name__ == "__main__":
    main()
