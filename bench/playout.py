"""Benchmark: always-on channels on this box (issue: playout — CPU per channel, capacity, start-up).

Builds a throwaway database with SD source clips (640×480 @ 29.97, generated with lavfi) and
channels whose fine log loops those clips for the next hour, pre-generates the pieces of the
"pregen" channels with `playout.pregen.encode` (the same cuts on every channel share one file, as
in production), and runs the real supervisor (`python -m playout`) as child processes. Phases:

  cpu        N pre-generated channels (one supervisor) and 1 channel whose pieces are not
             pre-generated, so its feed transcodes them live (a second supervisor, so the two are
             measured apart), on air together. Over `--window` s: CPU of each channel's ffmpeg and
             of each supervisor process (its Python feed server) and of the live transcoders, from
             /proc/<pid>/stat (utime+stime, plus cutime+cstime for children that exited).
             Per pregen channel = its ffmpeg + the supervisor's Python divided by N.
  startup    per channel, from its ffmpeg start (ChannelRuntime.started_at) to the first finished
             segment (the segment muxer's list) and to the first published playlist (index.m3u8,
             which needs 3 target durations); measured in every phase.
  capacity   for each count in `--steps` a fresh supervisor with that many pregen channels; after
             all are on air and `--settle` s, for `--step-window` s every channel's playlist is read
             every 2 s: the newest segment must end no more than 2 target durations before the wall
             clock (the feed normally runs ~2 segments ahead), each channel must add at least 80 %
             of the segments the window holds, without a restart or a slate. The highest count
             that passes is "channels held". Stops at the first failing step.

    .venv/bin/python bench/playout.py            # about 10 minutes
    .venv/bin/python bench/playout.py --quick    # about 3 minutes (shorter clips and windows)

Needs PostgreSQL (DATABASE_URL's server; a database `retrovue_bench_playout` is created and
dropped) and ffmpeg. Files go to /tmp/retrovue-bench-playout (clips are kept between runs).
Prints the load average before and after: other work on the box inflates every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchdb import ROOT, create_and_set_up, drop

BENCH_DB = "retrovue_bench_playout"
WORK = Path("/tmp/retrovue-bench-playout")
TICK = os.sysconf("SC_CLK_TCK")
PREGEN_BASE = 101  # pregen channels are 101, 102, …
LIVE_NUMBER = "99"
CLIPS = (("red", 440), ("blue", 550), ("green", 660))


# --- /proc ------------------------------------------------------------------------------------------


def proc_stat(pid: int) -> tuple[int, int, int] | None:
    """(ppid, utime+stime, cutime+cstime) in clock ticks, or None if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def children(parent: int) -> dict[int, int]:
    """pid → own CPU ticks of each direct child of `parent`."""
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (stat := proc_stat(int(entry.name))) and stat[0] == parent:
            found[int(entry.name)] = stat[1]
    return found


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores from /proc/stat."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class TreeSample:
    """CPU of a supervisor process and of its children, at one moment."""

    def __init__(self, pid: int):
        self.pid = pid
        _, self.own, self.reaped = proc_stat(pid) or (0, 0, 0)
        self.children = children(pid)
        self.commands = {child: cmdline(child) for child in self.children}
        self.at = time.monotonic()


def tree_usage(before: TreeSample, after: TreeSample) -> dict:
    """Cores used between two samples: the Python process, each child alive at the end, and all
    children together (those that exited in between are in cutime; their share before the window
    is taken off)."""
    seconds = after.at - before.at
    all_children = after.reaped - before.reaped + sum(after.children.values()) - sum(before.children.values())
    per_child = {
        pid: (ticks - before.children.get(pid, 0)) / TICK / seconds for pid, ticks in after.children.items()
    }
    return {
        "seconds": seconds,
        "python": (after.own - before.own) / TICK / seconds,
        "children": all_children / TICK / seconds,
        "per_child": per_child,
        "commands": after.commands,
    }


# --- Data ---------------------------------------------------------------------------------------------


