"""Which live-source URLs staff may give a live event: ffmpeg opens them, so they are checked here.

The rules are the station's outbound policy for live inputs (`retrovue.core.outbound.LIVE_INPUTS`):
only the live protocols (HLS over http/https, SRT, RTMP/RTMPS, UDP), never anything that reads
local files or wraps another protocol (`file`, `concat`, `subfile`, `hls+file`, `data`, `pipe`, …),
and only hosts the operator allowed in `RETROVUE_LIVE_SOURCE_HOSTS` (comma-separated host names,
`*.suffix`, addresses or networks such as `10.0.0.0/24`; none by default, so live events are off
until set; a wildcard admits only hosts whose every address is public or in a listed network).
The playout side also runs the live ffmpeg with a matching `-protocol_whitelist`, so an HLS
playlist can't point its segments at local files either.
"""

from __future__ import annotations

from retrovue.core.outbound import LIVE_INPUTS, URLRefused

# Kept under the name playout and the desk catch: a refusal of a live-event URL.
LiveSourceRefused = URLRefused


def allowed_hosts() -> list[str]:
    return LIVE_INPUTS.allowed_hosts()


def check_live_url(url: str) -> str:
    """The URL if a live event may read it; raises the desk's Refused (a clear 4xx) otherwise."""
    from scheduling.desk import Refused

    try:
        return _checked(url)
    except LiveSourceRefused as refusal:
        raise Refused(str(refusal)) from None


def _checked(url: str) -> str:
    if not (url or "").strip():
        raise LiveSourceRefused("A live event needs its source URL (HLS, SRT, RTMP or UDP).")
    return LIVE_INPUTS.check(url)


def protocol_whitelist(url: str) -> str:
    return LIVE_INPUTS.ffmpeg_protocols(url)
