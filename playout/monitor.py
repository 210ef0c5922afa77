"""The playout monitor (staff): one row per channel with its process, playlist, pre-generation
coverage, viewers and the CPU its ffmpeg uses, refreshed every few seconds from a JSON endpoint.

Register in the admin's namespace, before the admin's own URLs:
`path("admin/", (monitor_urls(admin.site) + … + admin.site.get_urls(), "admin", admin.site.name))`.

Queries per refresh do not grow with the channel count: channels with their runtime (one query)
and `pregen.coverage_by_channel` (a few). CPU comes from `/proc/<pid>/stat` (utime + stime)
compared with this process's previous sample of the same pid, so a refresh every 5 s measures the
last 5 s; a pid seen for the first time is sampled twice, 0.2 s apart, once for all such pids.
Only processes on this host named ffmpeg count (a pid of another playout box, or a reused pid,
shows no CPU).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.contrib.auth.decorators import permission_required
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from playout import pregen, ts_stream
from playout.models import RuntimeState
from playout.viewer_counts import ChannelViewers, viewers_by_channel
from scheduling.models import Channel

REFRESH_SECONDS = 5
FIRST_SAMPLE_GAP = 0.2
SAMPLE_MAX_AGE = 60.0  # an older previous sample is retaken rather than averaged over minutes
PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# --- CPU from /proc --------------------------------------------------------------------------------


def cpu_ticks(pid: int, proc: Path = PROC, name: str = "ffmpeg") -> int | None:
    """utime + stime of `pid` in clock ticks, or None if it is not a live process called `name`."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    # "pid (comm) state ppid …": comm may hold spaces and parentheses, so split at the last ")".
    head, _, rest = stat.rpartition(")")
    comm = head.partition("(")[2]
    fields = rest.split()
    if comm != name or len(fields) < 13 or fields[0] == "Z":
        return None
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5), counted from state


