"""Decoded samples, measured: ffmpeg decodes, pure Python (Goertzel) measures tone power."""

from __future__ import annotations

import math
import subprocess
from array import array
from pathlib import Path

RATE = 8000


def decode_mono(path: Path, start: float, seconds: float) -> list[float]:
    """The file's audio from `start`, mono, 8 kHz, as floats in −1…1."""
    raw = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-ss", str(start), "-i", str(path),
         "-t", str(seconds), "-vn", "-ac", "1", "-ar", str(RATE), "-f", "s16le", "-"],
        check=True, capture_output=True, timeout=60,
    ).stdout  # fmt: skip
    samples = array("h")
    samples.frombytes(raw[: len(raw) // 2 * 2])
    return [value / 32768 for value in samples]


def tone_share(samples: list[float], frequency: float) -> float:
    """The share of the window's energy at `frequency` (Goertzel), 0…~1."""
    if not samples:
        return 0.0
    coefficient = 2 * math.cos(2 * math.pi * frequency / RATE)
    previous = before = 0.0
    for value in samples:
        previous, before = value + coefficient * previous - before, previous
    power = previous * previous + before * before - coefficient * previous * before
    energy = sum(value * value for value in samples)
    # A pure sine of amplitude A over N samples gives power (A·N/2)² and energy A²·N/2.
    return power / (energy * len(samples) / 2) if energy else 0.0
