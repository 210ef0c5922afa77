"""Benchmark: which encoder preset each stream profile should use (issue 15, item 2).

For each profile and preset, a cut of a realistic source (bench/station_common.py: motion, a
moving zooming overlay, heavy grain) is encoded with the product's own command
(`playout.ffmpeg_commands.pregen_argv`, the profile's bitrate, run politely like the `pregen`
queue), then scored against the source put through the same fitting (scale, pad, frame rate),
uncompressed, with ffmpeg's `ssim` and `psnr` filters. Speed is the encoder's CPU-seconds per
second of content (RUSAGE_CHILDREN); the scoring run is not counted.

    .venv/bin/python bench/encoder_settings.py                       # every profile, x264 presets
    .venv/bin/python bench/encoder_settings.py --cut 5 --profiles "HD 1280x720 3000k" --hevc

Results: bench/results/encoder_settings.json and .md; docs/encoder-settings.md has the table and
the choice.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import time
from pathlib import Path

from station_common import PROFILES, ROOT, WORK, make_source, setup_django, stream_profile

X264_PRESETS = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"]
X265_PRESETS = ["ultrafast", "superfast", "veryfast"]
IN_MS = 3_700
SSIM = re.compile(r"SSIM .*All:([0-9.]+)")
PSNR = re.compile(r"PSNR .*average:([0-9.inf]+)")


def encode(source: Path, profile, preset: str, cut_s: float, output: Path) -> dict:
    from playout import ffmpeg_commands as commands
    from playout.encoder_process import encoder_threads, run_encoder, with_thread_limit

    out_ms = IN_MS + int(cut_s * 1000)
    argv = commands.pregen_argv(str(source), IN_MS, out_ms, profile, None, output, preset=preset)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run_encoder(with_thread_limit(argv, encoder_threads()), timeout=3600)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    content = float(commands.piece_timing(out_ms - IN_MS, profile).seconds)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "cpu_s_per_s": cpu / content,
        "realtime": content / wall,
        "mbit_s": output.stat().st_size * 8 / content / 1e6,
    }


def score(encoded: Path, source: Path, profile, cut_s: float) -> dict:
    """SSIM and PSNR (Y, U, V together) of the encoded piece against the source fitted the way
    `pregen_argv` fits it, frame by frame from the cut-in."""
    from django.conf import settings

    from playout import ffmpeg_commands as commands

    fps = commands._rate(commands.frame_rate(profile))
    fit = commands._fit(profile.width, profile.height)
    graph = (
        f"[1:v]fps=fps={fps}:start_time=0,{fit},format=yuv420p,split[r1][r2];"
        "[0:v]split[e1][e2];[e1][r1]ssim;[e2][r2]psnr"
    )
    argv = [
        settings.RETROVUE_FFMPEG, "-hide_banner", "-nostdin", "-i", str(encoded),
        "-accurate_seek", "-ss", f"{IN_MS / 1000:.3f}", "-t", f"{cut_s:.3f}", "-i", str(source),
        "-filter_complex", graph, "-f", "null", "-",
    ]  # fmt: skip
    completed = subprocess.run(argv, capture_output=True, timeout=3600, check=True)
    log = completed.stderr.decode("utf-8", "replace")
    ssim, psnr = SSIM.search(log), PSNR.search(log)
    return {"ssim": float(ssim.group(1)) if ssim else None, "psnr_db": float(psnr.group(1)) if psnr else None}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cut", type=float, default=10.0, help="seconds of content per encode (10)")
    parser.add_argument("--reps", type=int, default=1, help="encodes per row, median CPU reported (1)")
    parser.add_argument("--profiles", default=",".join(PROFILES), help="comma-separated profile names")
    parser.add_argument("--presets", default=",".join(X264_PRESETS), help="x264 presets to try")
    parser.add_argument("--hevc", action="store_true", help="also HEVC (libx265) at its fast presets")
    parser.add_argument("--source", default="1080p29.97 fits", help="source name (bench/station_common.py)")
    parser.add_argument("--source-seconds", type=int, default=30)
    args = parser.parse_args()
    setup_django()
    from scheduling.choices import VideoCodec

    source = make_source(args.source, args.source_seconds)
    output = WORK / "settings.ts"
    rows = []
    print(
        f"{'profile':<22} {'codec':<5} {'preset':<10} {'CPU-s/s':>8} {'× real':>7} {'Mbit/s':>7} {'SSIM':>7} {'PSNR':>6}"
    )
    for profile_name in args.profiles.split(","):
        trials = [("h264", preset) for preset in args.presets.split(",")]
        if args.hevc:
            trials += [("hevc", preset) for preset in X265_PRESETS]
        for codec, preset in trials:
            profile = stream_profile(profile_name)
            profile.video_codec = VideoCodec.HEVC if codec == "hevc" else VideoCodec.H264
            runs = [encode(source, profile, preset, args.cut, output) for _ in range(args.reps)]
            quality = score(output, source, profile, args.cut)
            row = {
                "profile": profile_name, "codec": codec, "preset": preset,
                "cpu_s_per_s": statistics.median(run["cpu_s_per_s"] for run in runs),
                "realtime": statistics.median(run["realtime"] for run in runs),
                "mbit_s": runs[0]["mbit_s"], **quality,
            }  # fmt: skip
            rows.append(row)
            print(f"{profile_name:<22} {codec:<5} {preset:<10} {row['cpu_s_per_s']:>8.3f} {row['realtime']:>7.2f} "
                  f"{row['mbit_s']:>7.2f} {row['ssim'] or 0:>7.4f} {row['psnr_db'] or 0:>6.2f}")  # fmt: skip
    output.unlink(missing_ok=True)
    lines = [
        f"Source {args.source}, {args.cut:g} s cut at {IN_MS / 1000:g} s; CPU median of {args.reps}.",
        "",
        "| profile | codec | preset | CPU-s per s | × real time | Mbit/s | SSIM | PSNR dB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['profile']} | {r['codec']} | {r['preset']} | {r['cpu_s_per_s']:.3f} | {r['realtime']:.2f} | "
        f"{r['mbit_s']:.2f} | {r['ssim'] or 0:.4f} | {r['psnr_db'] or 0:.2f} |"
        for r in rows
    ]
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "encoder_settings.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
    (out / "encoder_settings.md").write_text("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
