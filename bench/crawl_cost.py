"""What a crawl costs: CPU seconds per second of programme for one channel re-encoded with an alert's
crawl drawn on (`playout.crawl`), in the default SD profile (640×480, 29.97 fps, 1500 kbit/s,
2 s segments), with the station's live-transcode preset.

    .venv/bin/python bench/crawl_cost.py [--seconds 30]

It encodes a moving SD test programme once (testsrc2 with a little noise, so the encoder has real
work), then re-encodes it the way a crawling channel does, as fast as the machine allows, and reads
the child processes' CPU time. A channel airs in real time, so CPU seconds per programme second is
the share of a core one crawling channel takes. The figure feeds `RETROVUE_ALERT_CRAWL_CORE_COST`
(docs/alerts.md); nothing here runs in the tests.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retrovue.settings")

import django

django.setup()

from playout import crawl  # noqa: E402
from playout import ffmpeg_commands as commands  # noqa: E402
from playout.pregen import encoder_preset  # noqa: E402

SD = SimpleNamespace(width=640, height=480, frame_rate="29.97", video_bitrate_kbps=1500,
                     audio_bitrate_kbps=128, segment_seconds=2)  # fmt: skip


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _programme(path: Path, seconds: int) -> None:
    fps = commands.frame_rate(SD)
    subprocess.run(
        [*commands._head(None),
         "-f", "lavfi", "-i", f"testsrc2=s=640x480:r={fps.numerator}/{fps.denominator},noise=alls=12:allf=t",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
         "-t", str(seconds), *commands._output_args(SD, commands.DEFAULT_PRESET, path)],
        check=True,
    )  # fmt: skip


def _measure(argv: list[str], seconds: int) -> tuple[float, float]:
    before, started = _children_cpu(), time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return (_children_cpu() - before) / seconds, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        source, text = Path(folder) / "programme.ts", Path(folder) / "crawl.txt"
        text.write_text("EMERGENCY ALERT: Tornado warning for the county until 9 PM. Take shelter now. " * 3)
        _programme(source, args.seconds)
        duration_ms = args.seconds * 1000
        with_crawl = crawl.crawl_file_argv(source, 0, duration_ms, SD, text, preset=encoder_preset())
        plain = [part for part in with_crawl]
        plain[plain.index("-filter_complex") + 1] = plain[plain.index("-filter_complex") + 1].replace(
            crawl.crawl_filter(text, SD.width, SD.height), ""
        )
        cores_plain, wall_plain = _measure(plain, args.seconds)
        cores_crawl, wall_crawl = _measure(with_crawl, args.seconds)
    print(f"preset {encoder_preset()}, {args.seconds} s of SD programme, {os.cpu_count()} cores")
    print(f"re-encode without the crawl: {cores_plain:.3f} core per channel ({wall_plain:.1f} s wall)")
    print(f"re-encode with the crawl:    {cores_crawl:.3f} core per channel ({wall_crawl:.1f} s wall)")


if __name__ == "__main__":
    main()
