"""MPEG-TS tune-in: how long a default ffmpeg takes to show a channel's first frame, and how close
to the wall clock that frame is (issue 15, item 5).

Against a running station (`./bin/run`, or the compose stack):

    .venv/bin/python bench/ts_tune_in.py http://localhost:8000 --channel 3 --tunes 20

Each tune runs `ffmpeg -v error -i <ts url> -frames:v 1 -f null -` with default flags and times it
end to end (process start to exit). Beside each tune, the first video frame of a fresh TS response
is matched (by its PTS) to a segment of the live playlist, whose program date time is the schedule
time of that frame: its distance from the wall clock at the request is the second figure. Prints
the median, p90 and max of both and writes them to bench/results/ts_tune_in.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playout.mpegts import TsError, keyframes, parse_layout

HEAD = 188 * 4096


def read_head(url: str, size: int = HEAD) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        data = b""
        while len(data) < size:
            chunk = response.read(size - len(data))
            if not chunk:
                break
            data += chunk
    return data


def first_keyframe_pts(data: bytes) -> int | None:
    try:
        layout = parse_layout(data)
    except TsError:
        return None
    found = next(keyframes(data, layout.video_pid), None)
    return found[1] if found else None


def playlist_segments(base: str, channel: str) -> list[tuple[datetime, str]]:
    with urllib.request.urlopen(f"{base}/hls/{channel}/index.m3u8", timeout=10) as response:
        lines = response.read().decode().splitlines()
    segments, moment = [], None
    for line in lines:
        if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            moment = datetime.fromisoformat(line.split(":", 1)[1])
        elif line and not line.startswith("#") and moment is not None:
            segments.append((moment, line))
    return segments


def first_frame_offset(base: str, channel: str) -> float | None:
    """Schedule time of a new TS viewer's first frame minus the wall clock at the request, in s."""
    asked = datetime.now(UTC)
    pts = first_keyframe_pts(read_head(f"{base}/iptv/channel/{channel}.ts"))
    if pts is None:
        return None
    for moment, uri in playlist_segments(base, channel):
        segment_pts = first_keyframe_pts(read_head(f"{base}/hls/{channel}/{uri}", 188 * 1024))
        if segment_pts == pts:
            return (moment - asked).total_seconds()
    return None


def time_tune(url: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", url, "-frames:v", "1", "-f", "null", "-"],
        check=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "n": len(values),
        "median": round(statistics.median(ordered), 3),
        "p90": round(ordered[max(0, int(len(ordered) * 0.9 + 0.5) - 1)], 3),
        "max": round(ordered[-1], 3),
        "min": round(ordered[0], 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the station's base URL, e.g. http://localhost:8000")
    parser.add_argument("--channel", default="3")
    parser.add_argument("--tunes", type=int, default=20)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between tunes")
    args = parser.parse_args()
    base = args.base.rstrip("/")
    url = f"{base}/iptv/channel/{args.channel}.ts"
    tunes, offsets = [], []
    for number in range(args.tunes):
        tunes.append(time_tune(url))
        offset = first_frame_offset(base, args.channel)
        if offset is not None:
            offsets.append(offset)
        print(f"tune {number + 1:2d}: {tunes[-1]:.3f} s  first frame PDT − wall clock: {offset}")
        time.sleep(args.pause)
    result = {"url": url, "tune_seconds": summary(tunes), "first_frame_pdt_offset_seconds": summary(offsets)}
    print(json.dumps(result, indent=2))
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "ts_tune_in.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retrovue.settings")
    sys.exit(main())
