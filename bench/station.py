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
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
WORK = Path("/tmp/retrovue-bench-station")

# name: (size, rate). Library-like files: H.264 High with B-frames and x264's default keyint/scenecut.
# Bitrates as a web or Blu-ray rip has them: grain this strong at a constant quality would make
# 35 Mbit/s files nobody keeps, so the source encode is capped the way release encodes are.
SOURCES = {
    "720p29.97": ("1280x720", "30000/1001", 6000),
    "1080p24": ("1920x1080", "24000/1001", 10000),
}

# Profiles a station would run. The product ships one ("Retro SD 4:3", every demo channel uses it);
# the HD ones are what an operator would add in the admin, at common IPTV bitrates.
PROFILES = {
    "SD 640x480 1500k": dict(width=640, height=480, video_bitrate_kbps=1500),
    "HD 1280x720 3000k": dict(width=1280, height=720, video_bitrate_kbps=3000),
    "FHD 1920x1080 6000k": dict(width=1920, height=1080, video_bitrate_kbps=6000),
}


def stream_profile(name: str):
    from scheduling.models import StreamProfile

    return StreamProfile(
        name=name, frame_rate=Decimal("29.97"), audio_bitrate_kbps=128, segment_seconds=2, **PROFILES[name]
    )


def setup_django() -> None:
    os.environ.setdefault("RETROVUE_DATA_DIR", str(WORK / "data"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retrovue.settings")
    os.environ["RETROVUE_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def ffmpeg() -> str:
    from django.conf import settings

    return settings.RETROVUE_FFMPEG


# --- Sources ----------------------------------------------------------------------------------------


def make_source(name: str, seconds: int) -> Path:
    """A grainy, moving source: testsrc2 (scrolling pattern) under a zooming Mandelbrot that
    travels across the frame, with strong per-frame uniform noise (grain, which x264 cannot
    predict) and stereo audio that changes over time."""
    from retrovue.subprocesses import run_command

    size, rate, kbps = SOURCES[name]
    width, height = (int(value) for value in size.split("x"))
    path = WORK / "sources" / f"{name}-{seconds}s.mkv"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    overlay = f"{width // 3}x{height // 3}"
    graph = (
        f"testsrc2=size={size}:rate={rate},hue=H=t/3[bg];"
        f"mandelbrot=size={overlay}:rate={rate}[fg];"
        f"[bg][fg]overlay=x='(W-w)*(0.5+0.5*sin(t/2))':y='(H-h)*(0.5+0.5*cos(t/3))',"
        "noise=alls=20:allf=t+u,format=yuv420p[v]"
    )
    audio = "aevalsrc=0.3*sin(2*PI*(220+40*sin(t))*t)|0.3*sin(2*PI*(330+60*cos(t/2))*t):s=48000"
    started = time.perf_counter()
    temporary = path.with_suffix(".tmp.mkv")
    argv = [ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
            "-filter_complex", graph, "-f", "lavfi", "-i", audio, "-map", "[v]", "-map", "0:a",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "superfast",
            "-b:v", f"{kbps}k", "-maxrate", f"{kbps * 3 // 2}k", "-bufsize", f"{kbps * 2}k",
            "-c:a", "aac", "-b:a", "192k", "-ac", "2", str(temporary)]  # fmt: skip
    # -map 0:a: the lavfi audio is input 0 (the filter graph has no input file).
    run_command(argv, timeout=3600)
    temporary.rename(path)
    print(f"made {path.name} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s")
    return path


def make_bug() -> Path:
    """A channel bug: a 200×80 semi-transparent PNG, as an operator would upload."""
    from retrovue.subprocesses import run_command

    path = WORK / "bug.png"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        run_command([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                     "-i", "color=c=white@0.7:s=200x80,format=rgba,drawbox=x=10:y=10:w=180:h=60:c=blue@0.8:t=fill",
                     "-frames:v", "1", str(path)], timeout=60)  # fmt: skip
    return path


# --- Phase (a): encode ------------------------------------------------------------------------------


def encode_once(source: Path, in_ms: int, out_ms: int, profile, bug, output: Path) -> dict:
    """One pre-generation encode, as the `pregen` queue runs it; its CPU from RUSAGE_CHILDREN."""
    from playout import ffmpeg_commands as commands
    from playout.encoder_process import encoder_threads, run_encoder, with_thread_limit
    from playout.pregen_store import encoder_preset

    argv = commands.pregen_argv(str(source), in_ms, out_ms, profile, bug, output, preset=encoder_preset())
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run_encoder(with_thread_limit(argv, encoder_threads()), timeout=3600)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    content = float(commands.piece_timing(out_ms - in_ms, profile).seconds)
    return {"cpu_s": cpu, "wall_s": wall, "content_s": content, "bytes": output.stat().st_size}


def encode_phase(args) -> list[dict]:
    from playout import ffmpeg_commands as commands
    from playout.encoder_process import encoder_threads
    from playout.pregen_store import encoder_preset

    print(f"\n(a) ENCODE: preset {encoder_preset()}, {encoder_threads()} threads, nice 19 / idle I/O")
    sources = {name: make_source(name, args.source_seconds) for name in SOURCES}
    bug = commands.Bug(str(make_bug()))
    # An act cut off-keyframe, as a break log places it: in at 3.7 s, `--cut` seconds long.
    in_ms = 3_700
    out_ms = in_ms + int(args.cut * 1000)
    output = WORK / "encoded.ts"
    rows = []
    header = f"{'profile':<22} {'source':<10} {'bug':<4} {'CPU-s/s':>8} {'× real time':>12} {'Mbit/s':>7}"
    print(header)
    for profile_name in PROFILES:
        profile = stream_profile(profile_name)
        for source_name, source in sources.items():
            for with_bug in (False, True):
                if with_bug and not (args.all_bugs or profile_name == next(iter(PROFILES))):
                    continue
                runs = [
                    encode_once(source, in_ms, out_ms, profile, bug if with_bug else None, output)
                    for _ in range(args.reps)
                ]
                row = {
                    "profile": profile_name,
                    "source": source_name,
                    "bug": with_bug,
                    "content_s": runs[0]["content_s"],
                    "cpu_s_per_content_s": statistics.median(r["cpu_s"] / r["content_s"] for r in runs),
                    "realtime_multiple": statistics.median(r["content_s"] / r["wall_s"] for r in runs),
                    "mbit_s": runs[0]["bytes"] * 8 / runs[0]["content_s"] / 1e6,
                    "runs": runs,
                }
                rows.append(row)
                print(f"{profile_name:<22} {source_name:<10} {'yes' if with_bug else 'no':<4} "
                      f"{row['cpu_s_per_content_s']:>8.3f} {row['realtime_multiple']:>12.2f} {row['mbit_s']:>7.2f}")  # fmt: skip
    output.unlink(missing_ok=True)
    return rows


def encode_markdown(rows: list[dict], args) -> str:
    lines = [
        f"Encode, full pre-generation (`pregen_argv`), {args.cut:g} s cut at 3.7 s, median of {args.reps}:",
        "",
        "| profile | source | bug | CPU-s per s of content | wall × real time | output Mbit/s |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['profile']} | {row['source']} | {'yes' if row['bug'] else 'no'} | "
            f"{row['cpu_s_per_content_s']:.3f} | {row['realtime_multiple']:.2f} | {row['mbit_s']:.2f} |"
        )
    return "\n".join(lines)


# --- Phase (b): on air -----------------------------------------------------------------------------

BENCH_DB = "retrovue_bench_station"
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
# One cycle of every channel's break log (50 s): 40 % its own content, 60 % shared with every other
# channel (commercials, a bumper, a promo and a rerun segment), as a network shares them.
CYCLE = (
    ("unique", "content", 20_000),
    ("spot", "commercial", 5_000),
    ("spot", "bumper", 5_000),
    ("rerun", "content", 15_000),
    ("spot", "promo", 5_000),
)
CYCLE_MS = sum(length for _, _, length in CYCLE)
UNIQUE_SHARE = sum(length for role, _, length in CYCLE if role == "unique") / CYCLE_MS
# Parts whose processes serve more than this station (the database and broker servers): reported
# apart, not counted in the station's own CPU and memory.
SERVER_OUTSIDE_STATION = " (whole server, reported apart)"
SHARED_SPOTS = 4
SHARED_RERUNS = 2
FIRST_NUMBER = 201


def playout_bench():
    """bench/playout.py's supervisor, start-up and playlist helpers (loaded by path: its module
    name would shadow the product's `playout` package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_playout", ROOT / "bench" / "playout.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_playout"] = module
    spec.loader.exec_module(module)
    module.WORK = WORK  # its logs and its check for leftover ffmpegs
    return module


class Station:
    """The throwaway station: shared items, per-channel items, the break log, the ready store."""

    def __init__(self, source: Path, source_ms: int, unique_cuts: int, horizon: timedelta):
        from scheduling.models import Channel, StreamProfile
        from scheduling.models.channels import default_stream_profile_id

        self.profile = StreamProfile.objects.get(pk=default_stream_profile_id())
        self.source, self.source_ms = source, source_ms
        self.unique_cuts = unique_cuts
        self.horizon = horizon
        self.numbers: list[str] = []
        self.templates: dict = {}  # unique cut k → channel 1's encoded row (PregenPiece)
        self.encode_cpu_s = 0.0
        self.encode_content_s = 0.0
        self.spots = [self._item(f"Spot {n}") for n in range(SHARED_SPOTS)]
        self.reruns = [self._item(f"Rerun {n}") for n in range(SHARED_RERUNS)]
        Channel.objects.all().delete()  # a fresh database has none; a demo station would skew it

    def _item(self, title: str):
        from catalog.models import MediaFile
        from tests.factories import EpisodeFactory

        item = EpisodeFactory(duration_ms=self.source_ms, title=title)
        MediaFile.objects.create(
            playable=item, position=0, local_path=str(self.source), state="normal",
            duration_ms=self.source_ms, width=1280, height=720, video_codec="h264",
            audio_codec="aac", container="mkv",
        )  # fmt: skip
        return item

    def cut(self, role: str, index: int, channel_item, k: int) -> tuple:
        """(item, in ms) of one slot: spots and reruns rotate through the shared items."""
        if role == "unique":
            return channel_item, 1_000 + k * 1_500
        if role == "rerun":
            return self.reruns[index % SHARED_RERUNS], 30_000
        return self.spots[index % SHARED_SPOTS], 2_000 + 7_000 * (index % SHARED_SPOTS)

    def grow(self, count: int) -> None:
        """Add channels until there are `count`, with their break log and ready pieces."""
        from scheduling.models import Channel, Piece, ProgramEntry

        now = datetime.now(UTC).replace(microsecond=0)
        for index in range(len(self.numbers), count):
            number = str(FIRST_NUMBER + index)
            channel = Channel.objects.create(
                number=number, name=f"Station {number}", time_zone="UTC", stream_profile=self.profile
            )
            own = self._item(f"Own {number}")
            # Staggered, so piece changes (and the store reads they cause) don't all coincide.
            start = (
                now - timedelta(milliseconds=CYCLE_MS) + timedelta(milliseconds=(index * 7_300) % CYCLE_MS)
            )
            programs, slots, cycle = [], [], 0
            while start < now + self.horizon:
                slot_start = start
                for sequence, (role, kind, length) in enumerate(CYCLE):
                    item, in_ms = self.cut(role, cycle + index + sequence, own, cycle % self.unique_cuts)
                    stop = slot_start + timedelta(milliseconds=length)
                    slots.append((len(programs), sequence, kind, item, in_ms, length, slot_start, stop))
                    slot_start = stop
                programs.append(
                    ProgramEntry(channel=channel, start=start, stop=slot_start, title=f"Cycle {cycle}")
                )
                start, cycle = slot_start, cycle + 1
            programs = ProgramEntry.objects.bulk_create(programs)
            Piece.objects.bulk_create(
                Piece(channel=channel, program=programs[p], sequence=seq, start=begin, stop=end, kind=kind,
                      playable=item, in_ms=in_ms, out_ms=in_ms + length)
                for p, seq, kind, item, in_ms, length, begin, end in slots
            )  # fmt: skip
            self.numbers.append(number)
            self._make_ready(channel, own)

    def _make_ready(self, channel, own) -> None:
        """Encode what no channel had yet (shared cuts, channel 1's own cuts) with the product's
        encoder; give every later channel's own cuts a copy of channel 1's file of the same cut, so
        the store holds one file per unique piece without encoding them all again."""
        from playout import pregen
        from playout.models import PregenPiece, PregenStatus
        from playout.pregen_encode import encode
        from playout.pregen_store import file_path, relative_path
        from scheduling.models import Piece

        for piece in Piece.objects.filter(channel=channel).order_by("start"):
            row = pregen.piece_for(piece)
            if row.status == PregenStatus.READY:
                continue
            k = (row.in_ms - 1_000) // 1_500 if piece.playable_id == own.pk else None
            template = self.templates.get(k) if k is not None else None
            if template is None:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                row = encode(row)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                if row is None or row.status != PregenStatus.READY:
                    raise RuntimeError(f"pre-generation failed: {row and row.error}")
                self.encode_cpu_s += after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
                self.encode_content_s += (row.out_ms - row.in_ms) / 1000
                if k is not None:
                    self.templates[k] = row
                continue
            final = file_path(row)
            final.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file_path(template), final)
            model = template
            PregenPiece.objects.filter(pk=row.pk).update(
                status=PregenStatus.READY, path=relative_path(row), duration_ms=model.duration_ms,
                size_bytes=final.stat().st_size, video_codec=model.video_codec, audio_codec=model.audio_codec,
                width=model.width, height=model.height, frame_rate=model.frame_rate, ready_at=datetime.now(UTC),
            )  # fmt: skip

    def store_bytes(self) -> tuple[int, int]:
        from playout.pregen_store import pregen_store

        files = [path for path in pregen_store().rglob("*.ts") if path.is_file()]
        return sum(path.stat().st_size for path in files), len(files)


class PrivatePostgres:
    """A PostgreSQL server of the benchmark's own, so the database's CPU is all the station's and its
    connections never crowd a shared server: the supervisor keeps about one per channel and each
    gunicorn thread serving viewers one (up to 2 workers × 32 threads): 173 server processes at 100
    channels."""

    def __init__(self, port: int, max_connections: int):
        binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if not binaries:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.bin = binaries[-1]
        self.port = port
        self.folder = Path(f"/tmp/retrovue-bench-station-pg-{port}")
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir()
        shutil.chown(self.folder, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*as_postgres, str(self.bin / "initdb"), "-D", str(self.folder / "data"), "-A", "trust",
                        "-U", "postgres", "--no-sync"], check=True, capture_output=True, timeout=120)  # fmt: skip
        self.log = (WORK / "postgres.log").open("ab")
        self.process = subprocess.Popen(
            [*as_postgres, str(self.bin / "postgres"), "-D", str(self.folder / "data"), "-p", str(port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}",
             "-c", f"max_connections={max_connections}"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        import psycopg

        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(self.url).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"the private PostgreSQL did not start; see {self.log.name}") from None
                time.sleep(0.5)

    def stop(self) -> None:
        from django.db import connections

        connections.close_all()
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D",
                        str(self.folder / "data"), "stop", "-m", "fast"], capture_output=True, timeout=120)  # fmt: skip
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


# --- /proc accounting --------------------------------------------------------------------------------


def read_processes() -> dict[tuple[int, int], dict]:
    """(pid, start time) → ppid, own CPU ticks, reaped children's ticks, RSS bytes, command line."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry.name}/stat").read_text()
            command = (
                Path(f"/proc/{entry.name}/cmdline")
                .read_bytes()
                .replace(b"\0", b" ")
                .decode("utf-8", "replace")
            )
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()
        found[(int(entry.name), int(fields[19]))] = {
            "pid": int(entry.name),
            "comm": text[text.find("(") + 1 : text.rfind(")")],
            "ppid": int(fields[1]),
            "ticks": int(fields[11]) + int(fields[12]),
            "reaped": int(fields[13]) + int(fields[14]),
            "rss": int(fields[21]) * PAGE,
            "command": command.strip(),
        }
    return found


def proportional_bytes(pid: int) -> int | None:
    """Proportional set size: shared pages (PostgreSQL's shared buffers, ffmpeg's libraries)
    divided among the processes that map them, so a sum over processes doesn't count them N times."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def classify(process: dict, by_pid: dict[int, dict], roots: dict[int, str]) -> str | None:
    """Which part of the station a process is (None: not the station's, e.g. another user's)."""
    if process["pid"] == os.getpid():
        return "load generator (this script, apart)"
    pid, hops = process["pid"], 0
    while pid in by_pid and hops < 20:
        if pid in roots:
            root = roots[pid]
            if root == "supervisor":
                if process["pid"] == pid:
                    return "supervisor (Python: feed, planner)"
                if "feed.ffconcat" in process["command"]:
                    return "channel ffmpegs"
                return "supervisor: other children"
            return root
        pid, hops = by_pid[pid]["ppid"], hops + 1
    command = process["command"]
    if process["comm"] == "redis-server":
        return f"broker: redis-server{SERVER_OUTSIDE_STATION}"
    if process["comm"].startswith("postgres") or command.startswith("postgres"):
        if f" {BENCH_DB} " in command:
            return "database: this station's backends"
        if command.startswith("postgres: ") and len(command.split()) >= 4 and "launcher" not in command:
            return None  # another user's backend on the shared server
        return f"database: server processes{SERVER_OUTSIDE_STATION}"
    return None


def usage(before: dict, after: dict, seconds: float, roots: dict[int, str]) -> dict[str, dict]:
    """Cores and RSS per part of the station between two /proc readings."""
    by_pid = {row["pid"]: row for row in after.values()}
    parts: dict[str, dict] = {}
    for key, row in after.items():
        part = classify(row, by_pid, roots)
        if part is None:
            continue
        earlier = before.get(key)
        ticks = row["ticks"] - (earlier["ticks"] if earlier else 0)
        if row["pid"] in roots:  # children that exited inside the window
            ticks += row["reaped"] - (earlier["reaped"] if earlier else 0)
        entry = parts.setdefault(part, {"cores": 0.0, "rss_mb": 0.0, "pss_mb": 0.0, "processes": 0})
        entry["cores"] += ticks / TICK / seconds
        entry["rss_mb"] += row["rss"] / 1e6
        entry["pss_mb"] += (proportional_bytes(row["pid"]) or row["rss"]) / 1e6
        entry["processes"] += 1
    return parts


# --- Viewers -----------------------------------------------------------------------------------------


class Viewers:
    """An HLS player per channel (playlist, then each new segment, every target duration) and a few
    MPEG-TS readers, all through the web server, in threads of this process."""

    def __init__(self, base: str, numbers: list[str], ts_readers: int, target: float):
        import threading

        self.base, self.target = base, target
        self.stop_event = threading.Event()
        self.counts = {"segments": 0, "segment_bytes": 0, "playlists": 0, "errors": 0, "ts_bytes": 0}
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._hls, args=(n,), daemon=True) for n in numbers]
        self.threads += [
            threading.Thread(target=self._ts, args=(n,), daemon=True) for n in numbers[:ts_readers]
        ]
        for thread in self.threads:
            thread.start()

    def _add(self, **counts) -> None:
        with self.lock:
            for name, value in counts.items():
                self.counts[name] += value

    def _hls(self, number: str) -> None:
        import urllib.request

        seen = None
        while not self.stop_event.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(f"{self.base}/hls/{number}/index.m3u8", timeout=10) as response:
                    lines = [
                        line for line in response.read().decode().splitlines() if line and line[0] != "#"
                    ]
                self._add(playlists=1)
                if lines and lines[-1] != seen:
                    seen = lines[-1]
                    with urllib.request.urlopen(f"{self.base}/hls/{number}/{seen}", timeout=10) as response:
                        self._add(segments=1, segment_bytes=len(response.read()))
            except OSError:
                self._add(errors=1)
            self.stop_event.wait(max(0.1, self.target - (time.monotonic() - started)))

    def _ts(self, number: str) -> None:
        import urllib.request

        while not self.stop_event.is_set():
            try:
                with urllib.request.urlopen(f"{self.base}/iptv/channel/{number}.ts", timeout=10) as response:
                    while not self.stop_event.is_set() and (chunk := response.read(65536)):
                        self._add(ts_bytes=len(chunk))
            except OSError:
                self._add(errors=1)
                self.stop_event.wait(1)

    def stop(self) -> dict:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=15)
        return dict(self.counts)


def start_web(port: int):
    log = (WORK / "web.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "retrovue", "web", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_web(base: str, timeout: float = 60) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/hls/0/index.m3u8", timeout=2)
        except urllib.error.HTTPError:
            return  # answering (404 for a channel that does not exist)
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the web server did not answer; see web.log")


def on_air_step(station: Station, bench, web, base: str, count: int, args, database=None) -> dict:
    """`count` channels on air in one supervisor, viewers on, for `args.window` s."""
    from playout.models import AsRunEntry, ChannelRuntime

    numbers = station.numbers[:count]
    target = station.profile.segment_seconds
    bench.reset_outputs()
    supervisor = bench.SupervisorProcess(numbers, f"station{count}")
    try:
        startup = bench.wait_on_air([supervisor], timeout=max(60, count * 1.5))
        time.sleep(args.settle)
        viewers = Viewers(base, numbers, args.ts_readers, target)
        time.sleep(min(5.0, args.settle))  # let the viewers' first fetches land before measuring
        window_start = datetime.now(UTC)
        roots = {supervisor.pid: "supervisor", web.pid: "web (gunicorn)"}
        if database is not None:
            roots[database.process.pid] = "database: this station's private server (every process)"
        before, busy0, started = read_processes(), bench.machine_ticks(), time.monotonic()
        first = {number: bench.read_newest(number) for number in numbers}
        last, lags, stalls = (
            dict(first),
            {number: [] for number in numbers},
            {number: 0.0 for number in numbers},
        )
        grew_at = {number: time.monotonic() for number in numbers}
        while time.monotonic() - started < args.window:
            time.sleep(1)
            now, tick = datetime.now(UTC), time.monotonic()
            for number in numbers:
                newest = bench.read_newest(number)
                if newest is None:
                    lags[number].append(float("inf"))
                    continue
                if last[number] is None or newest[0] != last[number][0]:
                    grew_at[number] = tick
                last[number] = newest
                lags[number].append((now - newest[1]).total_seconds())
                stalls[number] = max(stalls[number], tick - grew_at[number])
        seconds = time.monotonic() - started
        after, busy1 = read_processes(), bench.machine_ticks()
        counts = viewers.stop()
        parts = usage(before, after, seconds, roots)
        not_pregen = (
            AsRunEntry.objects.filter(channel__number__in=numbers, actual_start__gte=window_start)
            .exclude(origin="pregen")
            .count()
        )
        restarts = sum(
            ChannelRuntime.objects.filter(channel__number__in=numbers).values_list("restarts", flat=True)
        )
        behind = []
        for number in numbers:
            max_lag = max(lags[number]) if lags[number] else float("inf")
            # Late: the newest segment ends more than 1.5 target durations before now. Stopped:
            # no new segment for longer than that plus one poll.
            if max_lag > 1.5 * target or stalls[number] > 1.5 * target + 1.0:
                behind.append(number)
        station_parts = {k: v for k, v in parts.items() if not k.startswith("load generator")}
        ours = sum(v["cores"] for k, v in station_parts.items() if not k.endswith(SERVER_OUTSIDE_STATION))
        playlists = [s["first_playlist_s"] for s in startup.values() if s["first_playlist_s"] is not None]
        all_lags = [lag for values in lags.values() for lag in values]
        return {
            "channels": count,
            "held": not behind,
            "behind": behind,
            "window_s": round(seconds, 1),
            "max_lag_s": round(max(all_lags), 2) if all_lags else None,
            "median_lag_s": round(statistics.median(all_lags), 2) if all_lags else None,
            "longest_stall_s": round(max(stalls.values()), 2),
            "not_pregen_as_run": not_pregen,
            "restarts": restarts,
            "viewers": counts,
            "parts": parts,
            "station_cores": ours,
            "per_channel_cores": ours / count,
            "shared_servers_cores": sum(
                v["cores"] for k, v in station_parts.items() if k.endswith(SERVER_OUTSIDE_STATION)
            ),
            "station_rss_mb": sum(
                v["rss_mb"] for k, v in station_parts.items() if not k.endswith(SERVER_OUTSIDE_STATION)
            ),
            "station_pss_mb": sum(
                v["pss_mb"] for k, v in station_parts.items() if not k.endswith(SERVER_OUTSIDE_STATION)
            ),
            "machine_busy_cores": (busy1[0] - busy0[0]) / (busy1[1] - busy0[1]) * os.cpu_count(),
            "startup_playlist_max_s": max(playlists) if playlists else None,
        }
    finally:
        supervisor.stop()


def on_air_phase(args, encode_rows: list[dict], database=None) -> dict:
    bench = playout_bench()
    source = make_source("720p29.97", args.source_seconds)
    steps = [int(step) for step in args.steps.split(",")]
    per_step = args.settle + 10 + args.window + 60
    horizon = timedelta(seconds=max(20 * 60, per_step * (len(steps) + args.extra_steps) + 300))
    started = time.perf_counter()
    station = Station(source, args.source_seconds * 1000, args.unique_cuts, horizon)
    station.grow(steps[0])
    print(f"\n(b) ON AIR: store prepared for {steps[0]} channels in {time.perf_counter() - started:.0f} s")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = start_web(port)
    results = []
    try:
        wait_for_web(base)
        print(f"{'channels':>8} {'held':>5} {'max lag':>8} {'stall':>6} {'cores/ch':>9} {'station':>8} "
              f"{'shared db+redis':>15} {'loadgen':>8} {'machine':>8} {'PSS MB':>7} {'store MB':>9}")  # fmt: skip
        plan = list(steps)
        while plan:
            count = plan.pop(0)
            station.grow(count)
            step = on_air_step(station, bench, web, base, count, args, database)
            step["store_bytes"], step["store_files"] = station.store_bytes()
            results.append(step)
            loadgen = step["parts"].get("load generator (this script, apart)", {}).get("cores", 0.0)
            print(f"{count:>8} {'yes' if step['held'] else 'NO':>5} {step['max_lag_s']:>8} "
                  f"{step['longest_stall_s']:>6} {step['per_channel_cores']:>9.4f} {step['station_cores']:>8.3f} "
                  f"{step['shared_servers_cores']:>15.3f} {loadgen:>8.3f} {step['machine_busy_cores']:>8.2f} "
                  f"{step['station_pss_mb']:>7.0f} {step['store_bytes'] / 1e6:>9.0f}")  # fmt: skip
            if not step["held"]:
                print(
                    f"   behind: {step['behind'][:10]}; not pre-generated as-run rows: {step['not_pregen_as_run']}"
                )
                break
            (WORK / "on-air-steps.json").write_text(json.dumps(results, indent=2, default=str))  # if stopped
            if not plan and step["held"] and len(results) < len(steps) + args.extra_steps:
                plan.append(count * 2)  # every step held: keep going until one doesn't
    finally:
        web.send_signal(signal.SIGTERM)
        try:
            web.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(web.pid, signal.SIGKILL)
    sd = [row for row in encode_rows if row["profile"] == next(iter(PROFILES)) and not row["bug"]]
    encode_cost = (
        statistics.mean(row["cpu_s_per_content_s"] for row in sd)
        if sd
        else station.encode_cpu_s / max(station.encode_content_s, 1e-9)
    )
    return {
        "steps": results,
        "unique_share": UNIQUE_SHARE,
        "cycle": CYCLE,
        "store_encode_cpu_s_per_s": station.encode_cpu_s / max(station.encode_content_s, 1e-9),
        "encode_cost_sd_cpu_s_per_s": encode_cost,
        "held": max((step["channels"] for step in results if step["held"]), default=0),
        "first_behind": next((step["channels"] for step in results if not step["held"]), None),
    }


def ours_db(parts: dict) -> float:
    return sum(v["cores"] for k, v in parts.items() if k.startswith("database: this station"))


def on_air_markdown(result: dict, args) -> str:
    lines = [
        f"On air: one supervisor, the SD profile, {UNIQUE_SHARE:.0%} of air time unique per channel, "
        f"{1 - UNIQUE_SHARE:.0%} shared; an HLS viewer per channel and {args.ts_readers} TS readers "
        f"through the web server; {args.window:g} s window per step. Cores per part of the station:",
        "",
        "| channels | held | max lag s | longest stall s | supervisor | channel ffmpegs | web | db (ours) "
        "| db server + redis (shared) | load generator (apart) | per channel | station PSS MB (RSS) | store MB (files) | machine busy (of N cores) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for step in result["steps"]:
        parts = step["parts"]

        def cores(name: str, parts=parts) -> str:
            return f"{parts.get(name, {}).get('cores', 0.0):.3f}"

        shared = step["shared_servers_cores"]
        lines.append(
            f"| {step['channels']} | {'yes' if step['held'] else '**no**'} | {step['max_lag_s']} | "
            f"{step['longest_stall_s']} | {cores('supervisor (Python: feed, planner)')} | {cores('channel ffmpegs')} | "
            f"{cores('web (gunicorn)')} | {float(ours_db(parts)):.3f} | {shared:.3f} | "
            f"{cores('load generator (this script, apart)')} | {step['per_channel_cores']:.4f} | "
            f"{step['station_pss_mb']:.0f} ({step['station_rss_mb']:.0f}) | "
            f"{step['store_bytes'] / 1e6:.0f} ({step['store_files']}) | {step['machine_busy_cores']:.2f} |"
        )
    held = [step for step in result["steps"] if step["held"]]
    if held:
        on_air = held[-1]["per_channel_cores"]
        encode = result["encode_cost_sd_cpu_s_per_s"]
        all_in = on_air + encode * UNIQUE_SHARE
        lines += [
            "",
            f"All-in per channel = on-air share + encode cost × unique share = {on_air:.4f} + "
            f"{encode:.3f} × {UNIQUE_SHARE:.2f} = **{all_in:.3f} core** (full encode, SD profile, at "
            f"{held[-1]['channels']} channels; shared pieces' encode, spread over every channel, left out).",
        ]
    lines.append(
        f"\nChannels held: {result['held']}; first step that fell behind: {result['first_behind'] or 'none reached'}."
    )
    return "\n".join(lines)


# --- Main -------------------------------------------------------------------------------------------


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
