"""Attention signals as 48 kHz mono PCM (WAV), made in Python so what airs is exactly what the
tests decode. Which one an alert gets is decided in `alerts.attention`.

EAS facts (47 CFR §11.31): SAME headers are AFSK at 520.83 bit/s, mark 2083.3 Hz, space 1562.5 Hz,
7-bit ASCII sent LSB first with a null eighth bit, each header preceded by 16 bytes of 0xAB and sent
three times with one-second pauses; then the attention signal, 853 Hz and 960 Hz together for 8–25 s.
"""

from __future__ import annotations

import math
import wave
from array import array
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.attention import EAS_ATTENTION_SECONDS, EAS_FREQUENCIES_HZ, STATION_TONE_HZ, STATION_TONE_SECONDS

SAMPLE_RATE = 48_000
SAME_BAUD = 520.83
SAME_MARK_HZ = 2083.3
SAME_SPACE_HZ = 1562.5
SAME_PREAMBLE = bytes([0xAB] * 16)
SAME_PAUSE_SECONDS = 1.0
MAX_SAME_LOCATIONS = 31
LEVEL = 0.3  # about -10 dBFS per tone: loud enough to get attention, well clear of clipping


def silence(seconds: float) -> list[float]:
    return [0.0] * round(seconds * SAMPLE_RATE)


def tone(
    frequencies: tuple[float, ...], seconds: float, level: float = LEVEL, fade: float = 0.01
) -> list[float]:
    """Sines summed at equal level, with short fades so the edges do not click."""
    count = round(seconds * SAMPLE_RATE)
    fade_samples = max(1, round(fade * SAMPLE_RATE))
    share = level / len(frequencies)
    samples = []
    for n in range(count):
        t = n / SAMPLE_RATE
        value = share * sum(math.sin(2 * math.pi * f * t) for f in frequencies)
        edge = min(1.0, n / fade_samples, (count - 1 - n) / fade_samples)
        samples.append(value * edge)
    return samples


def station_tone() -> list[float]:
    """The default: two notes alternating every half second. Not the EAS signal, nor an imitation."""
    samples: list[float] = []
    for step in range(round(STATION_TONE_SECONDS * 2)):
        samples += tone((STATION_TONE_HZ[step % 2],), 0.5, level=LEVEL)
    return samples


def eas_attention_signal(seconds: float = EAS_ATTENTION_SECONDS) -> list[float]:
    if not 8 <= seconds <= 25:
        raise ValueError("The EAS attention signal lasts 8 to 25 seconds (47 CFR §11.31(a)(3)).")
    return tone(EAS_FREQUENCIES_HZ, seconds, level=2 * LEVEL)


def afsk(data: bytes) -> list[float]:
    """Continuous-phase AFSK of `data`, bits LSB first (the SAME bit order)."""
    samples: list[float] = []
    phase = 0.0
    bit_samples = SAMPLE_RATE / SAME_BAUD
    elapsed = 0.0
    for byte in data:
        for bit in range(8):
            frequency = SAME_MARK_HZ if (byte >> bit) & 1 else SAME_SPACE_HZ
            elapsed += bit_samples
            while len(samples) < round(elapsed):
                phase += 2 * math.pi * frequency / SAMPLE_RATE
                samples.append(LEVEL * math.sin(phase))
    return samples


def purge_time(duration: timedelta | None) -> str:
    """TTTT: 15-minute steps up to an hour, then 30-minute steps (§11.31(c)); until cleared = 1 h."""
    minutes = 60 if duration is None else max(15, math.ceil(duration.total_seconds() / 60))
    step = 15 if minutes <= 60 else 30
    minutes = min(99 * 60 + 30, math.ceil(minutes / step) * step)
    return f"{minutes // 60:02d}{minutes % 60:02d}"


def same_header(
    originator: str,
    event: str,
    locations: list[str],
    duration: timedelta | None,
    issued: datetime,
    station: str,
) -> str:
    if not locations:
        raise ValueError("A SAME header needs at least one location code.")
    issued = issued.astimezone(UTC)
    stamp = f"{issued.timetuple().tm_yday:03d}{issued:%H%M}"
    station_id = station.replace("-", "/").ljust(8)[:8]
    codes = "-".join(locations[:MAX_SAME_LOCATIONS])
    return f"ZCZC-{originator}-{event}-{codes}+{purge_time(duration)}-{stamp}-{station_id}-"


def same_bursts(text: str) -> list[float]:
    """A header (or NNNN) three times, each with its preamble, a second of silence after each."""
    burst = afsk(SAME_PREAMBLE + text.encode("ascii"))
    samples: list[float] = []
    for _ in range(3):
        samples += burst + silence(SAME_PAUSE_SECONDS)
    return samples


def write_wav(path: Path, samples: list[float]) -> float:
    """Write 16-bit mono PCM; returns the length in seconds."""
    pcm = array("h", (max(-32767, min(32767, round(value * 32767))) for value in samples))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    return len(samples) / SAMPLE_RATE