def make_clips(seconds: int) -> dict[str, Path]:
    from django.conf import settings

    from retrovue.subprocesses import run_command

    folder = WORK / "clips"
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for name, tone in CLIPS:
        path = folder / f"{name}-{seconds}s.mkv"
        if not path.exists():
            argv = [settings.RETROVUE_FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size=640x480:rate=30000/1001,drawbox=c={name}:t=40,"
                    "noise=alls=4:allf=t",
                    "-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=48000",
                    "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23",
                    "-c:a", "aac", "-ac", "2", str(path)]  # fmt: skip
            run_command(argv, timeout=600)
        made[name] = path
    return made


def build(clips: dict[str, Path], seconds: int, pregen_count: int, hours: float) -> dict:
    """Channels, items, the fine log for the next hours; pre-generate the pregen channels' cuts."""
    from catalog.models import MediaFile
    from playout import pregen
    from playout.feed import slate_file
    from scheduling.models import Channel, Piece, ProgramEntry, StreamProfile
    from tests.factories import EpisodeFactory

    profile, _ = StreamProfile.objects.get_or_create(name="Retro SD 4:3")  # 640×480 @ 29.97, 2 s
    clip_ms = seconds * 1000

    def items(label: str) -> list:
        made = []
        for name, path in clips.items():
            item = EpisodeFactory(duration_ms=clip_ms, title=f"{label} {name}")
            MediaFile.objects.create(
                playable=item, position=0, local_path=str(path), state="normal", duration_ms=clip_ms,
                width=640, height=480, video_codec="h264", audio_codec="aac", container="mkv",
            )  # fmt: skip
            made.append(item)
        return made

    pregen_items, live_items = items("pregen"), items("live")
    numbers = [str(PREGEN_BASE + index) for index in range(pregen_count)]
    now = datetime.now(UTC).replace(microsecond=0)
    cycle = clip_ms * len(clips)
    for index, number in enumerate([*numbers, LIVE_NUMBER]):
        channel = Channel.objects.create(
            number=number, name=f"Bench {number}", time_zone="UTC", stream_profile=profile
        )
        chosen = live_items if number == LIVE_NUMBER else pregen_items
        # Stagger the channels so their piece boundaries (and tune-in cuts) don't all coincide.
        start = now - timedelta(milliseconds=cycle) + timedelta(milliseconds=(index * 7_300) % cycle)
        programs, slots = [], []
        while start < now + timedelta(hours=hours):
            for item in chosen:
                stop = start + timedelta(milliseconds=clip_ms)
                programs.append(ProgramEntry(channel=channel, start=start, stop=stop, title=item.title))
                slots.append((item, start, stop))
                start = stop
        programs = ProgramEntry.objects.bulk_create(programs)
        Piece.objects.bulk_create(
            Piece(channel=channel, program=program, sequence=0, start=begin, stop=end, kind="content",
                  playable=item, in_ms=0, out_ms=clip_ms)
            for program, (item, begin, end) in zip(programs, slots, strict=True)
        )  # fmt: skip
    started = time.perf_counter()
    slate_file(profile)  # made once and kept in production: not part of a channel's start
    encoded = []
    first = Channel.objects.get(number=numbers[0])
    for piece in Piece.objects.filter(channel=first).order_by("start")[: len(clips)]:
        row = pregen.encode(pregen.piece_for(piece))
        assert row.status == "ready", row.error
        encoded.append(row.encode_seconds)
    return {
        "pregen_numbers": numbers,
        "pregen_encode_seconds": round(time.perf_counter() - started, 1),
        "pieces_encoded": len(encoded),
    }


# --- Supervisors ----------------------------------------------------------------------------------------


class SupervisorProcess:
    def __init__(self, numbers: list[str], name: str):
        self.numbers = numbers
        self.name = name
        self.log = (WORK / f"supervisor-{name}.log").open("ab")
        self.started_wall = datetime.now(UTC)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "playout", "--channels", ",".join(numbers), "--worker-id", f"bench-{name}"],
            cwd=ROOT, env=dict(os.environ), stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.seen: set[int] = set()  # every child pid noticed, to clean up after a crash

    @property
    def pid(self) -> int:
        return self.process.pid

    def note_children(self) -> None:
        self.seen |= set(children(self.pid))

    def stop(self) -> None:
        self.note_children()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        for pid in self.seen:  # ffmpegs run in their own sessions: kill any the supervisor left
            if str(WORK) in cmdline(pid) or "/feed/" in cmdline(pid):
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
        self.log.close()


