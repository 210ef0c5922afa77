"""Display helpers shared by the admin and the custom pages."""

from __future__ import annotations


def format_duration_ms(milliseconds: int | None) -> str:
    """Milliseconds as hh:mm:ss.ff (hundredths), the way a broadcast log shows lengths."""
    if milliseconds is None:
        return "–"
    sign = "-" if milliseconds < 0 else ""
    hundredths_total = abs(int(milliseconds)) // 10
    hundredths = hundredths_total % 100
    seconds_total = hundredths_total // 100
    hours, remainder = divmod(seconds_total, 3600)
    minutes, seconds = divmod(remainder, 60)
    return f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}.{hundredths:02d}"


def format_bytes(size: int | None) -> str:
    if size is None:
        return "–"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
