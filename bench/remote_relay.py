"""Benchmark: what reading a Part from Plex through the loopback relay costs (issue 9, part 4).

Makes an SD clip with ffmpeg (moov atom at the end, as most MP4s are), serves it as a Part from
the Plex emulator, then measures:

1. throughput of a whole-file GET straight from the emulator vs through the relay (MB/s, median
   of `--runs`), i.e. what the extra loopback hop costs;
2. a pre-generation encode (`pregen_argv`, the command the `pregen` queue runs) of a 30 s cut from
   the middle of the clip, reading the local file vs the relay URL: wall seconds, × real time,
   and how many range requests and bytes the remote read needed.

    .venv/bin/python bench/remote_relay.py [--minutes 2] [--runs 5] [--fresh]

No database. The clip is cached in /tmp/retrovue-bench-remote (`--fresh` remakes it). Everything
runs on loopback, so the figures are the relay's overhead, not a network's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = Path("/tmp/retrovue-bench-remote")
TOKEN = "bench-token"


def setup_django() -> None:
    os.environ.setdefault("RETROVUE_DATA_DIR", str(WORK / "data"))
    os.environ.setdefault("RETROVUE_PLEX_HOSTS", "127.0.0.1,localhost")  # the emulator is on loopback
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retrovue.settings")
    os.environ["RETROVUE_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def make_clip(minutes: float, fresh: bool) -> Path:
    from django.conf import settings

    from retrovue.subprocesses import run_command

    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"clip-{minutes:g}min.mp4"
    if fresh or not path.exists():
        run_command(
            [settings.RETROVUE_FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
             "-f", "lavfi", "-i", "testsrc2=size=720x480:rate=30000/1001,noise=alls=6:allf=t",
             "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(minutes * 60),
             "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-c:a", "aac", "-ac", "2",
             str(path)],
            timeout=3600,
        )  # fmt: skip
    return path


def get_seconds(url: str, headers: dict) -> tuple[float, int]:
    import requests

    started = time.perf_counter()
    with requests.get(url, headers=headers, stream=True, timeout=60) as response:
        response.raise_for_status()
        size = sum(len(chunk) for chunk in response.iter_content(256 * 1024))
    return time.perf_counter() - started, size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    setup_django()

    from playout import ffmpeg_commands as commands
    from playout.plex_relay import PartRelay
    from plex_emulator import EmulatorConfig, PlexEmulator
    from retrovue.subprocesses import run_command
    from scheduling.models import StreamProfile

    print(
        f"load average before: {' '.join(f'{value:.2f}' for value in os.getloadavg())}; {os.cpu_count()} cores"
    )
    clip = make_clip(args.minutes, args.fresh)
    size_mb = clip.stat().st_size / 1e6
    profile = StreamProfile(
        name="Retro SD 4:3", width=640, height=480, frame_rate=Decimal("29.97"),
        video_bitrate_kbps=1500, audio_bitrate_kbps=128, segment_seconds=2,
    )  # fmt: skip
    config = EmulatorConfig(seed=1, shows=1, seasons_per_show=1, episodes_per_season=1, movies=1, token=TOKEN)
    relay = PartRelay()
    results: dict = {"clip_mb": round(size_mb, 1), "minutes": args.minutes}
    with PlexEmulator(config) as emulator:
        part_id = emulator.library.movies()[0].media[0].parts[0].part_id
        part_key = f"/library/parts/{part_id}/1/file.mp4"
        emulator.parts.register(part_id, clip)

        direct, relayed = [], []
        for _ in range(args.runs):
            seconds, _size = get_seconds(f"{emulator.url}{part_key}", {"X-Plex-Token": TOKEN})
            direct.append(size_mb / seconds)
            with relay.open(base_url=emulator.url, token=TOKEN, part_key=part_key, ttl=600) as job:
                seconds, _size = get_seconds(job.url, {})
            relayed.append(size_mb / seconds)
        results["direct_mb_per_s"] = round(statistics.median(direct), 1)
        results["relay_mb_per_s"] = round(statistics.median(relayed), 1)
        print(f"whole-file GET of {size_mb:.1f} MB: direct {results['direct_mb_per_s']} MB/s, "
              f"through the relay {results['relay_mb_per_s']} MB/s (median of {args.runs})")  # fmt: skip

        in_ms = int(args.minutes * 30_000)  # the middle of the clip
        out_ms = in_ms + 30_000
        output = WORK / "out.ts"
        for label in ("local", "remote"):
            emulator.parts.served.clear()
            with relay.open(base_url=emulator.url, token=TOKEN, part_key=part_key, ttl=600) as job:
                part = (
                    commands.SourcePart(str(clip))
                    if label == "local"
                    else commands.SourcePart(part_key, url=job.url)
                )
                argv = commands.pregen_argv([part], in_ms, out_ms, profile, output=output)
                started = time.perf_counter()
                run_command(argv, timeout=3600)
                wall = time.perf_counter() - started
            figures = {
                "wall_seconds": round(wall, 2),
                "realtime_multiple": round(30 / wall, 2),
                "range_requests": len(emulator.parts.served) if label == "remote" else 0,
                "mb_read": round(job.bytes_relayed / 1e6, 2) if label == "remote" else None,
            }
            results[f"encode_{label}"] = figures
            print(f"30 s cut encoded from the {label} file: {figures}")
        output.unlink(missing_ok=True)
    relay.stop()
    print(f"load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "remote_relay.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
