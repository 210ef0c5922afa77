"""Acceptance run: the README's run command puts the demo station on the air, and real clients play it.

Starts `./bin/run` (the embedded default: SQLite, the folder broker, the demo station on a fresh
data folder) on a free port with a throwaway data folder, waits for channel 3's playlist, then runs
the clients of the playout issue against it, at the same time:

  hls        `tests/tools/hls_live_check.py <playlist> <--live-seconds>`: RFC 8216 rules over time
  ffmpeg     `ffmpeg -v error -xerror -t 60 -i <playlist> -f null -`, started when the break log
             has at least two piece changes (program → bumper → commercial …) in the next 60 s, so
             the decode crosses source changes; the pieces crossed are reported
  ts         `tests/tools/tscheck.py /iptv/channel/3.ts 30` (status, MIME, first byte, 188-byte sync)
  browser    `bench/watch_playback.py /watch/3 --seconds 60` in headless Chromium, with a screenshot
  pdt        every segment's EXT-X-PROGRAM-DATE-TIME against the as-run log and the break log: the
             piece airing at a segment's PDT must be the one the break log has there, within one
             segment

    .venv/bin/python bench/on_air.py                      # 10-minute HLS check (the issue's figure)
    .venv/bin/python bench/on_air.py --live-seconds 120   # a quicker look

Prints one JSON summary and exits non-zero when any client failed. `--keep` leaves the data folder
(/tmp/retrovue-bench-onair) for a look afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tests" / "tools"  # the team's checkers, copied into the repo byte for byte
PYTHON = str(ROOT / ".venv" / "bin" / "python")
DATA = Path("/tmp/retrovue-bench-onair")
CHANNEL = "3"  # waited for at start-up; the clients then watch the channel with breaks soonest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def wait_for_playlist(url: str, station: subprocess.Popen, limit: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if station.poll() is not None:
            raise SystemExit(f"bin/run exited with status {station.returncode} before going on air")
        try:
            if b"#EXTINF" in get(url, timeout=2):
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"no playlist at {url} after {limit:.0f} s")


def start_station(data: Path, port: int, log, **extra_env: str) -> subprocess.Popen:
    """`./bin/run` on the embedded default (the README's run command), on `data` and `port`, in a
    session of its own so `stop_station` reaches every process it starts."""
    environment = {**os.environ, "RETROVUE_DATA_DIR": str(data), **extra_env}
    for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE"):
        environment.pop(name, None)
    return subprocess.Popen(
        [str(ROOT / "bin" / "run"), "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def stop_station(station: subprocess.Popen) -> None:
    """SIGTERM to the station's whole session (a clean stop), SIGKILL after a minute."""
    os.killpg(station.pid, signal.SIGTERM)
    try:
        station.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(station.pid, signal.SIGKILL)


def django_setup(data: Path) -> None:
    os.environ["RETROVUE_DATA_DIR"] = str(data)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retrovue.settings")
    os.environ.pop("DATABASE_URL", None)  # the embedded default's SQLite, as bin/run uses
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def piece_changes(number: str, since: datetime, until: datetime) -> list[tuple[datetime, str]]:
    from scheduling.models import Channel, Piece

    channel = Channel.objects.get(number=number)
    return [
        (piece.start, f"{piece.kind}: {piece.playable or piece.program.title}")
        for piece in Piece.objects.filter(channel=channel, start__gt=since, start__lt=until)
        .select_related("playable", "program")
        .order_by("start")
    ]


def window_with_changes(span: timedelta, wanted: int, horizon: timedelta) -> tuple[str, datetime]:
    """The channel and earliest start, from now on, of a `span` with `wanted` piece starts inside it."""
    from scheduling.models import Channel

    now = datetime.now(UTC) + timedelta(seconds=5)
    found = []
    for number in Channel.objects.filter(enabled=True).values_list("number", flat=True):
        starts = [start for start, _ in piece_changes(number, now, now + horizon)]
        for index in range(len(starts) - wanted + 1):
            # Begin 5 s before the first change; the wanted-th change must fall inside the span.
            begin = max(now, starts[index] - timedelta(seconds=5))
            if starts[index + wanted - 1] < begin + span - timedelta(seconds=5):
                found.append((begin, number))
                break
    if not found:
        raise SystemExit(f"no channel has a {span} window with {wanted} piece changes in the next {horizon}")
    begin, number = min(found)
    return number, begin


class Client(threading.Thread):
    def __init__(self, name: str, argv: list[str], delay: float = 0.0, timeout: float = 900):
        super().__init__(daemon=True)
        self.name, self.argv, self.delay, self.timeout = name, argv, delay, timeout
        self.result: dict = {}

    def run(self) -> None:
        time.sleep(self.delay)
        started = time.monotonic()
        completed = subprocess.run(self.argv, capture_output=True, text=True, timeout=self.timeout)
        self.result = {
            "exit": completed.returncode,
            "seconds": round(time.monotonic() - started, 1),
            "stdout_tail": completed.stdout[-1500:],
            "stderr_tail": completed.stderr[-1500:],
        }


def pdt_check(number: str, playlist_url: str) -> dict:
    """Compare each listed segment's PDT with the break log: which piece airs there per the log, and
    whether the as-run log has that piece on air at that time (within one segment)."""
    from django.db.models import Q

    from playout.models import AsRunEntry
    from scheduling.models import Channel, Piece

    channel = Channel.objects.get(number=number)
    text = get(playlist_url).decode()
    target = int(re.search(r"#EXT-X-TARGETDURATION:(\d+)", text).group(1))
    tolerance = timedelta(seconds=target)
    checked, mismatches = 0, []
    for stamp in re.findall(r"#EXT-X-PROGRAM-DATE-TIME:(\S+)", text):
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        scheduled = Piece.objects.filter(channel=channel, start__lte=at, stop__gt=at).first()
        aired = AsRunEntry.objects.filter(channel=channel, actual_start__lte=at + tolerance).filter(
            Q(actual_stop__isnull=True) | Q(actual_stop__gte=at - tolerance)
        )
        checked += 1
        if scheduled is not None and not aired.filter(piece=scheduled).exists():
            mismatches.append(
                f"{stamp}: log has piece {scheduled.pk}, as-run has {[a.piece_id for a in aired]}"
            )
    return {"segments_checked": checked, "mismatches": mismatches[:10], "ok": checked > 0 and not mismatches}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--live-seconds", type=float, default=600)
    parser.add_argument("--screenshot", default="/tmp/rv-shots/on-air-watch.png")
    parser.add_argument("--keep", action="store_true", help="keep the data folder afterwards")
    args = parser.parse_args()

    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(DATA.parent / "retrovue-bench-onair.log", "w")  # noqa: SIM115 - open for the run
    started = time.monotonic()
    station = start_station(DATA, port, log)
    summary: dict = {"base": base}
    try:
        playlist = f"{base}/hls/{CHANNEL}/index.m3u8"
        summary["seconds_to_first_playlist_from_fresh_install"] = round(
            wait_for_playlist(playlist, station, 600), 1
        )
        django_setup(DATA)
        span = timedelta(seconds=60)
        number, begin = window_with_changes(span, wanted=2, horizon=timedelta(minutes=30))
        summary["channel"] = number
        playlist = f"{base}/hls/{number}/index.m3u8"
        crossed = piece_changes(number, begin, begin + span)
        summary["ffmpeg_window"] = {
            "starts_at": begin.isoformat(timespec="seconds"),
            "piece_changes_inside": [f"{at:%H:%M:%S} {what}" for at, what in crossed],
        }
        delay = max(0.0, (begin - datetime.now(UTC)).total_seconds())
        Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
        clients = [
            Client("hls", [PYTHON, str(TOOLS / "hls_live_check.py"), playlist, str(args.live_seconds)]),
            Client(
                "ffmpeg",
                ["ffmpeg", "-v", "error", "-xerror", "-t", "60", "-i", playlist, "-f", "null", "-"],
                delay=delay,
            ),
            Client(
                "ts", [PYTHON, str(TOOLS / "tscheck.py"), f"{base}/iptv/channel/{number}.ts", "30"], delay=5
            ),
            Client(
                "browser",
                [
                    PYTHON,
                    str(ROOT / "bench" / "watch_playback.py"),
                    f"{base}/watch/{number}",
                    "--seconds",
                    "60",
                    "--screenshot",
                    args.screenshot,
                ],
                delay=10,
            ),
        ]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
            summary[client.name] = client.result
        summary["pdt"] = pdt_check(number, playlist)
        summary["station_still_running"] = station.poll() is None
    finally:
        stop_station(station)
        log.close()
        if not args.keep:
            shutil.rmtree(DATA, ignore_errors=True)
    summary["wall_seconds"] = round(time.monotonic() - started, 1)
    passed = all(summary[name]["exit"] == 0 for name in ("hls", "ffmpeg", "ts", "browser"))
    passed = passed and summary["pdt"]["ok"] and summary["station_still_running"]
    summary["passed"] = passed
    print(json.dumps(summary, indent=2))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
