"""Viewer-facing pages and feeds, readable without signing in: the XMLTV guide data, the M3U channel
list and the TV guide grid. Absolute URLs come from the request, so they carry the host and scheme
the client used (through the proxy headers the settings trust)."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_safe

from catalog.models import POSTER_WIDTH, THUMB_WIDTH, artwork_url
from retrovue.core.public_url import public_base_url
from retrovue.core.stream_access import refuse_without_token
from scheduling.m3u import render_m3u as render_m3u_text
from scheduling.models import Channel, ProgramEntry
from scheduling.xmltv import ICON_HASH, logo_url, onscreen, render_xmltv

GUIDE_DAYS = 7
FEED_MAX_AGE = 300
M3U_CONTENT_TYPE = "audio/x-mpegurl; charset=utf-8"
XMLTV_CONTENT_TYPE = "application/xml; charset=utf-8"

GRID_HOURS_DEFAULT = 3
GRID_HOURS_MAX = 12
SLOT = timedelta(minutes=30)
GUIDE_YEARS = range(1970, 2200)  # beyond these, window arithmetic would overflow datetime
ZONE_CHOICES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "UTC",
)

_TOKEN = re.compile(r"^[A-Za-z0-9._~-]{1,200}$")


def base_url(request) -> str:
    return public_base_url(request)  # never a forged Host header (see retrovue.core.public_url)


def stream_token(request) -> str | None:
    """A stream token the client passed (`?token=`), handed on to the URLs we give it; anything that
    could not be a token is ignored rather than written into a playlist."""
    token = request.GET.get("token", "")
    return token if _TOKEN.match(token) else None


def enabled_channels() -> list[Channel]:
    return sorted(Channel.objects.filter(enabled=True), key=lambda channel: channel.sort_key)


@require_safe
@gzip_page  # a week of 50 channels is ~11 MB of XML; guide clients accept gzip
def xmltv(request):
    denied = refuse_without_token(request)
    if denied:
        return denied
    start = timezone.now().astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    body = render_xmltv(
        enabled_channels(),
        start,
        start + timedelta(days=GUIDE_DAYS),
        base_url(request),
        token=stream_token(request),
    )
    response = HttpResponse(body, content_type=XMLTV_CONTENT_TYPE)
    patch_cache_control(response, max_age=FEED_MAX_AGE)
    return response


@require_safe
def channels_m3u(request):
    denied = refuse_without_token(request)
    if denied:
        return denied
    token = stream_token(request)
    guide = reverse("scheduling:xmltv") + (f"?token={token}" if token else "")
    body = render_m3u_text(enabled_channels(), base_url(request), guide, token=token)
    response = HttpResponse(body, content_type=M3U_CONTENT_TYPE)
    patch_cache_control(response, max_age=FEED_MAX_AGE)
    return response


# --- The guide grid -------------------------------------------------------------------------


@dataclass
class Cell:
    """One box in a channel's row: a program (or a gap without listings) clipped to the window."""

    left: float
    width: float
    title: str
    starts_before: bool = False
    ends_after: bool = False
    program: ProgramEntry | None = None
    times: str = ""
    episode: str = ""
    on_now: bool = False
    poster: str | None = None  # small, in the cell
    poster_large: str | None = None  # in the details panel


@dataclass
class Row:
    channel: Channel
    watch_url: str
    logo: str | None
    cells: list[Cell] = field(default_factory=list)


def viewer_zone(name: str | None) -> tuple[zoneinfo.ZoneInfo, str, bool]:
    """The zone named by `?tz=`, else the station's default; the flag says a bad name was ignored."""
    fallback = settings.TIME_ZONE
    if not name:
        return zoneinfo.ZoneInfo(fallback), fallback, False
    try:
        return zoneinfo.ZoneInfo(name), name, False
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(fallback), fallback, True


