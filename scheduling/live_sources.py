"""Which live-source URLs staff may give a live event: ffmpeg opens them, so they are checked here.

Only the live protocols (HLS over http/https, SRT, RTMP/RTMPS, UDP), never anything that reads
local files or wraps another protocol (`file`, `concat`, `subfile`, `hls+file`, `data`, `pipe`, …),
and only hosts the operator allowed in `RETROVUE_LIVE_SOURCE_HOSTS` (comma-separated host names,
addresses or networks such as `10.0.0.0/24`; none by default, so live events are off until set).
The playout side also runs the live ffmpeg with a matching `-protocol_whitelist`, so an HLS
playlist can't point its segments at local files either.

(The perimeter work, issue 14, plans a shared URL allow-list helper; this is the small one live
events need until it lands.)
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from django.conf import settings

from retrovue.env import env_list

LIVE_SCHEMES = frozenset({"http", "https", "srt", "rtmp", "rtmps", "udp"})
# What ffmpeg may open while reading a source of each scheme (HLS fetches playlists and segments).
PROTOCOL_WHITELIST = {
    "http": "http,https,tcp,tls,crypto",
    "https": "http,https,tcp,tls,crypto",
    "srt": "srt,udp",
    "rtmp": "rtmp,tcp",
    "rtmps": "rtmps,tcp,tls",
    "udp": "udp",
}
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f|,]")


class LiveSourceRefused(ValueError):
    """The URL is not one a live event may use; the message says why."""


def allowed_hosts() -> list[str]:
    configured = getattr(settings, "RETROVUE_LIVE_SOURCE_HOSTS", None)
    return list(configured) if configured is not None else env_list("RETROVUE_LIVE_SOURCE_HOSTS", [])


def _host_allowed(host: str, allowed: list[str]) -> bool:
    host = host.lower().strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for rule in allowed:
        rule = rule.strip().lower()
        if not rule:
            continue
        if address is not None and "/" in rule:
            try:
                if address in ipaddress.ip_network(rule, strict=False):
                    return True
            except ValueError:
                continue
        elif host == rule.strip("[]"):
            return True
    return False


def check_live_url(url: str) -> str:
    """The URL if a live event may read it; raises LiveSourceRefused (a ValueError) otherwise."""
    from scheduling.desk import Refused

    try:
        return _checked(url)
    except LiveSourceRefused as refusal:
        raise Refused(str(refusal)) from None


def _checked(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise LiveSourceRefused("A live event needs its source URL (HLS, SRT, RTMP or UDP).")
    if _UNSAFE.search(url):
        raise LiveSourceRefused("The source URL may not contain spaces, control characters, commas or '|'.")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in LIVE_SCHEMES:
        raise LiveSourceRefused(
            f"{scheme or 'That'}: is not a live protocol; use http(s) (HLS), srt, rtmp(s) or udp."
        )
    if not parts.hostname:
        raise LiveSourceRefused("The source URL needs a host.")
    allowed = allowed_hosts()
    if not _host_allowed(parts.hostname, allowed):
        hint = (
            "no live-source hosts are allowed yet (the operator sets RETROVUE_LIVE_SOURCE_HOSTS)"
            if not allowed
            else "allowed: " + ", ".join(allowed)
        )
        raise LiveSourceRefused(f"{parts.hostname} is not an allowed live-source host ({hint}).")
    return url


def protocol_whitelist(url: str) -> str:
    return PROTOCOL_WHITELIST[urlsplit(url).scheme.lower()]
