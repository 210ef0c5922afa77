"""Crawl mode: the text a crawl scrolls, the file playout reads it from, and how many channels crawl.

A crawl re-encodes each crawling channel live (`playout.crawl`), so the station crawls on at most
`crawl_capacity()` channels at once; the others an alert in crawl mode reaches get its slate, which
is encoded once and stream-copied. Which channels crawl is decided the same way in every process
(channels in number order, each given to the alert that airs on it first, until the capacity is
used), so a channel keeps its crawl for as long as the set of alerts stays the same.
"""

from __future__ import annotations

import hashlib
import math
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from django.conf import settings

from alerts.choices import MessageStatus, Mode
from alerts.models import StationAlertSettings

# ECIG §3.6: the alert text is at most 1800 characters.
MAX_CRAWL_CHARS = 1800
SEPARATOR = "   •   "


def default_crawl_capacity(cores: int | None = None) -> int:
    """How many channels this box can crawl at once: the share of its cores crawls may take
    (`RETROVUE_ALERT_CRAWL_CPU_SHARE`) over the measured cost of one SD crawl
    (`RETROVUE_ALERT_CRAWL_CORE_COST`, see docs/alerts.md), at least one."""
    cores = cores or os.cpu_count() or 1
    share, cost = settings.RETROVUE_ALERT_CRAWL_CPU_SHARE, settings.RETROVUE_ALERT_CRAWL_CORE_COST
    return max(1, math.floor(cores * share / cost + 1e-9))


def crawl_capacity(station: StationAlertSettings | None = None) -> int:
    """The station's setting if staff set one, else the measured default for this box."""
    station = station or StationAlertSettings.current()
    return station.crawl_capacity if station.crawl_capacity is not None else default_crawl_capacity()


def crawl_line(headline: str, message: str, instruction: str, status: str, sender: str = "") -> str:
    """One line (drawtext does not wrap): what the alert is, then what to do, whitespace collapsed;
    a Test or Exercise says so first."""
    label = (
        "EMERGENCY ALERT"
        if status == MessageStatus.ACTUAL
        else f"{status.upper()} MESSAGE: NOT A REAL EMERGENCY"
    )
    parts = [label, f"From {sender}" if sender else "", headline, message, instruction]
    text = SEPARATOR.join(" ".join(part.split()) for part in parts if part and part.strip())
    if len(text) > MAX_CRAWL_CHARS:
        text = text[: MAX_CRAWL_CHARS - 4].rsplit(" ", 1)[0] + " ***"
    return text


def crawl_root() -> Path:
    return Path(settings.DATA_DIR) / "alert-slates" / "crawl"


def crawl_text_file(alert_id: int, line: str) -> Path:
    """The file playout's drawtext reads (`textfile=`), written once per alert and text: what staff
    or a sender typed never enters a filtergraph."""
    digest = hashlib.sha256(line.encode()).hexdigest()[:12]
    path = crawl_root() / f"alert-{alert_id}-{digest}.txt"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        temporary.write_text(line, encoding="utf-8")
        os.replace(temporary, path)
    return path


def allocate(
    alerts: Sequence, channel_ids: Iterable[int], reaches: Callable[[object, int], bool], capacity: int
) -> frozenset[tuple[int, int]]:
    """(alert, channel) pairs that crawl: each channel, in id order, airs the first alert (by
    precedence) that reaches it; if that alert crawls, the channel crawls while capacity lasts."""
    crawling: set[tuple[int, int]] = set()
    if not any(alert.mode == Mode.CRAWL for alert in alerts):
        return frozenset()
    for channel_id in sorted(channel_ids):
        if len(crawling) >= capacity:
            break
        first = next((alert for alert in alerts if reaches(alert, channel_id)), None)
        if first is not None and first.mode == Mode.CRAWL:
            crawling.add((first.pk, channel_id))
    return frozenset(crawling)
