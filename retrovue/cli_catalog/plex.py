"""The Plex server and its source row, and finding shows on it (Django imported only when called)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urlsplit

from retrovue.cli_catalog.errors import CommandFailed, UsageError
from retrovue.cli_catalog.options import _option


def resolve_source(args: argparse.Namespace, err: TextIO):
    """The MediaSource to work with: from --plex-url/--plex-token, the environment, or the database."""
    from catalog.choices import SourceKind
    from catalog.models import MediaSource

    url, token = _option(args, "plex_url"), _option(args, "plex_token")
    if url:
        url = url.rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--plex-url must look like http://host:32400, not {url!r}")
        source = (
            MediaSource.objects.filter(kind=SourceKind.PLEX, base_url__in=[url, f"{url}/"])
            .order_by("pk")
            .first()
        )
        if source is None:
            if not token:
                raise UsageError(f"--plex-token (or PLEX_TOKEN) is needed to add the Plex server at {url}")
            info = _check_server(url, token, "")
            source = MediaSource.objects.create(
                name=_free_source_name(info.get("name") or parts.hostname, parts),
                kind=SourceKind.PLEX,
                base_url=url,
                token=token,
                machine_identifier=info.get("machine_identifier", "")[:100],
            )
            print(f"Added Plex source {source.name!r} for {url} (token stored encrypted).", file=err)
            return source
    else:
        sources = list(MediaSource.objects.filter(kind=SourceKind.PLEX, enabled=True))
        if not sources:
            raise UsageError(
                "no Plex server to use: pass --plex-url and --plex-token "
                "(or set PLEX_BASE_URL and PLEX_TOKEN), or add a Plex source in the admin"
            )
        if len(sources) > 1:
            names = ", ".join(f"{s.name} ({s.base_url})" for s in sources)
            raise UsageError(f"{len(sources)} Plex sources are enabled ({names}): choose one with --plex-url")
        source = sources[0]
    if token and token != source.token:
        _check_server(source.base_url, token, source.client_identifier)
        source.token = token
        # The server just accepted it: a source waiting for sign-in may sync again.
        source.auth_state, source.auth_error = "ok", ""
        source.save(update_fields=["token", "auth_state", "auth_error", "updated_at"])
        print(f"Stored the new token for {source.name!r} (encrypted).", file=err)
    if not source.token:
        raise UsageError(
            f"the Plex source {source.name!r} has no token: pass --plex-token (or set PLEX_TOKEN)"
        )
    return source


def _check_server(url: str, token: str, client_identifier: str) -> dict:
    """Ask the server who it is before a token is stored, so a typo never replaces a good token."""
    from catalog.plex.client import PlexClient
    from catalog.plex.errors import PlexError
    from retrovue.log_redaction import redact

    options = {"client_identifier": client_identifier} if client_identifier else {}
    try:
        return PlexClient(url, token, **options).server_info()
    except PlexError as problem:
        raise CommandFailed(redact(str(problem))) from None


def _free_source_name(preferred: str, parts) -> str:
    from catalog.models import MediaSource

    taken = set(MediaSource.objects.values_list("name", flat=True))
    candidates = [preferred, f"{preferred} ({parts.netloc})"]
    candidates += [f"{preferred} ({parts.netloc}) {number}" for number in range(2, 100)]
    return next(name for name in candidates if name[:120] not in taken)[:120]


@dataclass(frozen=True)
class Section:
    key: str
    title: str


def show_sections(client, wanted: str | None) -> list[Section]:
    """The TV sections to search: the one asked for, or every show section of the server."""
    directories = [
        (d.get("key", ""), d.get("title", ""), d.get("type", "")) for d in client.sections() if d.get("key")
    ]
    if wanted:
        found = next((entry for entry in directories if entry[0] == str(wanted)), None)
        if found is None:
            listed = ", ".join(f'{key} "{title}" ({kind})' for key, title, kind in directories) or "none"
            raise UsageError(f"Plex has no library section {wanted}; its sections are: {listed}")
        if found[2] != "show":
            raise UsageError(f'section {found[0]} "{found[1]}" holds {found[2]}s, not TV shows')
        return [Section(found[0], found[1])]
    shows = [Section(key, title) for key, title, kind in directories if kind == "show"]
    if not shows:
        raise UsageError("the Plex server has no TV library section")
    return shows


# --- finding shows -------------------------------------------------------------------------------


@dataclass
class Match:
    section: Section
    rating_key: str
    title: str
    year: int | None
    primary_guid: str
    episodes: int | None
    in_catalog: str = "no"


def _normalised(title: str) -> str:
    return "".join(character for character in title.casefold() if character.isalnum())


def search_shows(client, source, sections: list[Section], title: str, year: int | None) -> list[Match]:
    """Shows whose title contains `title` (ignoring case and punctuation), as Plex lists them now."""
    from catalog.plex.parse import MalformedItem
    from catalog.sync.plex_library import PAGE_SIZE

    wanted = _normalised(title)
    extra = {"title": title, **({"year": year} if year else {})}
    matches = []
    for section in sections:
        for page in client.iter_pages(section.key, "show", page_size=PAGE_SIZE, extra=extra):
            for element in page.elements:
                try:
                    match = _match_from(element, section)
                except MalformedItem:
                    continue
                # Re-checked here: a server that ignores a filter answers with the whole section.
                if wanted in _normalised(match.title) and (not year or match.year == year):
                    matches.append(match)
    matches.sort(key=lambda m: (m.title.casefold(), m.year or 0, m.rating_key))
    return _with_catalog_state(source, matches)


def _match_from(element, section: Section) -> Match:
    from catalog.identity import primary_guid
    from catalog.plex.parse import parse_item

    item = parse_item(element, "show")
    leaves = element.get("leafCount", "")
    return Match(
        section=section,
        rating_key=item.rating_key,
        title=item.title,
        year=item.year,
        primary_guid=primary_guid(item.external_ids) or "",
        episodes=int(leaves) if leaves.isdigit() else None,
    )


def _with_catalog_state(source, matches: list[Match]) -> list[Match]:
    from catalog.models import Show

    keys = [match.rating_key for match in matches]
    states = dict(Show.objects.filter(source=source, rating_key__in=keys).values_list("rating_key", "state"))
    for match in matches:
        state = states.get(match.rating_key)
        match.in_catalog = "no" if state is None else ("yes" if state == "active" else state)
    return matches


def match_table(matches: list[Match]) -> str:
    several_sections = len({m.section for m in matches}) > 1
    header = ["Title", "Year", "ratingKey", "Primary id", "Episodes", "In catalog"]
    if several_sections:
        header.append("Library")
    rows = [header]
    for m in matches:
        row = [
            m.title,
            str(m.year or "—"),
            m.rating_key,
            m.primary_guid or "—",
            "?" if m.episodes is None else str(m.episodes),
            m.in_catalog,
        ]
        if several_sections:
            row.append(f"{m.section.title} ({m.section.key})")
        rows.append(row)
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    right = {1, 4}  # numbers line up on the right
    lines = [
        "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]
    return "\n".join(lines)


def _describe_search(title: str, year: int | None) -> str:
    return f'"{title}"' + (f" ({year})" if year else "")