def reset_outputs() -> None:
    from django.conf import settings

    from playout.models import AsRunEntry, ChannelRuntime

    shutil.rmtree(settings.HLS_ROOT, ignore_errors=True)
    shutil.rmtree(Path(settings.DATA_DIR) / "playout" / "channels", ignore_errors=True)
    ChannelRuntime.objects.all().delete()
    AsRunEntry.objects.all().delete()


def wait_on_air(supervisors: list[SupervisorProcess], timeout: float) -> dict[str, dict]:
    """Poll until every channel has a playlist; per channel, seconds from its ffmpeg start to the
    first finished segment and to the first playlist."""
    from django.conf import settings

    from playout.models import ChannelRuntime
    from scheduling.models import Channel

    numbers = [number for supervisor in supervisors for number in supervisor.numbers]
    launched = {number: s.started_wall for s in supervisors for number in s.numbers}
    pks = {
        number: pk for pk, number in Channel.objects.filter(number__in=numbers).values_list("pk", "number")
    }
    work = Path(settings.DATA_DIR) / "playout" / "channels"
    first_segment: dict[str, datetime] = {}
    first_playlist: dict[str, datetime] = {}
    deadline = time.monotonic() + timeout
    while len(first_playlist) < len(numbers) and time.monotonic() < deadline:
        now = datetime.now(UTC)
        for number in numbers:
            if number not in first_segment:
                for path in (work / str(pks[number])).glob("*.csv"):
                    if path.stat().st_size:
                        first_segment[number] = now
            if number not in first_playlist and (Path(settings.HLS_ROOT) / number / "index.m3u8").exists():
                first_playlist[number] = now
        for supervisor in supervisors:
            supervisor.note_children()
            if supervisor.process.poll() is not None:
                raise RuntimeError(f"supervisor {supervisor.name} exited; see {supervisor.log.name}")
        time.sleep(0.05)
    started = dict(
        ChannelRuntime.objects.filter(channel__number__in=numbers).values_list(
            "channel__number", "started_at"
        )
    )
    result = {}
    for number in numbers:
        begin = started.get(number)
        result[number] = {
            "from_supervisor_launch_s": _seconds(launched[number], first_playlist.get(number)),
            "first_segment_s": _seconds(begin, first_segment.get(number)),
            "first_playlist_s": _seconds(begin, first_playlist.get(number)),
        }
    return result


def _seconds(begin: datetime | None, end: datetime | None) -> float | None:
    return None if begin is None or end is None else round((end - begin).total_seconds(), 3)


def channel_ffmpegs(sample: TreeSample) -> dict[str, int]:
    """channel pk (as text) → pid of its long-lived ffmpeg, from the concat list in its argv."""
    found = {}
    for pid, command in sample.commands.items():
        if "feed.ffconcat" in command:
            found[command.split("/feed.ffconcat")[0].rsplit("/", 1)[1]] = pid
    return found


# --- Phases ---------------------------------------------------------------------------------------------


