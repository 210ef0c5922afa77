"""Benchmark: several playout machines — takeover after `kill -9`, and a supervisor's CPU and memory.

Builds a throwaway database with SD clips (640×480 @ 29.97, from `bench/playout.py`'s generator),
pre-generates their three cuts once into one store every "machine" reads (the shared volume), and
channels that loop them. Each supervisor is `python -m playout` with its own data folder and HLS
root (tests/playout/multi_supervisor.py), standing for a machine. Phases:

  takeover   for each round `KxN` (K supervisors sharing N channels): start them, wait until every
             channel is on the air and spread evenly, follow every channel with a client that reads
             the playlist where the front door's lookup (`placement.origin_for`) says it airs, then
             `kill -9` one supervisor. Per channel it held: seconds from the kill to the first new
             segment the client gets from the new machine. Also checked: the media sequence never
             goes back for the client, a discontinuity marks the change of machine, and no channel
             airs on two workers at once (the as-run log, `as_run.overlaps`).
  drain      SIGTERM one of K supervisors (`--drain-rounds`): seconds until it exits, and per
             channel it held the longest wait between new segments a following client sees around
             the handover (a gap of "two segments" is a wait of three segment lengths).
  cpu        one supervisor with N channels (`--cpu-steps`), after `--settle` s on the air, over
             `--window` s: cores of the supervisor's Python (feeds, leases) and of its channel
             ffmpegs (/proc/<pid>/stat), their resident memory (VmRSS; PSS where readable), and
             whether every channel kept adding segments.

    .venv/bin/python bench/failover.py --quick   # ~5 min: rounds 2x20,3x20; drain 2x20; cpu 20,50
    .venv/bin/python bench/failover.py --quick --via-front-door --cpu-steps ''
        # the client reads every channel through ONE front door (the shipped deploy/nginx.conf in
        # front of `python -m retrovue web`), each machine's HLS served by deploy/nginx-origin.conf;
        # also counts playlist answers other than 200 and segments that failed to download
    .venv/bin/python bench/failover.py           # ~8 min: rounds 2x6,2x20,3x20,2x40,3x40;
                                                 #   drain 2x20,3x20; cpu 20,50,100

Needs PostgreSQL (a database `retrovue_bench_failover` is created and dropped) and ffmpeg. Files go
to /tmp/retrovue-bench-failover. Prints the load average before and after: other work on the box
inflates every figure; takeover times are dominated by the lease (8 s), not by CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from benchdb import ROOT, create_and_set_up, drop

BENCH_DB = "retrovue_bench_failover"
WORK = Path("/tmp/retrovue-bench-failover")
RESULTS = ROOT / "bench" / "results" / "failover.json"
RESULTS_FRONT_DOOR = ROOT / "bench" / "results" / "failover-front-door.json"

_spec = importlib.util.spec_from_file_location("bench_playout", ROOT / "bench" / "playout.py")
bench_playout = importlib.util.module_from_spec(_spec)
sys.modules["bench_playout"] = bench_playout
_spec.loader.exec_module(bench_playout)


def memory_kb(pid: int) -> tuple[int, int | None]:
    """(VmRSS, Pss) in kB; Pss is None when smaps_rollup is not readable."""
    rss = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    except OSError:
        return 0, None
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return rss, int(line.split()[1])
    except OSError:
        pass
    return rss, None


# --- Data ---------------------------------------------------------------------------------------------


def build(clip_seconds: int, count: int, minutes: float) -> tuple[list[str], int]:
    from catalog.models import MediaFile
    from playout import pregen
    from playout.feed import slate_file
    from scheduling.models import Piece, StreamProfile
    from tests.factories import EpisodeFactory
    from tests.playout.multi_supervisor import build_station

    clips = bench_playout.make_clips(clip_seconds)
    profile, _ = StreamProfile.objects.get_or_create(name="Retro SD 4:3")
    clip_ms = clip_seconds * 1000
    pieces = []
    for name, path in clips.items():
        item = EpisodeFactory(duration_ms=clip_ms, title=f"bench {name}")
        MediaFile.objects.create(
            playable=item, position=0, local_path=str(path), state="normal", duration_ms=clip_ms,
            width=640, height=480, video_codec="h264", audio_codec="aac", container="mkv",
        )  # fmt: skip
        pieces.append((item, 0, clip_ms))
    numbers = build_station(count, profile=profile, pieces=pieces, minutes=minutes)
    for piece in Piece.objects.filter(channel__number=numbers[0]).order_by("start")[: len(pieces)]:
        row = pregen.encode(pregen.piece_for(piece))
        assert row.status == "ready", row.error
    slate_file(profile, directory=WORK / "slates")
    return numbers, int(profile.segment_seconds)


def reset(numbers: list[str], enabled: int) -> None:
    from playout.models import AsRunEntry, ChannelRuntime, PlayoutWorker
    from scheduling.models import Channel

    shutil.rmtree(WORK / "machines", ignore_errors=True)
    (WORK / "machines").mkdir(parents=True)
    ChannelRuntime.objects.all().delete()
    AsRunEntry.objects.all().delete()
    PlayoutWorker.objects.all().delete()
    Channel.objects.update(enabled=False)
    Channel.objects.filter(number__in=numbers[:enabled]).update(enabled=True)


# --via-front-door: the web server and the front door nginx, started once (see `front_door_start`).
FRONT: dict = {}


def machines(count: int, capacity: float) -> list:
    from django.conf import settings

    from tests.playout.multi_supervisor import SupervisorRun

    runs = []
    for index in range(count):
        origin = None
        if FRONT:
            from tests.deploy.nginx_runner import free_port

            port = free_port()
            origin = f"http://127.0.0.1:{port}"
        run = SupervisorRun(
            f"box-{index}",
            WORK / "machines",
            database_url=os.environ["DATABASE_URL"],
            pregen_root=Path(settings.RETROVUE_PREGEN_ROOT),
            slates=WORK / "slates",
            capacity=capacity,
            origin=origin,
        )
        if FRONT:
            from tests.playout.front_door import start_origin

            run.origin_server = start_origin(WORK / "machines" / f"box-{index}-origin", run.hls, port)
        runs.append(run)
    return runs


def clean_up(run) -> None:
    run.clean_up()
    if getattr(run, "origin_server", None) is not None:
        run.origin_server.stop()


def where(run) -> str:
    """How the client names the machine it read a channel from."""
    return run.name if FRONT else run.hls.as_uri()


def follower_for(numbers: list[str], segment: int, runs: list):
    from tests.playout.front_door import FrontDoorFollower
    from tests.playout.multi_supervisor import Follower

    if FRONT:
        return FrontDoorFollower(
            dict.fromkeys(numbers, segment), FRONT["nginx"].port, {r.name: r.hls for r in runs}
        )
    return Follower(dict.fromkeys(numbers, segment))


def front_door_faults(follower) -> dict:
    """Through the front door: playlist answers other than 200 and segments that did not download."""
    trails = follower.trails.values()
    return {
        "playlist_refusals": sum(len(getattr(trail, "refusals", [])) for trail in trails),
        "missing_segments": sum(len(getattr(trail, "missing_segments", [])) for trail in trails),
        "segments_downloaded": sum(getattr(trail, "downloaded", 0) for trail in trails),
    }


def front_door_start() -> None:
    """A dedicated front door machine: `python -m retrovue web` and the shipped nginx.conf in front
    of it, its own HLS root empty (it airs nothing), so every channel is proxied to its origin."""
    import subprocess

    from tests.deploy.nginx_runner import free_port
    from tests.playout.front_door import get, start_front_door

    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "RETROVUE_PLAYOUT_ORIGIN"}
    with (WORK / "web.log").open("ab") as log:
        FRONT["web"] = subprocess.Popen(
            [sys.executable, "-m", "retrovue", "web", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    FRONT["nginx"] = start_front_door(
        WORK / "front-door", django_port=port, hls_root=WORK / "front-door" / "hls"
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if get(FRONT["nginx"].port, "/hls/0/index.m3u8")[0] in (403, 404):
                return  # Django answers (no such channel)
        time.sleep(0.5)
    raise RuntimeError(f"the front door's web server did not answer; see {WORK / 'web.log'}")


def front_door_stop() -> None:
    import signal

    if "nginx" in FRONT:
        FRONT["nginx"].stop()
    if "web" in FRONT:
        FRONT["web"].send_signal(signal.SIGTERM)
        FRONT["web"].wait(timeout=30)


def wait_spread(runs: list, numbers: list[str], timeout: float) -> dict[str, list[str]]:
    from playout.models import ChannelRuntime
    from tests.playout.multi_supervisor import holders, wait_for

    names = [run.name for run in runs]

    def spread():
        on_air = ChannelRuntime.objects.filter(channel__number__in=numbers, state="on_air").count()
        held = holders()
        counts = [len(held.get(name, [])) for name in names]
        for run in runs:
            run.note_children()
        if on_air == len(numbers) and sum(counts) == len(numbers) and max(counts) - min(counts) <= 1:
            return held
        return None

    return wait_for(spread, timeout=timeout, interval=0.5, describe="every channel on air, spread evenly")


# --- Phases -------------------------------------------------------------------------------------------


def takeover_round(all_numbers: list[str], supervisors: int, channels: int, segment: int, capacity: float):
    from playout import as_run
    from scheduling.models import Channel
    from tests.playout.multi_supervisor import wait_for

    numbers = all_numbers[:channels]
    reset(all_numbers, channels)
    runs = machines(supervisors, capacity)
    follower = follower_for(numbers, segment, runs)
    try:
        started = time.monotonic()
        held = wait_spread(runs, numbers, timeout=60 + 2 * channels)
        spread_s = time.monotonic() - started
        follower.start()
        wait_for(
            lambda: all(len(trail.arrivals) >= 2 for trail in follower.trails.values()),
            timeout=30,
            describe="the client to see every channel move on",
        )
        victim = runs[0]
        moved = held[victim.name]
        killed_at = time.monotonic()
        victim.kill()
        survivors = {where(run) for run in runs[1:]}

        def back_on_air(number):
            trail = follower.trails[number]
            return next(
                (at for at, _, origin, _ in trail.arrivals if at > killed_at and origin in survivors), None
            )

        with contextlib.suppress(AssertionError):  # channels not back are reported below
            wait_for(
                lambda: all(back_on_air(n) for n in moved), timeout=45, interval=0.25, describe="takeover"
            )
        takeover = {number: back_on_air(number) for number in moved}
        seconds = sorted(round(at - killed_at, 2) for at in takeover.values() if at is not None)
        time.sleep(2 * segment)
    finally:
        follower.stop()
        for run in runs:
            clean_up(run)
    tolerance = timedelta(seconds=segment / 2)  # see tests/playout/test_failover.py
    double = [
        (a.worker, b.worker, str(a.actual_start))
        for pk in Channel.objects.filter(number__in=numbers).values_list("pk", flat=True)
        for a, b in as_run.overlaps(pk, tolerance)
    ]
    errors = [error for trail in follower.trails.values() for error in trail.errors]
    return {
        "supervisors": supervisors,
        "channels": channels,
        "moved": len(moved),
        "spread_s": round(spread_s, 1),
        "takeover_s": seconds,
        "not_back": [number for number, at in takeover.items() if at is None],
        "median_s": statistics.median(seconds) if seconds else None,
        "max_s": max(seconds) if seconds else None,
        "client_errors": errors[:10],
        "double_airing": double[:10],
        **front_door_faults(follower),
    }


def drain_round(all_numbers: list[str], supervisors: int, channels: int, segment: int, capacity: float):
    """SIGTERM one of K supervisors: how long it takes to exit, and per channel it held the longest
    wait between new segments a following client sees around the handover."""
    from tests.playout.multi_supervisor import wait_for

    numbers = all_numbers[:channels]
    reset(all_numbers, channels)
    runs = machines(supervisors, capacity)
    follower = follower_for(numbers, segment, runs)
    try:
        held = wait_spread(runs, numbers, timeout=60 + 2 * channels)
        follower.start()
        wait_for(
            lambda: all(len(trail.arrivals) >= 3 for trail in follower.trails.values()),
            timeout=30,
            describe="the client to see every channel move on",
        )
        victim = runs[0]
        moved = held[victim.name]
        asked_at = time.monotonic()
        code = victim.terminate(timeout=120)
        exit_s = time.monotonic() - asked_at
        survivors = {where(run) for run in runs[1:]}
        with contextlib.suppress(AssertionError):
            wait_for(
                lambda: all(
                    len([a for a in follower.trails[n].arrivals if a[0] > asked_at and a[2] in survivors])
                    >= 3
                    for n in moved
                ),
                timeout=45,
                describe="the drained channels on the other machines",
            )
        until = time.monotonic()
    finally:
        follower.stop()
        for run in runs:
            clean_up(run)
    waits = sorted(round(follower.trails[n].longest_wait(asked_at - segment, until), 2) for n in moved)
    return {
        "supervisors": supervisors,
        "channels": channels,
        "moved": len(moved),
        "exit_code": code,
        "exit_s": round(exit_s, 2),
        "longest_wait_s": waits,
        "gap_segments_max": round(max(waits) / segment - 1, 2) if waits else None,
        "client_errors": [e for t in follower.trails.values() for e in t.errors][:10],
        **front_door_faults(follower),
    }


def cpu_step(all_numbers: list[str], channels: int, segment: int, settle: float, window: float):
    from playout.models import ChannelRuntime

    numbers = all_numbers[:channels]
    reset(all_numbers, channels)
    (run,) = machines(1, capacity=64.0)
    try:
        wait_spread([run], numbers, timeout=60 + channels)
        time.sleep(settle)
        segments_before = dict(
            ChannelRuntime.objects.filter(channel__number__in=numbers).values_list(
                "channel__number", "media_sequence"
            )
        )
        busy_before = bench_playout.machine_ticks()
        before = bench_playout.TreeSample(run.process.pid)
        time.sleep(window)
        after = bench_playout.TreeSample(run.process.pid)
        busy_after = bench_playout.machine_ticks()
        usage = bench_playout.tree_usage(before, after)
        python_rss, python_pss = memory_kb(run.process.pid)
        ffmpeg_memory = [memory_kb(pid) for pid in after.children]
        segments_after = dict(
            ChannelRuntime.objects.filter(channel__number__in=numbers).values_list(
                "channel__number", "media_sequence"
            )
        )
    finally:
        clean_up(run)
    added = [segments_after[n] - segments_before.get(n, 0) for n in numbers]
    expected = window / segment
    ffmpeg_rss = sum(rss for rss, _ in ffmpeg_memory)
    pss_values = [pss for _, pss in ffmpeg_memory if pss is not None]
    busy = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1]) * (os.cpu_count() or 1)
    return {
        "channels": channels,
        "window_s": window,
        "held": min(added) >= 0.8 * expected,
        "segments_added_min": min(added),
        "segments_expected": round(expected, 1),
        "python_cores": round(usage["python"], 4),
        "ffmpeg_cores": round(usage["children"], 4),
        "per_channel_cores": round((usage["python"] + usage["children"]) / channels, 5),
        "python_rss_mb": round(python_rss / 1024, 1),
        "python_pss_mb": round(python_pss / 1024, 1) if python_pss is not None else None,
        "ffmpeg_rss_mb": round(ffmpeg_rss / 1024, 1),
        "ffmpeg_pss_mb": round(sum(pss_values) / 1024, 1) if len(pss_values) == len(ffmpeg_memory) else None,
        "per_channel_rss_mb": round((python_rss + ffmpeg_rss) / 1024 / channels, 2),
        "per_channel_pss_mb": round((python_pss + sum(pss_values)) / 1024 / channels, 2)
        if python_pss is not None and len(pss_values) == len(ffmpeg_memory)
        else None,
        "machine_busy_cores": round(busy, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="rounds 2x20,3x20 and cpu 20,50")
    parser.add_argument("--rounds", default=None, help="takeover rounds, KxN comma-separated")
    parser.add_argument("--repeat", type=int, default=1, help="times to run each round")
    parser.add_argument(
        "--drain-rounds", default=None, help="SIGTERM rounds, KxN comma-separated (2x20,3x20; --quick 2x20)"
    )
    parser.add_argument("--cpu-steps", default=None, help="channels per supervisor in the cpu phase")
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=10.0)
    parser.add_argument("--clip-seconds", type=int, default=20)
    parser.add_argument("--capacity", type=float, default=4.0, help="each supervisor's --capacity")
    parser.add_argument(
        "--via-front-door",
        action="store_true",
        help="clients read through one front door nginx (deploy/nginx.conf) and per-machine origins",
    )
    parser.add_argument(
        "--database-server",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    rounds = [
        tuple(int(part) for part in spec.split("x"))
        for spec in (args.rounds or ("2x20,3x20" if args.quick else "2x6,2x20,3x20,2x40,3x40")).split(",")
    ]
    steps = [
        int(step)
        for step in (
            ("20,50" if args.quick else "20,50,100") if args.cpu_steps is None else args.cpu_steps
        ).split(",")
        if step
    ]
    most = max([*steps, *(channels for _, channels in rounds), 20])
    load_before = os.getloadavg()
    print(
        f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, {os.cpu_count()} cores"
    )

    shutil.rmtree(WORK / "data", ignore_errors=True)
    os.environ["RETROVUE_DATA_DIR"] = str(WORK / "data")
    os.environ["RETROVUE_PREGEN_ROOT"] = str(WORK / "data" / "pregen")  # the shared volume
    create_and_set_up(args.database_server, BENCH_DB)
    results: dict = {"rounds": [], "cpu": []}
    try:
        minutes = 10 + len(rounds) * args.repeat * 2 + len(steps) * 3
        numbers, segment = build(args.clip_seconds, most, minutes)
        if args.via_front_door:
            front_door_start()
            print(f"clients read every channel through one front door: nginx on :{FRONT['nginx'].port}")
        print(f"\nTakeover after kill -9 (segment {segment} s, lease 8 s)")
        print(
            f"{'round':>6} {'moved':>6} {'median s':>9} {'max s':>7} {'all s':<60} {'client errors':>13} {'double':>7}"
        )
        for supervisors, channels in rounds:
            for _ in range(args.repeat):
                result = takeover_round(numbers, supervisors, channels, segment, args.capacity)
                results["rounds"].append(result)
                print(
                    f"{supervisors}x{channels:<4} {result['moved']:>6} {result['median_s'] or '-':>9} "
                    f"{result['max_s'] or '-':>7} {' '.join(str(s) for s in result['takeover_s']):<60} "
                    f"{len(result['client_errors']):>13} {len(result['double_airing']):>7}"
                    + (f"  NOT BACK: {result['not_back']}" if result["not_back"] else "")
                    + (
                        f"  front door: {result['segments_downloaded']} segments, "
                        f"{result['missing_segments']} missing, {result['playlist_refusals']} playlist non-200"
                        if FRONT
                        else ""
                    )
                )
        every = sorted(s for result in results["rounds"] for s in result["takeover_s"])
        if every:
            quantiles = statistics.quantiles(every, n=10) if len(every) > 1 else every * 9
            print(
                f"all rounds: {len(every)} takeovers, min {every[0]} s, median {statistics.median(every)} s, "
                f"p90 {quantiles[-1]:.2f} s, max {every[-1]} s"
            )
        drains = [
            tuple(int(part) for part in spec.split("x"))
            for spec in (args.drain_rounds or ("2x20" if args.quick else "2x20,3x20")).split(",")
            if spec
        ]
        results["drains"] = []
        print(
            "\nDrain (SIGTERM): exit time, and the longest wait between segments a client sees per channel moved"
        )
        for supervisors, channels in drains:
            result = drain_round(numbers, supervisors, channels, segment, args.capacity)
            results["drains"].append(result)
            print(
                f"{supervisors}x{channels}: moved {result['moved']}, exit {result['exit_code']} after "
                f"{result['exit_s']} s; longest waits {result['longest_wait_s']} s "
                f"(gap beyond the cadence, max {result['gap_segments_max']} segments); "
                f"client errors {len(result['client_errors'])}"
                + (
                    f"; front door: {result['segments_downloaded']} segments, {result['missing_segments']} "
                    f"missing, {result['playlist_refusals']} playlist non-200"
                    if FRONT
                    else ""
                )
            )
        print("\nOne supervisor's CPU and memory (pre-generated channels, stream copy)")
        print(f"{'channels':>8} {'held':>5} {'python':>7} {'ffmpegs':>8} {'per ch':>8} {'py RSS/PSS MB':>14} "
              f"{'ff RSS/PSS MB':>14} {'PSS MB/ch':>9} {'machine':>8}")  # fmt: skip
        for count in steps:
            step = cpu_step(numbers, count, segment, args.settle, args.window)
            results["cpu"].append(step)
            print(
                f"{count:>8} {'yes' if step['held'] else 'NO':>5} {step['python_cores']:>7.3f} "
                f"{step['ffmpeg_cores']:>8.3f} {step['per_channel_cores']:>8.4f} "
                f"{step['python_rss_mb']:>7}/{step['python_pss_mb']!s:<6} {step['ffmpeg_rss_mb']:>7}/{step['ffmpeg_pss_mb']!s:<6} "
                f"{step['per_channel_pss_mb']!s:>9} {step['machine_busy_cores']:>8}"
            )
    finally:
        front_door_stop()
        drop(args.database_server, BENCH_DB)
    load_after = os.getloadavg()
    print(f"\nload average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    results["load_before"], results["load_after"] = load_before, load_after
    out = RESULTS_FRONT_DOOR if args.via_front_door else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    bad = [
        r
        for r in results["rounds"]
        if r["not_back"] or r["client_errors"] or r["double_airing"] or r.get("missing_segments")
    ]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
