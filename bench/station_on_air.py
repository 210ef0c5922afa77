"""Phase (b) of bench/station.py: N channels on air over a prepared store, with viewers."""

from __future__ import annotations

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
from pathlib import Path

from segment_lag import sample_lags, summarise
from station_common import PROFILES, ROOT, WORK, make_source
from station_processes import SERVER_OUTSIDE_STATION, read_processes, usage

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
    """A free port: from RETROVUE_BENCH_PORTS ("18500-18599", a range agreed for this run on a shared
    box) when set, else any the system gives."""
    import socket

    first, _, last = os.environ.get("RETROVUE_BENCH_PORTS", "").partition("-")
    candidates = range(int(first), int(last or first) + 1) if first else [0]
    for port in candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise RuntimeError(f"no free port in RETROVUE_BENCH_PORTS={os.environ['RETROVUE_BENCH_PORTS']}")


def stop_web(web) -> None:
    """SIGTERM the web server started by `start_web`; its whole process group if it lingers."""
    web.send_signal(signal.SIGTERM)
    try:
        web.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(web.pid, signal.SIGKILL)


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


def on_air_step(
    station: Station, bench, web, base: str, count: int, args, database=None, nginx=None, make_viewers=None
) -> dict:
    """`count` channels on air in one supervisor, viewers on, for `args.window` s. `make_viewers(base,
    numbers, target)` starts the viewers (default: `Viewers`, a player per channel and a few TS
    readers in threads of this process); what it returns has `stop() -> dict` and may name its
    processes in `roots` ({pid: part}) so their CPU is counted apart."""
    from playout.models import AsRunEntry, ChannelRuntime

    numbers = station.numbers[:count]
    target = station.profile.segment_seconds
    if make_viewers is None:

        def make_viewers(base, numbers, target):
            return Viewers(base, numbers, args.ts_readers, target)

    bench.reset_outputs()
    supervisor = bench.SupervisorProcess(numbers, f"station{count}")
    viewers = None
    try:
        startup = bench.wait_on_air([supervisor], timeout=max(60, count * 1.5))
        time.sleep(args.settle)
        viewers = make_viewers(base, numbers, target)
        time.sleep(min(5.0, args.settle))  # let the viewers' first fetches land before measuring
        window_start = datetime.now(UTC)
        roots = {supervisor.pid: "supervisor", web.pid: "web (gunicorn)", **getattr(viewers, "roots", {})}
        if nginx is not None:
            roots[nginx.process.pid] = NGINX_PART
        if database is not None:
            roots[database.process.pid] = "database: this station's private server (every process)"
        before, busy0, started = read_processes(), bench.machine_ticks(), time.monotonic()
        samples = sample_lags(numbers, args.window, bench.read_newest)
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
        lag = summarise(samples, target)
        station_parts = {k: v for k, v in parts.items() if not k.startswith("load generator")}
        ours = sum(v["cores"] for k, v in station_parts.items() if not k.endswith(SERVER_OUTSIDE_STATION))
        playlists = [s["first_playlist_s"] for s in startup.values() if s["first_playlist_s"] is not None]
        return {
            "channels": count,
            "held": not lag["behind"],
            "behind": lag["behind"],
            "window_s": round(seconds, 1),
            "max_lag_s": lag["max_lag_s"],
            "median_lag_s": lag["median_lag_s"],
            "longest_stall_s": lag["longest_stall_s"],
            "lag_by_channel": lag["by_channel"],
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
        if viewers is not None:
            viewers.stop()  # again after a normal stop: harmless; after an error: no viewer left behind
        supervisor.stop()


NGINX_PART = "nginx (HLS from disk, the rest to the web)"


def start_nginx(web_port: int, stream_auth_rules: str = "", port: int | None = None):
    """The shipped deploy/nginx.conf in front of the web server, as production runs it: HLS
    playlists and segments straight from RETROVUE_HLS_ROOT, everything else (the TS readers)
    proxied. Rendered and run by the tests' runner, so the bench airs the config operators get;
    `stream_auth_rules` are lines for its $retrovue_stream_auth map (e.g. `"~^/hls/" on;`); `port`
    where it listens (default: any free one)."""
    from playout.hls import hls_root
    from tests.deploy import nginx_runner

    binary = nginx_runner.nginx_binary()
    if binary is None:
        raise SystemExit("--viewers-via nginx: no nginx binary found")
    prefix = WORK / "nginx"
    shutil.rmtree(prefix, ignore_errors=True)
    prefix.mkdir(parents=True)
    port = port or free_port()
    conf = nginx_runner.render(
        prefix, port=port, upstream_port=web_port, hls_root=hls_root(), stream_auth_rules=stream_auth_rules
    )
    return nginx_runner.start(binary, prefix, conf, port)


def on_air_phase(args, encode_rows: list[dict], database=None) -> dict:
    bench = playout_bench()
    # The bench measures what channels cost, not placement: the one supervisor takes every channel
    # of the step whatever it estimates them to cost. (It costs a channel whose next ten minutes are
    # not all pre-generated as a live transcode; when a loaded box slows the store's preparation,
    # the horizon left by the time the steps run can fall under that, and the supervisor then took
    # 3 of 25 channels.) As-run rows not from the store are still counted in the table.
    os.environ.setdefault("RETROVUE_PLAYOUT_CAPACITY", "10000")
    # The store is set-up, not what this phase measures (no encoder runs in a window): its encodes
    # run at normal priority. At pre-generation's nice 19 and idle I/O class, beside other users'
    # work on this shared box (load average 50–250), 9 of 156 files were made in ten minutes.
    from playout import encoder_process

    encoder_process.NICENESS, encoder_process.IDLE_IO_CLASS = 0, "2"
    encoder_process.polite_prefix.cache_clear()
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
    nginx = None
    results = []
    try:
        wait_for_web(base)
        if args.viewers_via == "nginx":
            nginx = start_nginx(port)
            base = f"http://127.0.0.1:{nginx.port}"
        print(f"{'channels':>8} {'held':>5} {'max lag':>8} {'stall':>6} {'cores/ch':>9} {'station':>8} "
              f"{'shared db+redis':>15} {'loadgen':>8} {'machine':>8} {'PSS MB':>7} {'store MB':>9}")  # fmt: skip
        plan = list(steps)
        while plan:
            count = plan.pop(0)
            station.grow(count)
            step = on_air_step(station, bench, web, base, count, args, database, nginx)
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
        if nginx is not None:
            nginx.stop()
        stop_web(web)
    sd = [
        row
        for row in encode_rows
        if row["profile"] == next(iter(PROFILES))
        and not row["bug"]
        and row.get("method", "full encode") == "full encode"
    ]
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
        f"through {'the shipped nginx config' if args.viewers_via == 'nginx' else 'the web server'}; "
        f"{args.window:g} s window per step. Cores per part of the station:",
        "",
        "| channels | held | max lag s | longest stall s | supervisor | channel ffmpegs | web | nginx | db (ours) "
        "| db server + redis (shared) | load generator (apart) | per channel | station PSS MB (RSS) | store MB (files) | machine busy (of N cores) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for step in result["steps"]:
        parts = step["parts"]

        def cores(name: str, parts=parts) -> str:
            return f"{parts.get(name, {}).get('cores', 0.0):.3f}"

        shared = step["shared_servers_cores"]
        lines.append(
            f"| {step['channels']} | {'yes' if step['held'] else '**no**'} | {step['max_lag_s']} | "
            f"{step['longest_stall_s']} | {cores('supervisor (Python: feed, planner)')} | {cores('channel ffmpegs')} | "
            f"{cores('web (gunicorn)')} | {cores(NGINX_PART)} | {float(ours_db(parts)):.3f} | {shared:.3f} | "
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