def cpu_phase(numbers: list[str], window: float, settle: float) -> dict:
    reset_outputs()
    pregen_sup = SupervisorProcess(numbers, "pregen")
    live_sup = SupervisorProcess([LIVE_NUMBER], "live")
    try:
        startup = wait_on_air([pregen_sup, live_sup], timeout=60)
        time.sleep(settle)
        busy0 = machine_ticks()
        before = [TreeSample(pregen_sup.pid), TreeSample(live_sup.pid)]
        time.sleep(window)
        after = [TreeSample(pregen_sup.pid), TreeSample(live_sup.pid)]
        busy1 = machine_ticks()
        pregen_use, live_use = tree_usage(before[0], after[0]), tree_usage(before[1], after[1])
        ffmpegs = channel_ffmpegs(after[0])
        per_ffmpeg = [pregen_use["per_child"][pid] for pid in ffmpegs.values()]
        n = len(numbers)
        live_ffmpeg = list(channel_ffmpegs(after[1]).values())
        live_copy = live_use["per_child"][live_ffmpeg[0]] if live_ffmpeg else 0.0
        from playout.models import AsRunEntry

        origins = {
            label: sorted(set(AsRunEntry.objects.filter(channel__number__in=group).values_list("origin", flat=True)))
            for label, group in (("pregen", numbers), ("live", [LIVE_NUMBER]))
        }  # fmt: skip
        return {
            "pregen_channels": n,
            "window_s": round(pregen_use["seconds"], 1),
            "pregen_per_channel_cores": (pregen_use["python"] + pregen_use["children"]) / n,
            "pregen_ffmpeg_median_cores": statistics.median(per_ffmpeg) if per_ffmpeg else None,
            "pregen_ffmpeg_max_cores": max(per_ffmpeg) if per_ffmpeg else None,
            "pregen_supervisor_python_cores": pregen_use["python"],
            "pregen_supervisor_total_cores": pregen_use["python"] + pregen_use["children"],
            "live_channel_cores": live_use["python"] + live_use["children"],
            "live_transcoder_cores": live_use["children"] - live_copy,
            "live_copy_ffmpeg_cores": live_copy,
            "live_supervisor_python_cores": live_use["python"],
            "machine_busy_cores": (busy1[0] - busy0[0]) / (busy1[1] - busy0[1]) * os.cpu_count(),
            "as_run_origins": origins,
            "startup": startup,
        }
    finally:
        pregen_sup.stop()
        live_sup.stop()


def read_newest(number: str) -> tuple[int, datetime] | None:
    """(media sequence number, end time) of the newest segment of a channel's playlist on disk.
    Parsed by bench/segment_lag.py rather than `playout.hls` so the bench only needs the files."""
    from django.conf import settings
    from segment_lag import read_newest as newest_on_disk

    return newest_on_disk(Path(settings.HLS_ROOT), number)


def capacity_step(numbers: list[str], window: float, settle: float, segment_seconds: int) -> dict:
    from playout.models import AsRunEntry, ChannelRuntime

    reset_outputs()
    supervisor = SupervisorProcess(numbers, f"step{len(numbers)}")
    try:
        startup = wait_on_air([supervisor], timeout=max(60, len(numbers) * 1.5))
        time.sleep(settle)
        restarts0 = dict(
            ChannelRuntime.objects.filter(channel__number__in=numbers).values_list(
                "channel__number", "restarts"
            )
        )
        window_start = datetime.now(UTC)
        busy0 = machine_ticks()
        before = TreeSample(supervisor.pid)
        first = {number: read_newest(number) for number in numbers}
        lags = {number: [] for number in numbers}
        deadline = time.monotonic() + window
        last = dict(first)
        while time.monotonic() < deadline:
            time.sleep(2)
            now = datetime.now(UTC)
            for number in numbers:
                newest = read_newest(number)
                if newest is not None:
                    last[number] = newest
                    lags[number].append((now - newest[1]).total_seconds())
                else:
                    lags[number].append(float("inf"))
        after = TreeSample(supervisor.pid)
        busy1 = machine_ticks()
        usage = tree_usage(before, after)
        restarts1 = dict(
            ChannelRuntime.objects.filter(channel__number__in=numbers).values_list(
                "channel__number", "restarts"
            )
        )
        off_plan = AsRunEntry.objects.filter(
            channel__number__in=numbers, actual_start__gte=window_start
        ).exclude(origin="pregen").count()  # fmt: skip
        expected = usage["seconds"] / segment_seconds
        per_channel = {}
        for number in numbers:
            added = (last[number][0] - first[number][0]) if first[number] and last[number] else 0
            max_lag = max(lags[number]) if lags[number] else float("inf")
            per_channel[number] = {
                "segments_added": added,
                "max_lag_s": round(max_lag, 2),
                "restarts": restarts1.get(number, 0) - restarts0.get(number, 0),
                "ok": max_lag <= 2 * segment_seconds
                and added >= 0.8 * expected
                and restarts1.get(number, 0) == restarts0.get(number, 0),
            }
        playlists = [s["first_playlist_s"] for s in startup.values() if s["first_playlist_s"] is not None]
        failed = [number for number, row in per_channel.items() if not row["ok"]]
        return {
            "channels": len(numbers),
            "held": not failed and off_plan == 0,
            "failed_channels": failed,
            "not_pregen_as_run_entries": off_plan,
            "expected_segments": round(expected, 1),
            "median_segments_added": statistics.median(r["segments_added"] for r in per_channel.values()),
            "max_lag_s": max(r["max_lag_s"] for r in per_channel.values()),
            "median_lag_s": round(statistics.median(lag for ls in lags.values() for lag in ls), 2),
            "tree_cores": usage["python"] + usage["children"],
            "per_channel_cores": (usage["python"] + usage["children"]) / len(numbers),
            "python_cores": usage["python"],
            "machine_busy_cores": (busy1[0] - busy0[0]) / (busy1[1] - busy0[1]) * os.cpu_count(),
            "startup_playlist_median_s": statistics.median(playlists) if playlists else None,
            "startup_playlist_max_s": max(playlists) if playlists else None,
            "all_on_air_from_launch_s": max(
                (s["from_supervisor_launch_s"] or float("inf")) for s in startup.values()
            ),
            "per_channel": per_channel,
        }
    finally:
        supervisor.stop()


