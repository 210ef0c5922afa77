"""How far behind the wall clock each channel's newest segment is, read from the playlists on disk.

A light reader for benchmarks (bench/station_on_air.py, bench/hls_load.py): once a second it reads
every channel's playlist file (not through the server under test) and notes the end of its newest
segment (program date-time + duration) against now, and how long since the media sequence last
grew. A channel that keeps real time stays within about one segment duration on both. Standard
library only, so tests load it by path.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

PLAYLIST_NAME = "index.m3u8"


def read_newest(hls_root: Path, number: str) -> tuple[int, datetime] | None:
    """(media sequence number, end time) of the newest segment of a channel's playlist on disk."""
    try:
        text = (Path(hls_root) / number / PLAYLIST_NAME).read_text()
    except OSError:
        return None
    msn, newest, moment, duration = 0, None, None, 0.0
    for line in text.splitlines():
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            msn = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            moment = datetime.fromisoformat(line.split(":", 1)[1].replace("Z", "+00:00"))
        elif line.startswith("#EXTINF:"):
            duration = float(line.split(":", 1)[1].split(",", 1)[0])
        elif line and not line.startswith("#") and moment is not None:
            newest = (msn, moment + timedelta(seconds=duration))
            msn += 1
            moment = None
    return newest


def sample_lags(
    numbers: list[str],
    seconds: float,
    newest: Callable[[str], tuple[int, datetime] | None],
    interval: float = 1.0,
) -> dict[str, dict]:
    """Per channel, every `interval` for `seconds`: the newest segment's lag behind the wall clock
    (inf while there is no playlist) and the longest time the media sequence did not grow."""
    last = {number: newest(number) for number in numbers}
    grew_at = {number: time.monotonic() for number in numbers}
    lags: dict[str, list[float]] = {number: [] for number in numbers}
    stalls = {number: 0.0 for number in numbers}
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        time.sleep(interval)
        now, tick = datetime.now(UTC), time.monotonic()
        for number in numbers:
            found = newest(number)
            if found is None:
                lags[number].append(float("inf"))
                continue
            if last[number] is None or found[0] != last[number][0]:
                grew_at[number] = tick
            last[number] = found
            lags[number].append((now - found[1]).total_seconds())
            stalls[number] = max(stalls[number], tick - grew_at[number])
    return {number: {"lags": lags[number], "stall_s": stalls[number]} for number in numbers}


def summarise(samples: dict[str, dict], target: float) -> dict:
    """Per channel max and median lag and longest stall; `behind` lists the channels that did not
    keep real time: newest segment late by more than 1.5 target durations, or no new segment for
    longer than that plus one poll."""
    by_channel, behind = {}, []
    for number, sample in samples.items():
        lags = sample["lags"]
        max_lag = max(lags) if lags else float("inf")
        by_channel[number] = {
            "max_lag_s": round(max_lag, 2),
            "median_lag_s": round(statistics.median(lags), 2) if lags else None,
            "stall_s": round(sample["stall_s"], 2),
            "samples": len(lags),
        }
        if max_lag > 1.5 * target or sample["stall_s"] > 1.5 * target + 1.0:
            behind.append(number)
    every = [lag for sample in samples.values() for lag in sample["lags"]]
    return {
        "by_channel": by_channel,
        "behind": behind,
        "max_lag_s": round(max(every), 2) if every else None,
        "median_lag_s": round(statistics.median(every), 2) if every else None,
        "longest_stall_s": round(max((s["stall_s"] for s in samples.values()), default=0.0), 2),
    }
