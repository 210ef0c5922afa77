"""Phase (a) of bench/station.py: encode CPU per second of content, by profile and method."""

from __future__ import annotations

import resource
import statistics
import time
from pathlib import Path

from station_common import PROFILES, SOURCES, WORK, make_bug, make_source, stream_profile


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