# --- Main -----------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short clips and windows, steps 10,20")
    parser.add_argument("--clip-seconds", type=int, default=None, help="length of each of the 3 clips (60)")
    parser.add_argument("--pregen-channels", type=int, default=10, help="pregen channels in the cpu phase")
    parser.add_argument("--window", type=float, default=None, help="cpu phase measuring window, s (60)")
    parser.add_argument("--steps", default=None, help="channel counts of the capacity phase (10,20,40,60)")
    parser.add_argument("--step-window", type=float, default=None, help="capacity window per step, s (60)")
    parser.add_argument("--settle", type=float, default=None, help="seconds on air before measuring (10)")
    parser.add_argument("--all-steps", action="store_true", help="go on after a step that fails")
    parser.add_argument(
        "--database-server",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    quick = args.quick
    args.clip_seconds = args.clip_seconds or (20 if quick else 60)
    args.window = args.window or (20 if quick else 60)
    args.step_window = args.step_window or (20 if quick else 60)
    args.settle = args.settle if args.settle is not None else (5 if quick else 10)
    steps = [int(step) for step in (args.steps or ("10,20" if quick else "10,20,40,60")).split(",")]
    load_before = os.getloadavg()
    print(
        f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, {os.cpu_count()} cores"
    )

    shutil.rmtree(WORK / "data", ignore_errors=True)
    os.environ["RETROVUE_DATA_DIR"] = str(WORK / "data")
    os.environ["RETROVUE_HLS_ROOT"] = str(WORK / "data" / "hls")
    os.environ["RETROVUE_PREGEN_ROOT"] = str(WORK / "data" / "pregen")
    create_and_set_up(args.database_server, BENCH_DB)
    try:
        started = time.perf_counter()
        clips = make_clips(args.clip_seconds)
        hours = 1 + (args.window + len(steps) * (args.step_window + 60)) / 3600
        setup = build(clips, args.clip_seconds, max([args.pregen_channels, *steps]), hours)
        print(
            f"set up in {time.perf_counter() - started:.0f} s (pre-generation {setup['pregen_encode_seconds']} s)"
        )
        numbers = setup["pregen_numbers"]
        from scheduling.models import StreamProfile

        segment_seconds = StreamProfile.objects.get(name="Retro SD 4:3").segment_seconds

        cpu = cpu_phase(numbers[: args.pregen_channels], args.window, args.settle)
        ratio = cpu["live_channel_cores"] / cpu["pregen_per_channel_cores"]
        pregen_start = [s["first_playlist_s"] for n, s in cpu["startup"].items() if n != LIVE_NUMBER]
        pregen_segment = [s["first_segment_s"] for n, s in cpu["startup"].items() if n != LIVE_NUMBER]
        live_start = cpu["startup"][LIVE_NUMBER]
        print(
            f"\nCPU, {cpu['pregen_channels']} pregen channels + 1 live transcode, {cpu['window_s']} s window"
        )
        print(f"{'':34} {'cores':>8}")
        print(f"{'pregen: per channel (all-in)':34} {cpu['pregen_per_channel_cores']:>8.4f}")
        print(f"{'pregen: one ffmpeg (median)':34} {cpu['pregen_ffmpeg_median_cores']:>8.4f}")
        print(f"{'pregen: supervisor Python, total':34} {cpu['pregen_supervisor_python_cores']:>8.4f}")
        print(f"{'live: channel (all-in)':34} {cpu['live_channel_cores']:>8.3f}")
        print(f"{'live: transcoders':34} {cpu['live_transcoder_cores']:>8.3f}")
        print(f"{'live / pregen ratio':34} {ratio:>8.0f}×")
        print(f"{'machine busy (of 2)':34} {cpu['machine_busy_cores']:>8.2f}")
        print(f"as-run origins: {cpu['as_run_origins']}")
        print(
            f"start → first segment (pregen): median {statistics.median(pregen_segment):.2f} s, "
            f"max {max(pregen_segment):.2f} s; → first playlist: median {statistics.median(pregen_start):.2f} s, "
            f"max {max(pregen_start):.2f} s; live channel: {live_start['first_segment_s']} / "
            f"{live_start['first_playlist_s']} s"
        )

        print("\nCapacity (pregen channels, one supervisor)")
        print(f"{'channels':>8} {'held':>5} {'seg added/exp':>14} {'max lag s':>10} {'cores/ch':>9} "
              f"{'tree':>6} {'python':>7} {'machine':>8} {'start med/max s':>16}")  # fmt: skip
        capacity = []
        for count in steps:
            step = capacity_step(numbers[:count], args.step_window, args.settle, segment_seconds)
            capacity.append(step)
            print(
                f"{count:>8} {'yes' if step['held'] else 'NO':>5} "
                f"{step['median_segments_added']:>6}/{step['expected_segments']:<7} {step['max_lag_s']:>10.2f} "
                f"{step['per_channel_cores']:>9.4f} {step['tree_cores']:>6.2f} {step['python_cores']:>7.2f} "
                f"{step['machine_busy_cores']:>8.2f} "
                f"{step['startup_playlist_median_s']:>7.2f}/{step['startup_playlist_max_s']:<7.2f}"
            )
            if not step["held"]:
                print(
                    f"   failed: {step['failed_channels'][:10]} off-plan as-run: {step['not_pregen_as_run_entries']}"
                )
                if not args.all_steps:
                    break
        held = max((step["channels"] for step in capacity if step["held"]), default=0)
        load_after = os.getloadavg()
        print(f"\nchannels held: {held} (of steps {steps})")
        print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
        summary = {
            "pregen_per_channel_cores": round(cpu["pregen_per_channel_cores"], 5),
            "live_channel_cores": round(cpu["live_channel_cores"], 4),
            "ratio": round(ratio, 1),
            "channels_held": held,
            "first_segment_median_s": statistics.median(pregen_segment),
            "first_playlist_median_s": statistics.median(pregen_start),
            "first_playlist_max_s": max(pregen_start),
            "live_first_playlist_s": live_start["first_playlist_s"],
        }
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        (out / "playout.json").write_text(
            json.dumps(
                {
                    "args": vars(args) | {"database_server": "…"},
                    "cores": os.cpu_count(),
                    "load_before": load_before,
                    "load_after": load_after,
                    "setup": {k: v for k, v in setup.items() if k != "pregen_numbers"},
                    "summary": summary,
                    "cpu": cpu,
                    "capacity": capacity,
                },
                indent=2,
                default=str,
            )
        )
        print(json.dumps(summary))
    finally:
        drop(args.database_server, BENCH_DB)


if __name__ == "__main__":
    main()
