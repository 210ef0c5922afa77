"""The external ids an .nfo carries, as Kodi, TinyMediaManager and their scrapers write them.

`<uniqueid type="…">` is the modern form; the one marked `default="true"` is the item's primary
id. Older and third-party writers use `<imdbid>`, `<tmdbid>`, `<tvdbid>`, `<imdb>`, `<tmdb>`,
`<tvdb>`, and the legacy `<id>`, whose meaning depends on the root and the scraper that wrote it:
an IMDb `tt…` anywhere; a number that repeats a `<uniqueid>` is that provider's (Kodi's TMDB
scrapers write the TMDB id there); a number in a Kodi-17 `tvshow.nfo` (no `<uniqueid>` at all) is
TheTVDB's. Any other bare number could be any provider's, so it is skipped with a warning rather
than filed under a guessed one. Scraper URLs (IMDb, TMDB, TheTVDB) carry ids too.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from catalog.choices import PROVIDER_PRIORITY, ExternalIdProvider
from catalog.identity import parse_guid

# Where scraper URLs keep their ids.
_URL_ID_PATTERNS = [
    (re.compile(r"imdb\.com/title/(tt\d+)", re.IGNORECASE), ExternalIdProvider.IMDB),
    (re.compile(r"themoviedb\.org/(?:movie|tv)/(\d+)", re.IGNORECASE), ExternalIdProvider.TMDB),
    (re.compile(r"thetvdb\.com/.*?[?&](?:id|seriesid)=(\d+)", re.IGNORECASE), ExternalIdProvider.TVDB),
    (
        re.compile(r"thetvdb\.com/(?:api/[^/]+/)?series/(\d+)(?:[/?#]|$)", re.IGNORECASE),
        ExternalIdProvider.TVDB,
    ),
    (re.compile(r"thetvdb\.com/dereferrer/series/(\d+)", re.IGNORECASE), ExternalIdProvider.TVDB),
]
_LEGACY_TAGS = {
    "tvdbid": ExternalIdProvider.TVDB,
    "tvdb": ExternalIdProvider.TVDB,
    "tmdbid": ExternalIdProvider.TMDB,
    "tmdb": ExternalIdProvider.TMDB,
    "imdbid": ExternalIdProvider.IMDB,
    "imdb": ExternalIdProvider.IMDB,
}
_IMDB_ID = re.compile(r"tt\d+")


def ids_from_urls(urls: list[str]) -> dict[str, str]:
    """Provider → id from scraper URLs, the first URL of each provider winning."""
    ids: dict[str, str] = {}
    for url in urls:
        for pattern, provider in _URL_ID_PATTERNS:
            match = pattern.search(url)
            if match:
                ids.setdefault(str(provider), match.group(1))
    return ids


def read_ids(
    kind: str,
    children: dict[str, list[ET.Element]],
    url_ids: dict[str, str],
    warnings: list[str],
) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
    """External ids, one per provider (`<uniqueid>` first, then the legacy tags, then URLs), and
    the `<uniqueid default="true">` one."""
    found: dict[str, str] = {}
    default: tuple[str, str] | None = None
    uniques = children.get("uniqueid", [])
    for unique in uniques:
        value = (unique.text or "").strip()
        provider = _provider(attribute(unique, "type"), value)
        if provider and value:
            found.setdefault(provider, value)
            if attribute(unique, "default").lower() == "true" and default is None:
                default = (provider, value)
        elif value:
            warnings.append(
                f"<uniqueid type={attribute(unique, 'type')!r}> is not a provider RetroVue knows; skipped"
            )
    for tag, provider in _LEGACY_TAGS.items():
        for child in children.get(tag, []):
            value = (child.text or "").strip()
            if value and _plausible(str(provider), value):
                found.setdefault(str(provider), value)
            elif value:
                warnings.append(f"<{tag}> {value!r} is not a {provider.label} id; skipped")
    for child in children.get("id", []):
        value = (child.text or "").strip()
        if value:
            _legacy_id(kind, value, uniques, found, warnings)
    for provider, value in [*url_ids.items(), *_episode_guide_ids(children).items()]:
        found.setdefault(provider, value)
    ids = sorted(found.items(), key=lambda pair: PROVIDER_PRIORITY[pair[0]])
    return ids, default


def _episode_guide_ids(children: dict[str, list[ET.Element]]) -> dict[str, str]:
    """A show's ids in its `<episodeguide>`: JSON since Kodi 19 (`{"tvdb": "78020", …}`), a
    scraper URL before (`<url>…/series/78020/all/en.zip</url>`)."""
    ids: dict[str, str] = {}
    for guide in children.get("episodeguide", []):
        text = " ".join(part.strip() for part in guide.itertext() if part.strip())
        try:
            parsed = json.loads(text) if text.startswith("{") else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            for key, value in parsed.items():
                provider = _provider(str(key), str(value).strip())
                if provider and _plausible(provider, str(value).strip()):
                    ids.setdefault(provider, str(value).strip())
        else:
            for provider, value in ids_from_urls(text.split()).items():
                ids.setdefault(provider, value)
    return ids


def attribute(element: ET.Element, name: str) -> str:
    """An attribute by name in any letter case (`Type="IMDB"` is seen in the wild)."""
    for key, value in element.attrib.items():
        if key.lower() == name:
            return value
    return ""


def _legacy_id(kind: str, value: str, uniques, found: dict[str, str], warnings: list[str]) -> None:
    if _IMDB_ID.fullmatch(value):
        found.setdefault(str(ExternalIdProvider.IMDB), value)
        return
    if value.isdigit():
        if value in found.values():
            return  # it repeats a <uniqueid> (Kodi's TMDB scrapers write the TMDB id there)
        if kind == "tvshow" and not uniques:
            found.setdefault(str(ExternalIdProvider.TVDB), value)  # Kodi 17's TheTVDB scraper
            return
        warnings.append(f"<id> {value} does not say which provider's id it is; skipped")
        return
    pair = parse_guid(value)
    if pair:
        found.setdefault(pair[0], pair[1])
    else:
        warnings.append(f"<id> {value!r} is not an id RetroVue can read; skipped")


def _plausible(provider: str, value: str) -> bool:
    if provider == ExternalIdProvider.IMDB:
        return bool(_IMDB_ID.fullmatch(value))
    return value.isdigit()


def _provider(type_name: str, value: str) -> str | None:
    name = type_name.strip().lower()
    if not name:
        return str(ExternalIdProvider.IMDB) if _IMDB_ID.fullmatch(value) else None
    if name == "themoviedb":
        name = "tmdb"
    pair = parse_guid(f"{name}://{value}") if value else None
    return pair[0] if pair else None
