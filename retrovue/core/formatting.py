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
    units = ("B", "KB", "MB", "GB", "TB")
    for index, unit in enumerate(units):
        # Choose the unit on the rounded value, so 1 MiB − 1 B reads "1.0 MB", not "1024.0 KB".
        shown = round(abs(value)) if unit == "B" else round(abs(value), 1)
        if shown < 1024 or index == len(units) - 1:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def format_local_short(moment, seconds: bool = False) -> str:
    """ "Fri 04 Dec 18:13" in the current (the staff member's) time zone: a date column that stays narrow."""
    from django.utils import timezone

    if moment is None:
        return "–"
    return f"{timezone.localtime(moment):%a %d %b %H:%M{':%S' if seconds else ''}}"
