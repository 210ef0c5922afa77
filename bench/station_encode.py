"""Phase (a) of bench/station.py: encode CPU per second of content, by profile and method."""

from __future__ import annotations

import resource
import statistics
import time
from pathlib import Path

from station_common import FITTING_SOURCES, PROFILES, SOURCES, WORK, make_bug, make_source, stream_profile


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


FULL, SMART, PASS = "full encode", "smart copy", "pass-through"


def copy_once(source: Path, in_ms: int, out_ms: int, profile, output: Path) -> dict:
    """One piece as pre-generation makes it on a smart-copy or pass-through profile: probe the
    source, copy what fits (`playout.smart_copy`), else encode it all, through the same polite
    encoder runner. The probes are counted too (RUSAGE_CHILDREN covers every ffprobe)."""
    from playout import ffmpeg_commands as commands
    from playout import smart_copy
    from playout.encoder_process import encoder_threads, run_encoder, with_thread_limit
    from playout.pregen_store import encoder_preset

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    video = smart_copy.probe_video(str(source))
    reason = smart_copy.mismatch(video, profile)
    copy = None
    if reason is None:
        part = commands.SourcePart(path=str(source), duration_ms=None)
        found = smart_copy.plan(part, in_ms, out_ms, profile, video)
        copy, reason = (found, None) if isinstance(found, smart_copy.CopyPlan) else (None, found)
    if copy is not None:
        scratch = smart_copy.scratch_names(output.with_name(f"{output.name}.0.tmp"))
        smart_copy.make_piece(
            copy, in_ms, out_ms, profile, output, scratch,
            lambda argv: run_encoder(with_thread_limit(argv, encoder_threads()), timeout=3600),
            preset=encoder_preset(),
        )  # fmt: skip
        for kind in ("head", "body", "list"):
            scratch(kind).unlink(missing_ok=True)
    else:
        argv = commands.pregen_argv(
            str(source), in_ms, out_ms, profile, None, output, preset=encoder_preset()
        )
        run_encoder(with_thread_limit(argv, encoder_threads()), timeout=3600)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    timing = commands.piece_timing(out_ms - in_ms, profile)
    return {
        "cpu_s": cpu, "wall_s": wall, "content_s": float(timing.seconds), "bytes": output.stat().st_size,
        "copied_share": (copy.copied_frames / timing.frames) if copy else 0.0, "not_copied": reason or "",
    }  # fmt: skip


def encode_phase(args) -> list[dict]:
    from playout import ffmpeg_commands as commands
    from playout.encoder_process import encoder_threads
    from playout.pregen_store import encoder_preset
    from scheduling.choices import VideoMode

    print(f"\n(a) ENCODE: preset {encoder_preset()}, {encoder_threads()} threads, nice 19 / idle I/O")
    wanted = set(args.sources.split(",")) if args.sources else None
    names = [name for name in [*SOURCES, *FITTING_SOURCES] if wanted is None or name in wanted]
    sources = {name: make_source(name, args.source_seconds) for name in names}
    bug = commands.Bug(str(make_bug()))
    # An act cut off-keyframe, as a break log places it: in at 3.7 s, `--cut` seconds long.
    in_ms = 3_700
    out_ms = in_ms + int(args.cut * 1000)
    output = WORK / "encoded.ts"
    rows = []
    print(f"{'profile':<22} {'source':<16} {'method':<13} {'bug':<4} {'CPU-s/s':>8} {'× real time':>12} "
          f"{'Mbit/s':>7} {'copied':>7}")  # fmt: skip
    for profile_name in PROFILES:
        for source_name, source in sources.items():
            variants = [(FULL, False), (FULL, True)]
            if source_name in FITTING_SOURCES:  # the library files have B-frames: never copied
                variants += [(SMART, False), (PASS, False)]
            for method, with_bug in variants:
                if with_bug and not (args.all_bugs or profile_name == next(iter(PROFILES))):
                    continue
                if args.methods and method not in args.methods.split(","):
                    continue
                profile = stream_profile(profile_name)
                if method == FULL:
                    runs = [
                        encode_once(source, in_ms, out_ms, profile, bug if with_bug else None, output)
                        for _ in range(args.reps)
                    ]
                else:
                    profile.video_mode = VideoMode.SMART_COPY if method == SMART else VideoMode.PASS_THROUGH
                    runs = [copy_once(source, in_ms, out_ms, profile, output) for _ in range(args.reps)]
                row = {
                    "profile": profile_name,
                    "source": source_name,
                    "method": method,
                    "bug": with_bug,
                    "content_s": runs[0]["content_s"],
                    "cpu_s_per_content_s": statistics.median(r["cpu_s"] / r["content_s"] for r in runs),
                    "realtime_multiple": statistics.median(r["content_s"] / r["wall_s"] for r in runs),
                    "mbit_s": runs[0]["bytes"] * 8 / runs[0]["content_s"] / 1e6,
                    "copied_share": runs[0].get("copied_share", 0.0),
                    "not_copied": runs[0].get("not_copied", ""),
                    "runs": runs,
                }
                rows.append(row)
                print(f"{profile_name:<22} {source_name:<16} {method:<13} {'yes' if with_bug else 'no':<4} "
                      f"{row['cpu_s_per_content_s']:>8.3f} {row['realtime_multiple']:>12.2f} {row['mbit_s']:>7.2f} "
                      f"{row['copied_share']:>7.0%}")  # fmt: skip
    output.unlink(missing_ok=True)
    return rows


def encode_markdown(rows: list[dict], args) -> str:
    lines = [
        f"Encode, {args.cut:g} s cut at 3.7 s, median of {args.reps}. Full encode is `pregen_argv`; smart "
        "copy and pass-through are `playout.smart_copy` (probe, encoded head, copied body, audio) where "
        "the source fits, else the full encode:",
        "",
        "| profile | source | method | bug | CPU-s per s of content | vs full encode | wall × real time "
        "| output Mbit/s | frames copied |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    full = {
        (row["profile"], row["source"]): row["cpu_s_per_content_s"]
        for row in rows
        if row["method"] == FULL and not row["bug"]
    }
    for row in rows:
        base = full.get((row["profile"], row["source"]))
        ratio = f"{row['cpu_s_per_content_s'] / base:.3f}" if base else "–"
        copied = f"{row['copied_share']:.0%}" if row["method"] != FULL else "–"
        if row["method"] != FULL and not row["copied_share"]:
            copied = f"0 % ({row['not_copied']})"
        lines.append(
            f"| {row['profile']} | {row['source']} | {row['method']} | {'yes' if row['bug'] else 'no'} | "
            f"{row['cpu_s_per_content_s']:.3f} | {ratio} | {row['realtime_multiple']:.2f} | {row['mbit_s']:.2f} "
            f"| {copied} |"
        )
    return "\n".join(lines)
