"""XMLTV guide data from the program log (the coarse log), as IPTV clients and Plex's DVR read it.

The document follows xmltv.dtd (Debian's xmltv-util): channels first, then every channel's
programmes in time order, child elements in the DTD's order. It is written as strings rather than
through an XML library because a week of 50 channels is ~17,000 programmes and has to render in a
fraction of a second; `escape` keeps that safe.

Every channel gets a contiguous guide over the window: time the log does not cover (nothing built
yet, a hole the builder left) becomes a placeholder programme, because clients drop channels without
programmes and show gaps as "no information".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import quote

from django.db.models import Value
from django.db.models.functions import Coalesce, NullIf

from catalog.models import artwork_url
from scheduling.models import Channel, ProgramEntry

GENERATOR = "RetroVue"
PLACEHOLDER_DESCRIPTION = "Programming to be announced."

MPAA_RATINGS = frozenset({"G", "PG", "PG-13", "R", "NC-17", "NR", "X", "UNRATED"})

# Characters XML 1.0 forbids even as character references; Plex metadata occasionally has them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

PROGRAMME_FIELDS = (
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
    "icon_hash",
    "special",
)

# A programme's picture: the show's poster for an episode (what guides show), else the season's,
# else the item's own (a movie's poster, an episode's still).
ICON_HASH = Coalesce(
    NullIf("playable__episode__show__artwork_hash", Value("")),
    NullIf("playable__episode__season__artwork_hash", Value("")),
    NullIf("playable__artwork_hash", Value("")),
    Value(""),
)


def escape(text: str) -> str:
    """Text or attribute value for XML: `&<>"` as entities, forbidden control characters dropped."""
    if _INVALID_XML.search(text):
        text = _INVALID_XML.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def xmltv_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S +0000")


def xmltv_ns(season: int | None, episode: int | None) -> str | None:
    """`season.episode.` counted from 0, as xmltv_ns wants; the catalog counts both from 1.

    Season 0 holds specials. Writing "0" (the xmltv_ns for season 1) or "-1" would misfile them
    (Plex's DVR would take a special for S01Exx), so a special's season part stays empty:
    ".4." says "episode 5, season unknown". An episode 0 (some pilots) leaves the episode part empty.
    """
    if season is None and episode is None:
        return None
    season_part = str(season - 1) if season else ""
    episode_part = str(episode - 1) if episode else ""
    if not season_part and not episode_part:
        return None
    return f"{season_part}.{episode_part}."


def onscreen(season: int | None, episode: int | None, last_episode: int | None = None) -> str | None:
    """`S01E02` as guides print it; specials stay `S00E05`; a file of several episodes `S01E01-E02`."""
    if season is None or episode is None:
        return None
    code = f"S{season:02d}E{episode:02d}"
    return f"{code}-E{last_episode:02d}" if last_episode and last_episode > episode else code


def rating_system(rating: str) -> str | None:
    if rating.startswith("TV-"):
        return "VCHIP"
    if rating in MPAA_RATINGS:
        return "MPAA"
    return None


def normalised_rating(rating: str) -> str:
    """ "us/TV-14" (Plex's form for some agents) → "TV-14"."""
    return rating.strip().rsplit("/", 1)[-1].upper() if rating else ""


def absolute_url(base_url: str, url: str, token: str | None = None) -> str:
    """`url` (absolute, or a path from the storage) made absolute under `base_url`, with `?token=`."""
    if not url.startswith(("http://", "https://")):
        url = base_url.rstrip("/") + "/" + url.lstrip("/")
    if token:
        url += ("&" if "?" in url else "?") + "token=" + quote(token, safe="")
    return url


def logo_url(channel: Channel, base_url: str, token: str | None = None) -> str | None:
    if not channel.logo:
        return None
    return absolute_url(base_url, channel.logo.url, token)


def channel_element(channel: Channel, base_url: str, token: str | None = None) -> str:
    # Plex matches the guide to its tuner's lineup on the bare number, so it is always one of them.
    names = [f"{channel.number} {channel.name}", channel.number, channel.name]
    if channel.call_sign and channel.call_sign not in names:
        names.append(channel.call_sign)
    parts = [f'  <channel id="{escape(channel.xmltv_id)}">\n']
    parts.extend(f"    <display-name>{escape(name)}</display-name>\n" for name in names)
    icon = logo_url(channel, base_url, token)
    if icon:
        parts.append(f'    <icon src="{escape(icon)}"/>\n')
    parts.append("  </channel>\n")
    return "".join(parts)


class _Times:
    """Formats each instant once: a program's stop is the next one's start, and half hours repeat."""

    def __init__(self):
        self.cache: dict[datetime, str] = {}

    def __call__(self, moment: datetime) -> str:
        text = self.cache.get(moment)
        if text is None:
            text = self.cache[moment] = xmltv_time(moment)
        return text


class _Icons(dict):
    """Absolute poster URLs by image hash, each built once (a show's episodes share its poster)."""

    def __init__(self, base_url: str):
        super().__init__()
        self.base_url = base_url

    def __missing__(self, content_hash: str) -> str:
        url = self[content_hash] = absolute_url(self.base_url, artwork_url(content_hash))
        return url


def programme_element(
    channel_id: str,
    start: str,
    stop: str,
    title: str,
    subtitle: str = "",
    description: str = "",
    category: str = "",
    content_rating: str = "",
    season: int | None = None,
    episode: int | None = None,
    is_rerun: bool | None = None,
    icon: str | None = None,
    special: bool = False,
    last_episode: int | None = None,
) -> str:
    """One `<programme>`; `channel_id`, `start` and `stop` are already escaped/formatted, `icon` is an
    absolute URL."""
    out = [
        f'  <programme start="{start}" stop="{stop}" channel="{channel_id}">\n    <title>{escape(title)}</title>\n'
    ]
    if subtitle:
        out.append(f"    <sub-title>{escape(subtitle)}</sub-title>\n")
    if description:
        out.append(f"    <desc>{escape(description)}</desc>\n")
    if category:
        out.append(f"    <category>{escape(category)}</category>\n")
    if special:
        out.append("    <category>Special</category>\n")
    if icon:
        out.append(f'    <icon src="{escape(icon)}"/>\n')
    ns = xmltv_ns(season, episode)
    if ns:
        out.append(f'    <episode-num system="xmltv_ns">{ns}</episode-num>\n')
    shown = onscreen(season, episode, last_episode)
    if shown:
        out.append(f'    <episode-num system="onscreen">{shown}</episode-num>\n')
    if special:
        out.append("    <premiere/>\n    <new/>\n")  # a one-off placed on the desk: first airing
    elif is_rerun is not None:
        out.append("    <previously-shown/>\n" if is_rerun else "    <new/>\n")
    rating = normalised_rating(content_rating)
    if rating:
        system = rating_system(rating)
        system_attribute = f' system="{system}"' if system else ""
        out.append(f"    <rating{system_attribute}>\n      <value>{escape(rating)}</value>\n    </rating>\n")
    out.append("  </programme>\n")
    return "".join(out)


def _placeholder(channel: Channel, channel_id: str, start: str, stop: str) -> str:
    return programme_element(channel_id, start, stop, channel.name, description=PLACEHOLDER_DESCRIPTION)


def programmes_by_channel(
    channels: list[Channel], start: datetime, stop: datetime, fill_gaps: bool = True, base_url: str = ""
) -> dict[int, list[str]]:
    """Each channel's `<programme>` elements overlapping [start, stop), in time order.

    Overlapping rows (a builder bug) are clipped to where the previous program ends, so the guide
    stays valid; a row wholly inside the previous one is left out.
    """
    by_id = {channel.pk: channel for channel in channels}
    ids = {pk: escape(channel.xmltv_id) for pk, channel in by_id.items()}
    out: dict[int, list[str]] = {pk: [] for pk in by_id}
    reached: dict[int, datetime | None] = dict.fromkeys(by_id)  # None until a channel's first row
    times = _Times()
    icons = _Icons(base_url)
    rows = (
        ProgramEntry.objects.filter(channel_id__in=list(by_id), start__lt=stop, stop__gt=start)
        .annotate(icon_hash=ICON_HASH)
        .order_by("channel_id", "start")
        .values_list(*PROGRAMME_FIELDS)
    )
    for (
        channel_pk,
        begins,
        ends,
        title,
        subtitle,
        description,
        category,
        rating,
        season,
        episode,
        last_episode,
        rerun,
        icon_hash,
        special,
    ) in rows.iterator(chunk_size=5000):
        channel_id = ids[channel_pk]
        last = reached[channel_pk]
        if last is None:
            if begins > start and fill_gaps:
                out[channel_pk].append(
                    _placeholder(by_id[channel_pk], channel_id, times(start), times(begins))
                )
        elif begins < last:
            if ends <= last:
                continue
            begins = last
        elif begins > last and fill_gaps:
            out[channel_pk].append(_placeholder(by_id[channel_pk], channel_id, times(last), times(begins)))
        out[channel_pk].append(
            programme_element(
                channel_id,
                times(begins),
                times(ends),
                title,
                subtitle,
                description,
                category,
                rating,
                season,
                episode,
                rerun,
                icons[icon_hash] if icon_hash else None,
                special,
                last_episode,
            )
        )
        reached[channel_pk] = ends
    if fill_gaps:
        for channel_pk, last in reached.items():
            if last is None or last < stop:
                channel = by_id[channel_pk]
                out[channel_pk].append(
                    _placeholder(channel, ids[channel_pk], times(last or start), times(stop))
                )
    return out


def render_xmltv(
    channels: Iterable[Channel],
    start: datetime,
    stop: datetime,
    base_url: str,
    token: str | None = None,
    fill_gaps: bool = True,
) -> bytes:
    """The XMLTV document for `channels` (in channel-number order) covering [start, stop).

    `base_url` ("https://tv.example.com") makes logo and poster URLs absolute; `token`, when given, is added to
    them for servers that protect media like streams.
    """
    ordered = sorted(channels, key=lambda channel: channel.sort_key)
    programmes = programmes_by_channel(ordered, start, stop, fill_gaps=fill_gaps, base_url=base_url)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<!DOCTYPE tv SYSTEM "xmltv.dtd">\n',
        f'<tv generator-info-name="{GENERATOR}">\n',
    ]
    parts.extend(channel_element(channel, base_url, token) for channel in ordered)
    for channel in ordered:
        parts.extend(programmes[channel.pk])
    parts.append("</tv>\n")
    return "".join(parts).encode("utf-8")
