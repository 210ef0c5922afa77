"""The watch page: one channel in the browser (hls.js, or Safari's own HLS), with what's on now and
next from the program log. Anonymous, like the guide it is linked from."""

from __future__ import annotations

from datetime import datetime

from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from scheduling.m3u import stream_path
from scheduling.models import Channel, ProgramEntry
from scheduling.views import stream_token
from scheduling.xmltv import onscreen

# hls.js served from our own static files (no CDN: viewers' boxes and this host may be offline).
HLS_JS_VERSION = "1.7.4"


def now_and_next(channel: Channel, now: datetime) -> tuple[ProgramEntry | None, ProgramEntry | None]:
    """The program on air at `now` (None in a gap) and the one after it, in one query."""
    upcoming = list(ProgramEntry.objects.filter(channel=channel, stop__gt=now).order_by("start")[:2])
    if upcoming and upcoming[0].start <= now:
        return upcoming[0], upcoming[1] if len(upcoming) > 1 else None
    return None, upcoming[0] if upcoming else None


def _program(program: ProgramEntry | None) -> dict | None:
    if program is None:
        return None
    return {
        "title": program.title,
        "subtitle": program.subtitle,
        "episode": onscreen(program.season_number, program.episode_number) or "",
        "start": program.start.isoformat(),
        "stop": program.stop.isoformat(),
    }


def _channel(number: str) -> Channel:
    return get_object_or_404(Channel, number=number, enabled=True)


@require_safe
def watch(request, number: str):
    channel = _channel(number)
    current, following = now_and_next(channel, timezone.now())
    token = stream_token(request)
    query = f"?{urlencode({'token': token})}" if token else ""
    context = {
        "channel": channel,
        "now_program": current,
        "next_program": following,
        "stream_url": stream_path(channel) + query,
        "now_url": reverse("watch:now_next", args=[channel.number]),
        "guide_url": reverse("scheduling:guide") + query,
        "hls_js_version": HLS_JS_VERSION,
    }
    response = render(request, "playout/watch.html", context)
    patch_cache_control(response, no_cache=True)
    return response


@require_safe
def now_next(request, number: str):
    """What's on now and next, for the page to refresh its caption without reloading the video."""
    channel = _channel(number)
    current, following = now_and_next(channel, timezone.now())
    response = JsonResponse({"now": _program(current), "next": _program(following)})
    patch_cache_control(response, no_cache=True)
    return response