class CpuSampler:
    """Share of one core each pid used since the previous sample (1.0 = one whole core)."""

    def __init__(self, proc: Path = PROC, clock=time.monotonic, sleep=time.sleep):
        self.proc = proc
        self.clock = clock
        self.sleep = sleep
        self._previous: dict[int, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def _read(self, pids) -> tuple[dict[int, tuple[int, float]], float]:
        now = self.clock()
        samples = {pid: (ticks, now) for pid in pids if (ticks := cpu_ticks(pid, self.proc)) is not None}
        return samples, now

    def usage(self, pids) -> dict[int, float]:
        pids = set(pids)
        with self._lock:
            current, now = self._read(pids)
            previous = {
                pid: sample
                for pid, sample in self._previous.items()
                if pid in current and now - sample[1] <= SAMPLE_MAX_AGE
            }
            unseen = [pid for pid in current if pid not in previous]
            if unseen:
                previous.update((pid, current[pid]) for pid in unseen)
                self.sleep(FIRST_SAMPLE_GAP)
                current.update(self._read(unseen)[0])
            self._previous = current
        usage = {}
        for pid, (ticks, at) in current.items():
            before = previous.get(pid)
            if before is None or at <= before[1] or ticks < before[0]:
                continue
            usage[pid] = (ticks - before[0]) / CLOCK_TICKS / (at - before[1])
        return usage


_sampler = CpuSampler()


# --- The rows --------------------------------------------------------------------------------------


@dataclass
class MonitorRow:
    channel_id: int
    number: str
    name: str
    state: str
    state_label: str
    pid: int | None
    uptime_seconds: int | None
    restarts: int
    media_sequence: int
    last_segment_age_seconds: float | None
    coverage_seconds: int
    viewers: int  # HLS + TS, summed over every machine (playout.viewer_counts)
    hls_viewers: int
    ts_viewers: int
    cpu_percent: float | None
    last_error: str

    @property
    def uptime(self) -> str:
        return hhmmss(self.uptime_seconds)

    @property
    def coverage(self) -> str:
        return hhmm(self.coverage_seconds)


def hhmm(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = int(seconds) // 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def hhmmss(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    days, seconds = divmod(seconds, 86_400)
    text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{days}d {text}" if days else text


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else max(delta.total_seconds(), 0.0)


def monitor_rows(now: datetime | None = None, sampler: CpuSampler | None = None) -> list[MonitorRow]:
    """Every channel (enabled, or with a process) in channel order."""
    now = now or timezone.now()
    sampler = sampler or _sampler
    channels = [
        channel
        for channel in Channel.objects.select_related("runtime").order_by("number")
        if channel.enabled or getattr(channel, "runtime", None) is not None
    ]
    channels.sort(key=lambda channel: channel.sort_key)
    coverage = pregen.coverage_by_channel(now)
    runtimes = {channel.pk: getattr(channel, "runtime", None) for channel in channels}
    live_pids = [
        runtime.pid
        for runtime in runtimes.values()
        if runtime is not None and runtime.pid and runtime.state != RuntimeState.STOPPED
    ]
    cpu = sampler.usage(live_pids)
    audience = viewers_by_channel(now)
    rows = []
    for channel in channels:
        runtime = runtimes[channel.pk]
        state = runtime.state if runtime else RuntimeState.STOPPED
        running = runtime is not None and state != RuntimeState.STOPPED
        pid = runtime.pid if running else None
        rows.append(
            MonitorRow(
                channel_id=channel.pk,
                number=channel.number,
                name=channel.name,
                state=state,
                state_label=RuntimeState(state).label,
                pid=pid,
                uptime_seconds=int(_seconds(now - runtime.started_at))
                if running and runtime.started_at
                else None,
                restarts=runtime.restarts if runtime else 0,
                media_sequence=runtime.media_sequence if runtime else 0,
                last_segment_age_seconds=round(_seconds(now - runtime.last_segment_at), 1)
                if runtime and runtime.last_segment_at
                else None,
                coverage_seconds=int(coverage.get(channel.pk, timedelta(0)).total_seconds()),
                viewers=audience.get(channel.pk, ChannelViewers()).total,
                hls_viewers=audience.get(channel.pk, ChannelViewers()).hls,
                ts_viewers=audience.get(channel.pk, ChannelViewers()).ts,
                cpu_percent=round(cpu[pid] * 100, 1) if pid in cpu else None,
                last_error=runtime.last_error if runtime else "",
            )
        )
    return rows


def monitor_data(now: datetime | None = None, sampler: CpuSampler | None = None) -> dict:
    now = now or timezone.now()
    rows = monitor_rows(now, sampler)
    return {
        "generated_at": now.isoformat(),
        "tuners_in_use": ts_stream.tuners_in_use(),
        "tuner_count": ts_stream.tuner_count(),
        "channels": [asdict(row) | {"uptime": row.uptime, "coverage": row.coverage} for row in rows],
    }


# --- Views -----------------------------------------------------------------------------------------


@permission_required("playout.view_channelruntime", raise_exception=True)
@never_cache
def monitor(request, admin_site):
    data = monitor_data()
    context = {
        **admin_site.each_context(request),
        "title": "Playout monitor",
        "data": data,
        "rows": data["channels"],
        "data_url": reverse("admin:playout_monitor_data"),
        "refresh_ms": REFRESH_SECONDS * 1000,
    }
    return TemplateResponse(request, "playout/monitor.html", context)


@permission_required("playout.view_channelruntime", raise_exception=True)
@never_cache
def monitor_json(request, admin_site):
    return JsonResponse(monitor_data())


def monitor_urls(admin_site) -> list:
    """The monitor's URLs, relative to the admin's root; they belong in the admin's URL namespace."""
    options = {"admin_site": admin_site}
    return [
        path("playout/monitor/", admin_site.admin_view(monitor), options, name="playout_monitor"),
        path(
            "playout/monitor/data.json",
            admin_site.admin_view(monitor_json),
            options,
            name="playout_monitor_data",
        ),
    ]
