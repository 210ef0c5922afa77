"""Polling CAP feeds: a CAP document, or an index (Atom, RSS, NWS JSON) of them.

Every outbound request goes through `fetch`, which applies the station's URL policy for CAP feeds
(`retrovue.core.outbound.CAP_FEEDS`): http(s) only, hosts the operator allows
(`RETROVUE_CAP_FEED_HOSTS`, public hosts by default), never loopback or link-local unless listed,
every redirect checked again, the body bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from django.utils import timezone

from alerts.cap import CapError, index_links
from alerts.cap_import import import_cap
from alerts.models import CapFeed
from retrovue.core.outbound import CAP_FEEDS, URLRefused
from retrovue.core.outbound import fetch as fetch_as_the_station

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
    """GET one URL under the CAP-feed policy, bounded in time and size."""
    try:
        response = fetch_as_the_station(
            CAP_FEEDS,
            url,
            timeout=TIMEOUT,
            max_bytes=MAX_BYTES,
            headers={"User-Agent": USER_AGENT, "Accept": ACCEPT},
        )
    except URLRefused as refusal:
        raise FetchError(str(refusal)) from None
    except requests.RequestException as error:
        raise FetchError(f"{url[:200]}: {type(error).__name__}") from None
    if response.status_code != 200:
        raise FetchError(f"{url[:200]} answered HTTP {response.status_code}.")
    return Fetched(response.content, response.headers.get("Content-Type", ""))


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