def floor_to_slot(moment: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """The start of the local half hour `moment` falls in (local, because of :45 offsets), in UTC."""
    local = moment.astimezone(zone)
    floored = local.replace(minute=local.minute - local.minute % 30, second=0, microsecond=0)
    return floored.astimezone(UTC)


def parse_window_start(value: str | None, zone: zoneinfo.ZoneInfo, now: datetime) -> datetime:
    """`?start=2026-11-22T18:30` (the viewer's local time) → the window's first half hour, UTC.
    Anything unreadable or absurdly far off shows the current window."""
    if value:
        try:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
            if moment.year in GUIDE_YEARS:
                return floor_to_slot(moment, zone)
        except (ValueError, OverflowError):
            pass
    return floor_to_slot(now, zone)


def clock(moment: datetime) -> str:
    """ "6:30 PM": how a TV listing prints a time."""
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def span(start: datetime, stop: datetime, zone: zoneinfo.ZoneInfo) -> str:
    local_start, local_stop = start.astimezone(zone), stop.astimezone(zone)
    text = f"{clock(local_start)} – {clock(local_stop)}"
    if local_start.date() != local_stop.date():
        text += f" ({local_stop:%a})"
    return text


def percent(offset: timedelta, window: timedelta) -> float:
    return round(offset / window * 100, 4)


def build_rows(
    channels: list[Channel],
    programs: list[ProgramEntry],
    window_start: datetime,
    window_end: datetime,
    zone: zoneinfo.ZoneInfo,
    now: datetime,
    base: str,
) -> list[Row]:
    """Each channel's cells across the window: programs clipped at the edges, gaps as empty boxes."""
    window = window_end - window_start
    by_channel: dict[int, list[ProgramEntry]] = {channel.pk: [] for channel in channels}
    for program in programs:
        by_channel[program.channel_id].append(program)
    rows = []
    for channel in channels:
        row = Row(
            channel=channel,
            watch_url=reverse("watch:channel", args=[channel.number]),
            logo=logo_url(channel, base),
        )
        reached = window_start
        for program in by_channel[channel.pk]:
            start, stop = max(program.start, reached), min(program.stop, window_end)
            if stop <= start:
                continue  # wholly inside the previous program (overlapping rows)
            if start > reached:
                row.cells.append(_gap(reached, start, window_start, window))
            row.cells.append(
                Cell(
                    left=percent(start - window_start, window),
                    width=percent(stop - start, window),
                    title=program.title,
                    starts_before=program.start < window_start,
                    ends_after=program.stop > window_end,
                    program=program,
                    times=span(program.start, program.stop, zone),
                    episode=onscreen(
                        program.season_number, program.episode_number, program.last_episode_number
                    )
                    or "",
                    on_now=program.start <= now < program.stop,
                    poster=artwork_url(getattr(program, "icon_hash", ""), THUMB_WIDTH),
                    poster_large=artwork_url(getattr(program, "icon_hash", ""), POSTER_WIDTH),
                )
            )
            reached = stop
        if reached < window_end:
            row.cells.append(_gap(reached, window_end, window_start, window))
        rows.append(row)
    return rows


def _gap(start: datetime, stop: datetime, window_start: datetime, window: timedelta) -> Cell:
    return Cell(
        left=percent(start - window_start, window), width=percent(stop - start, window), title="No listing"
    )


@require_safe
def guide(request):
    now = timezone.now()
    zone, zone_name, bad_zone = viewer_zone(request.GET.get("tz"))
    try:
        hours = min(max(int(request.GET.get("hours", GRID_HOURS_DEFAULT)), 1), GRID_HOURS_MAX)
    except ValueError:
        hours = GRID_HOURS_DEFAULT
    window_start = parse_window_start(request.GET.get("start"), zone, now)
    window = timedelta(hours=hours)
    window_end = window_start + window
    channels = enabled_channels()
    programs = list(
        ProgramEntry.objects.filter(
            channel_id__in=[channel.pk for channel in channels], start__lt=window_end, stop__gt=window_start
        )
        .only(
            "channel_id",
            "start",
            "stop",
            "title",
            "subtitle",
            "description",
            "category",
            "content_rating",
            "season_number",
            "episode_number",
            "last_episode_number",
            "is_rerun",
        )
        .annotate(icon_hash=ICON_HASH)
        .order_by("channel_id", "start")
    )
    base = base_url(request)
    rows = build_rows(channels, programs, window_start, window_end, zone, now, base)
    columns = [
        {
            "left": percent(SLOT * index, window),
            "label": clock((window_start + SLOT * index).astimezone(zone)),
        }
        for index in range(hours * 2)
    ]
    local_start = window_start.astimezone(zone)
    step = timedelta(minutes=hours * 30)  # half a window, so the context stays on screen

    def link(moment: datetime | None) -> str:
        query = {"tz": zone_name}
        if moment is not None:
            query["start"] = moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
        if hours != GRID_HOURS_DEFAULT:
            query["hours"] = str(hours)
        return "?" + urlencode(query)

    zones = list(dict.fromkeys([zone_name, settings.TIME_ZONE, *ZONE_CHOICES]))
    live = window_start <= now < window_end
    context = {
        "rows": rows,
        "columns": columns,
        "now_left": percent(now - window_start, window) if live else None,
        "live": live and not request.GET.get("start"),
        "window_start": window_start,
        "window_end": window_end,
        "window_seconds": int(window.total_seconds()),
        "day_label": f"{local_start:%A, %B} {local_start.day}",
        "zone_name": zone_name,
        "zone_abbreviation": local_start.tzname(),
        "zones": zones,
        "bad_zone": bad_zone,
        "hours": hours,
        "earlier_url": link(window_start - step),
        "later_url": link(window_start + step),
        "now_url": link(None),
        "guide_url": reverse("scheduling:guide"),
        "xmltv_url": reverse("scheduling:xmltv"),
        "m3u_url": reverse("scheduling:channels_m3u"),
    }
    response = render(request, "scheduling/guide.html", context)
    patch_cache_control(response, max_age=60)
    return response
