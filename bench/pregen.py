"""Benchmark: pre-generation speed as a multiple of real time (issue: playout part 1).

Makes a few source files of some minutes with ffmpeg's generators, unlike each other the way a
library is (a noisy 720×480 DVD-like clip with stereo, a 1280×720 23.976 fps clip with 5.1 audio, a
480×360 clip with mono 44.1 kHz audio), cuts each into program-length and commercial-length pieces
and encodes them with `pregen_argv` — the exact command the `pregen` queue runs — to the SD profile
(640×480 @ 29.97, 1500 + 128 kbit/s, 2 s segments). Also times a slate and a test pattern.

Reports, per piece and overall, seconds of output per second of wall time ("× real time", the
median over pieces is the headline), and CPU cores kept busy. Encodes run one at a time, as the
`pregen` worker does with concurrency 1, and x264 uses every core it finds.

    .venv/bin/python bench/pregen.py [--minutes 3] [--preset veryfast] [--fresh]

No database needed. Sources are cached in /tmp/retrovue-bench-pregen (`--fresh` remakes them).
The machine's load average is printed first: other work on the box slows encodes down.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = Path("/tmp/retrovue-bench-pregen")

SOURCES = {
    # name: (video generator, audio generator, extra encoder options)
    "dvd_720x480_stereo": (
        "testsrc2=size=720x480:rate=30000/1001,noise=alls=6:allf=t",
        "aevalsrc=0.3*sin(2*PI*440*t)*(1+sin(t))|0.3*sin(2*PI*550*t):s=48000",
        ["-ac", "2"],
    ),
    "hd_1280x720_5.1": (
        "testsrc=size=1280x720:rate=24000/1001,hue=H=t/4,noise=alls=4:allf=t",
        "aevalsrc=0.2*sin(2*PI*330*t)|0.2*sin(2*PI*440*t)|0.2*sin(2*PI*550*t)|0.1*sin(2*PI*60*t)"
        "|0.1*sin(2*PI*660*t)|0.1*sin(2*PI*770*t):s=48000:c=5.1",
        ["-ac", "6"],
    ),
    "web_480x360_mono": (
        "testsrc2=size=480x360:rate=25,noise=alls=8:allf=t",
        "sine=frequency=440:sample_rate=44100",
        ["-ac", "1"],
    ),
}


def setup_django() -> None:
    os.environ.setdefault("RETROVUE_DATA_DIR", str(WORK / "data"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retrovue.settings")
    os.environ["RETROVUE_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def make_sources(minutes: float, fresh: bool) -> dict[str, Path]:
    from django.conf import settings

    from retrovue.subprocesses import run_command

    folder = WORK / "sources"
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for name, (video, audio, options) in SOURCES.items():
        path = folder / f"{name}-{minutes:g}min.mkv"
        if fresh or not path.exists():
            started = time.perf_counter()
            argv = [settings.RETROVUE_FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", video, "-f", "lavfi", "-i", audio, "-t", str(minutes * 60),
                    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-c:a", "aac", *options,
                    str(path)]  # fmt: skip
            run_command(argv, timeout=3600)
            print(
                f"made {path.name} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s"
            )
        made[name] = path
    return made


def timed(argv: list[str], seconds_of_output: float) -> dict:
    from retrovue.subprocesses import run_command

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run_command(argv, timeout=3600)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "output_seconds": round(seconds_of_output, 3),
        "wall_seconds": round(wall, 3),
        "realtime_multiple": round(seconds_of_output / wall, 2),
        "cores_busy": round(cpu / wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=3.0, help="length of each source")
    parser.add_argument("--preset", default=None, help="x264 preset (default: the setting, veryfast)")
    parser.add_argument("--fresh", action="store_true", help="remake the sources")
    args = parser.parse_args()
    if args.minutes < 1:
        parser.error("--minutes must be at least 1")
    setup_django()

    from playout import ffmpeg_commands as commands
    from playout.pregen import encoder_preset
    from scheduling.models import StreamProfile

    preset = args.preset or encoder_preset()
    profile = StreamProfile(
        name="Retro SD 4:3", width=640, height=480, frame_rate=Decimal("29.97"),
        video_bitrate_kbps=1500, audio_bitrate_kbps=128, segment_seconds=2,
    )  # fmt: skip
    print(
        f"load average before: {' '.join(f'{value:.2f}' for value in os.getloadavg())}; {os.cpu_count()} cores"
    )
    sources = make_sources(args.minutes, args.fresh)
    output = WORK / "out.ts"
    length_ms = int(args.minutes * 60_000)
    # A program act (most of the file, cut off its first and last 5 s) and two 30 s spots from it.
    cuts = [(5_000, length_ms - 5_000), (10_000, 40_000), (length_ms - 45_000, length_ms - 15_000)]

    results = []
    print(f"{'piece':<38} {'out s':>6} {'wall s':>7} {'× real time':>12} {'cores':>6}")
    for name, path in sources.items():
        for in_ms, out_ms in cuts:
            argv = commands.pregen_argv(path, in_ms, out_ms, profile, output=output, preset=preset)
            figures = timed(argv, (out_ms - in_ms) / 1000) | {
                "piece": f"{name} {in_ms // 1000}-{out_ms // 1000}s"
            }
            results.append(figures)
            print(f"{figures['piece']:<38} {figures['output_seconds']:>6.0f} {figures['wall_seconds']:>7.2f} "
                  f"{figures['realtime_multiple']:>12.2f} {figures['cores_busy']:>6.2f}")  # fmt: skip
    specials = []
    for name, argv in (
        ("slate 60 s", commands.slate_argv(60_000, profile, output, preset=preset)),
        ("test pattern 60 s", commands.test_pattern_argv(60_000, profile, output, preset=preset)),
    ):
        figures = timed(argv, 60.0) | {"piece": name}
        specials.append(figures)
        print(f"{name:<38} {60:>6} {figures['wall_seconds']:>7.2f} {figures['realtime_multiple']:>12.2f} "
              f"{figures['cores_busy']:>6.2f}")  # fmt: skip
    output.unlink(missing_ok=True)

    multiples = [figures["realtime_multiple"] for figures in results]
    total_out = sum(figures["output_seconds"] for figures in results)
    total_wall = sum(figures["wall_seconds"] for figures in results)
    summary = {
        "median_realtime_multiple": round(statistics.median(multiples), 2),
        "min_realtime_multiple": min(multiples),
        "max_realtime_multiple": max(multiples),
        "overall_realtime_multiple": round(total_out / total_wall, 2),
    }
    print(
        f"\npieces: median {summary['median_realtime_multiple']:.2f}× real time "
        f"(min {summary['min_realtime_multiple']:.2f}×, max {summary['max_realtime_multiple']:.2f}×; "
        f"{total_out:.0f} s of output in {total_wall:.0f} s = {summary['overall_realtime_multiple']:.2f}×)"
    )
    print(f"load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "pregen.json").write_text(
        json.dumps(
            {
                "args": vars(args) | {"preset": preset},
                "profile": "640x480 @ 29.97, 1500k + 128k, 2 s segments",
                "cores": os.cpu_count(),
                **summary,
                "pieces": results,
                "specials": specials,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
