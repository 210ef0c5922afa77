"""The channel list as an extended M3U playlist for IPTV players (TiviMate, Jellyfin, Threadfin, VLC).

What the clients need: `#EXTM3U url-tvg="…"` pointing at the XMLTV guide; per channel `tvg-id` equal
to the XMLTV channel id, `tvg-name`, a numeric and unique `tvg-chno`, `tvg-logo` and `group-title`
(Threadfin drops entries without it); a display name without commas (Jellyfin splits the line on
its last comma; parsers that split on the first one exist too, so no attribute has a comma either) and
absolute URLs. Attribute values have no double quotes (no player unescapes them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from scheduling.models import Channel
from scheduling.xmltv import absolute_url, logo_url

DEFAULT_GROUP = "RetroVue"

_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f]+")
_COMMAS = re.compile(r"\s*,\s*")
_SPACES = re.compile(r" {2,}")


def stream_path(channel: Channel | str) -> str:
    """Where a channel's live HLS playlist is served (playout writes it, nginx serves it)."""
    number = channel if isinstance(channel, str) else channel.number
    return f"/hls/{number}/index.m3u8"


def stream_url(channel: Channel | str, base_url: str, token: str | None = None) -> str:
    return absolute_url(base_url, stream_path(channel), token)


def clean_text(value: str) -> str:
    """One line, no double quotes, single spaces."""
    value = _LINE_BREAKS.sub(" ", value).replace('"', "")
    return _SPACES.sub(" ", value).strip()


def display_name(value: str) -> str:
    """A name for after the `#EXTINF` comma: commas become spaces (players split on the last one)."""
    return _SPACES.sub(" ", _COMMAS.sub(" ", clean_text(value))).strip()


def channel_numbers(channels: Iterable[Channel]) -> dict[int, str]:
    """`tvg-chno` per channel pk. Numbers are unique as text, but "7.1" and "7.10" or "07" and "7"
    are the same number to a player, so a later duplicate gets none rather than a clash."""
    seen: set[Decimal] = set()
    numbers: dict[int, str] = {}
    for channel in channels:
        value = Decimal(channel.number)
        if value in seen:
            continue
        seen.add(value)
        numbers[channel.pk] = channel.number
    return numbers


def extinf(channel: Channel, chno: str | None, base_url: str, token: str | None = None) -> str:
    attributes = {
        "tvg-id": channel.xmltv_id,
        "tvg-name": display_name(channel.name),
        "tvg-chno": chno,
        "tvg-logo": logo_url(channel, base_url) or "",
        "group-title": display_name(channel.group) or DEFAULT_GROUP,
    }
    rendered = " ".join(
        f'{key}="{clean_text(value)}"' for key, value in attributes.items() if value is not None
    )
    return f"#EXTINF:-1 {rendered},{display_name(channel.name)}\n{stream_url(channel, base_url, token)}\n"


def render_m3u(channels: Iterable[Channel], base_url: str, xmltv_url: str, token: str | None = None) -> str:
    """The playlist for `channels`, in channel-number order; `token` is added to every stream URL."""
    ordered = sorted(channels, key=lambda channel: channel.sort_key)
    numbers = channel_numbers(ordered)
    guide = clean_text(absolute_url(base_url, xmltv_url))
    parts = [f'#EXTM3U url-tvg="{guide}" x-tvg-url="{guide}"\n']
    parts.extend(extinf(channel, numbers.get(channel.pk), base_url, token) for channel in ordered)
    return "".join(parts)
