"""Parsing external ids from every GUID form Plex (and .nfo files) use, and storing them on items.

Forms handled (see PLEX_API_NOTES §4):
  new agents      plex://show/5d9c…            + <Guid id="tvdb://76290"/> children
  legacy agents   com.plexapp.agents.thetvdb://76290?lang=en          (show)
                  com.plexapp.agents.thetvdb://76290/1?lang=en        (season)
                  com.plexapp.agents.thetvdb://76290/1/10?lang=en     (episode: show/season/episode)
                  com.plexapp.agents.imdb://tt0088000?lang=en, …themoviedb://1234?lang=en
  plain           imdb://tt…, tmdb://…, tvdb://…
  ignored         local://…, com.plexapp.agents.none://…, collection://…, unknown agents
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from catalog.choices import PROVIDER_PRIORITY, ExternalIdOwnerKind, ExternalIdProvider
from catalog.models import ExternalId, primary_external_id

_PROVIDER_ALIASES = {
    "thetvdb": ExternalIdProvider.TVDB,
    "tvdb": ExternalIdProvider.TVDB,
    "themoviedb": ExternalIdProvider.TMDB,
    "tmdb": ExternalIdProvider.TMDB,
    "imdb": ExternalIdProvider.IMDB,
    "plex": ExternalIdProvider.PLEX,
}
_LEGACY_PREFIX = "com.plexapp.agents."
_BARE_IMDB = re.compile(r"^tt\d{5,}$")

ExternalIdPair = tuple[str, str]


def parse_guid(guid: str | None) -> ExternalIdPair | None:
    """One GUID string → (provider, value), or None when it names nothing we can match on."""
    if not guid:
        return None
    guid = guid.strip()
    if _BARE_IMDB.match(guid):
        return (ExternalIdProvider.IMDB, guid)
    scheme, separator, rest = guid.partition("://")
    if not separator or not rest:
        return None
    scheme = scheme.lower()
    if scheme.startswith(_LEGACY_PREFIX):
        scheme = scheme[len(_LEGACY_PREFIX) :]
    provider = _PROVIDER_ALIASES.get(scheme)
    if provider is None:
        return None
    value = rest.split("?", 1)[0].strip().strip("/")
    if not value:
        return None
    return (str(provider), value)


def external_ids_from_plex(
    guid_attribute: str | None, guid_children: Iterable[str] = ()
) -> list[ExternalIdPair]:
    """All ids of one Plex item: its `guid` attribute plus its `<Guid id=…>` children, deduplicated."""
    found: dict[ExternalIdPair, None] = {}
    for guid in (guid_attribute, *guid_children):
        pair = parse_guid(guid)
        if pair is not None:
            found[pair] = None
    # One value per provider: the child ids (new agents) are authoritative, so keep the last seen.
    by_provider: dict[str, str] = {}
    for provider, value in found:
        by_provider[provider] = value
    return sorted(by_provider.items(), key=lambda pair: PROVIDER_PRIORITY[pair[0]])


def primary_guid(ids: list[ExternalIdPair]) -> str:
    best = primary_external_id(ids)
    return f"{best[0]}://{best[1]}" if best else ""


def owner_fields(owner) -> dict:
    """The ExternalId foreign-key field and owner kind for a Show, Season or Playable subclass."""
    from catalog.models import Playable, Season, Show

    if isinstance(owner, Show):
        return {"show": owner, "owner_kind": ExternalIdOwnerKind.SHOW}
    if isinstance(owner, Season):
        return {"season": owner, "owner_kind": ExternalIdOwnerKind.SEASON}
    if isinstance(owner, Playable):
        kind = {"episode": ExternalIdOwnerKind.EPISODE, "movie": ExternalIdOwnerKind.MOVIE}.get(
            owner.kind, ExternalIdOwnerKind.SHORT_FORM
        )
        return {"playable": owner, "owner_kind": kind}
    raise TypeError(f"{type(owner).__name__} cannot carry external ids")


def replace_external_ids(owner, source_id: int, ids: list[ExternalIdPair]) -> list[ExternalIdPair]:
    """Make the owner's stored ids exactly `ids`; ids another item of the same kind holds are skipped.

    Returns the ids that were skipped because of that collision (a duplicate item in the source),
    so the caller can report them instead of failing the whole batch.
    """
    fields = owner_fields(owner)
    owner_filter = {key: value for key, value in fields.items() if key != "owner_kind"}
    wanted = set(ids)
    existing = set(ExternalId.objects.filter(**owner_filter).values_list("provider", "value"))
    stale = existing - wanted
    if stale:
        for provider, value in stale:
            ExternalId.objects.filter(**owner_filter, provider=provider, value=value).delete()
    taken = set(
        ExternalId.objects.filter(
            source_id=source_id,
            owner_kind=fields["owner_kind"],
            provider__in=[provider for provider, _ in wanted - existing] or [""],
            value__in=[value for _, value in wanted - existing] or [""],
        ).values_list("provider", "value")
    )
    skipped = sorted((wanted - existing) & taken)
    ExternalId.objects.bulk_create(
        [
            ExternalId(source_id=source_id, provider=provider, value=value, **fields)
            for provider, value in sorted(wanted - existing - taken)
        ]
    )
    return skipped
