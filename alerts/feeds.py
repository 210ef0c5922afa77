"""Polling CAP feeds: a CAP document, or an index (Atom, RSS, NWS JSON) of them.

Every outbound request goes through `fetch`, the one function to point at the station's URL policy
(`retrovue.core.outbound`, being added on another branch) once it lands.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.utils import timezone

from alerts.cap import CapError, index_links
from alerts.cap_import import import_cap
from alerts.models import CapFeed

TIMEOUT = (5, 20)
MAX_BYTES = 2 * 1024 * 1024
MAX_LINKS_PER_POLL = 25
USER_AGENT = "RetroVue alert receiver (station software; contact: station operator)"
ACCEPT = "application/cap+xml, application/atom+xml;q=0.9, application/geo+json;q=0.8, application/xml;q=0.7"


class FetchError(Exception):
    """The feed could not be read; the message says why (never a credential: feeds carry none)."""


@dataclass(frozen=True)
class Fetched:
    body: bytes
    content_type: str


def fetch(url: str) -> Fetched:
    """GET one URL: http(s) only, bounded in time and size, redirects followed by requests (which
    refuses non-http schemes)."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise FetchError(f"{url[:100]!r} is not an http(s) URL.")
    try:
        with requests.get(
            url, timeout=TIMEOUT, stream=True, headers={"User-Agent": USER_AGENT, "Accept": ACCEPT}
        ) as response:
            if response.status_code != 200:
                raise FetchError(f"{url[:200]} answered HTTP {response.status_code}.")
            body = b""
            for chunk in response.iter_content(64 * 1024):
                body += chunk
                if len(body) > MAX_BYTES:
                    raise FetchError(f"{url[:200]} sent more than {MAX_BYTES // 1024} KiB.")
            return Fetched(body, response.headers.get("Content-Type", ""))
    except requests.RequestException as error:
        raise FetchError(f"{url[:200]}: {type(error).__name__}") from None


def _is_cap(body: bytes) -> bool:
    head = body[:4096].decode("utf-8", "replace")
    if "EDXLDistribution" in head:
        return True
    return "emergency:cap" in head and "<feed" not in head and "<rss" not in head


def poll_feed(feed: CapFeed) -> dict:
    """Read the feed once; each CAP document is imported (duplicates are recognised there)."""
    outcomes: dict[str, int] = {}
    try:
        fetched = fetch(feed.url)
        if _is_cap(fetched.body):
            documents = [fetched.body]
        else:
            links = index_links(fetched.body, fetched.content_type)[:MAX_LINKS_PER_POLL]
            documents = [fetch(link).body for link in links]
    except (FetchError, CapError) as error:
        CapFeed.objects.filter(pk=feed.pk).update(last_polled_at=timezone.now(), last_error=str(error)[:2000])
        return {"status": "failed", "error": str(error)}
    for document in documents:
        record = import_cap(document, feed=feed)
        outcomes[record.outcome] = outcomes.get(record.outcome, 0) + 1
    CapFeed.objects.filter(pk=feed.pk).update(last_polled_at=timezone.now(), last_error="")
    return {"status": "done", "outcomes": outcomes}
