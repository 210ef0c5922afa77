"""What both phases of bench/station.py share: where they work, the sources and the profiles."""

from __future__ import annotations

import os
import sys
import time
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
# The same footage prepared to fit a 29.97 fps channel (smart copy, issue 15 item 2): no B-frames
# and a keyframe every 2 s (one segment), no scene-cut keyframes; otherwise as above.
FITTING_SOURCES = {
    "720p29.97 fits": ("1280x720", "30000/1001", 6000),
    "1080p29.97 fits": ("1920x1080", "30000/1001", 10000),
}
FITTING_GOP = ["-bf", "0", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0"]

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

    fitting = name in FITTING_SOURCES
    size, rate, kbps = FITTING_SOURCES[name] if fitting else SOURCES[name]
    width, height = (int(value) for value in size.split("x"))
    path = WORK / "sources" / f"{name.replace(' ', '-')}-{seconds}s.mkv"
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
            "-t", str(seconds), "-c:v", "libx264", "-preset", "superfast", *(FITTING_GOP if fitting else []),
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
