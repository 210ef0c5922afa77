"""A small, fast client for the parts of the Plex XML API the sync needs.

Why not plexapi for the sync: it builds a Python object per element and pages 100 items at a time;
a 17,000-episode library wants a few large pages parsed straight into plain values. The wire
protocol is the same (verified against real captures and plexapi's own requests, see
PLEX_API_NOTES.md): the token travels in the `X-Plex-Token` header only, paging uses the
`X-Plex-Container-Start`/`-Size` headers and `totalSize`, and changes are found with
`updatedAt>>=` filters.

Transient failures (connection errors, timeouts, 5xx, 429, a truncated body) are retried with
capped exponential backoff and jitter; a 401 or another 4xx fails at once with a clear error.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode
from xml.etree import ElementTree

import requests
from defusedxml import ElementTree as SafeElementTree

from catalog.plex.errors import (
    PlexAuthError,
    PlexError,
    PlexHttpError,
    PlexMalformedResponse,
    PlexUnreachable,
)
from retrovue.core.outbound import PLEX_SERVERS, URLRefused

logger = logging.getLogger(__name__)

TRANSIENT_STATUS = {429, 500, 502, 503, 504}
PLEX_TYPE = {"movie": 1, "show": 2, "season": 3, "episode": 4}


@dataclass
class RetryPolicy:
    max_attempts: int = 8
    first_delay: float = 0.2
    max_delay: float = 5.0

    def delay(self, attempt: int) -> float:
        base = min(self.max_delay, self.first_delay * (2 ** (attempt - 1)))
        return base * (0.5 + random.random() / 2)  # jitter: many workers don't retry in lockstep


@dataclass
class Page:
    elements: list[ElementTree.Element]
    offset: int
    total: int | None


@dataclass
class PlexClient:
    base_url: str
    token: str = field(repr=False)
    client_identifier: str = "retrovue"
    timeout: tuple[float, float] = (5.0, 60.0)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    sleep: Callable[[float], None] = time.sleep
    api_calls: int = 0

    def __post_init__(self):
        self.base_url = self.base_url.rstrip("/")
        self.session.headers.update(
            {
                "X-Plex-Token": self.token,
                "X-Plex-Client-Identifier": self.client_identifier,
                "X-Plex-Product": "RetroVue",
                "X-Plex-Version": "1",
                "Accept": "application/xml",
            }
        )

    # --- transport ---------------------------------------------------------------------------

    def _check_address(self) -> None:
        """Once per client: the server address passes the operator's Plex host list and resolves
        to no loopback, link-local or unlisted private address (retrovue.core.outbound)."""
        if getattr(self, "_address_checked", False):
            return
        try:
            PLEX_SERVERS.check(self.base_url)
        except URLRefused as refusal:
            raise PlexUnreachable(
                f"{self.base_url} is not a Plex address this station may open: {refusal}"
            ) from None
        self._address_checked = True

    def get(self, path: str, params: dict | None = None, headers: dict | None = None) -> ElementTree.Element:
        """GET an XML document, retrying transient failures; returns the root MediaContainer."""
        query = f"?{urlencode(params, safe='<>=,')}" if params else ""
        url = f"{self.base_url}{path}{query}"
        self._check_address()
        last_problem = ""
        for attempt in range(1, self.retry.max_attempts + 1):
            self.api_calls += 1
            try:
                # No redirects: a hop elsewhere would skip the address check (and carry the token).
                response = self.session.get(url, headers=headers, timeout=self.timeout, allow_redirects=False)
            # ChunkedEncodingError: the connection dropped mid-body (a truncated reply), also transient.
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as error:
                last_problem = f"could not reach {self.base_url} ({type(error).__name__})"
            else:
                if response.status_code == 401:
                    raise PlexAuthError(f"{self.base_url} refused the token (401): sign in to Plex again.")
                if response.status_code in TRANSIENT_STATUS:
                    last_problem = f"{self.base_url}{path} answered {response.status_code}"
                elif response.status_code >= 300:
                    raise PlexHttpError(
                        f"{self.base_url}{path} answered {response.status_code}", response.status_code
                    )
                else:
                    try:
                        # defusedxml: a hostile server can't blow up memory with entity expansion.
                        return SafeElementTree.fromstring(response.content)
                    except ElementTree.ParseError as error:
                        last_problem = f"{self.base_url}{path} sent malformed XML ({error})"
            if attempt < self.retry.max_attempts:
                delay = self.retry.delay(attempt)
                logger.info("Plex request failed (%s); retry %d in %.1f s", last_problem, attempt, delay)
                self.sleep(delay)
        if "malformed XML" in last_problem:
            raise PlexMalformedResponse(last_problem)
        if "could not reach" in last_problem:
            raise PlexUnreachable(last_problem)
        raise PlexError(f"gave up after {self.retry.max_attempts} attempts: {last_problem}")

    # --- API ---------------------------------------------------------------------------------

    def server_info(self) -> dict:
        root = self.get("/")
        return {
            "machine_identifier": root.get("machineIdentifier", ""),
            "name": root.get("friendlyName", ""),
            "version": root.get("version", ""),
            "platform": root.get("platform", ""),
        }

    def sections(self) -> list[ElementTree.Element]:
        return list(self.get("/library/sections").iter("Directory"))

    def count(self, section_key: str, plex_type: str) -> int:
        root = self.get(
            f"/library/sections/{section_key}/all",
            {"type": PLEX_TYPE[plex_type], "X-Plex-Container-Start": 0, "X-Plex-Container-Size": 0},
        )
        total = root.get("totalSize", root.get("size"))
        if total is None or not total.isdigit():
            raise PlexMalformedResponse(f"library section {section_key} gave no item count")
        return int(total)

    def iter_pages(
        self,
        section_key: str,
        plex_type: str,
        *,
        page_size: int = 1000,
        updated_since: int | None = None,
        extra: dict | None = None,
    ) -> Iterator[Page]:
        """Every page of a section's items of one type. Raises if the listing can't be completed."""
        params = {"type": PLEX_TYPE[plex_type], "includeGuids": 1, **(extra or {})}
        if updated_since is not None:
            field_name = "updatedAt" if plex_type == "movie" else f"{plex_type}.updatedAt"
            params[f"{field_name}>>"] = updated_since
        offset = 0
        while True:
            root = self.get(
                f"/library/sections/{section_key}/all",
                params,
                headers={"X-Plex-Container-Start": str(offset), "X-Plex-Container-Size": str(page_size)},
            )
            elements = [child for child in root if child.tag in ("Video", "Directory")]
            total = _int_or_none(root.get("totalSize"))
            yield Page(elements=elements, offset=offset, total=total)
            offset += len(elements)
            if (
                not elements
                or (total is not None and offset >= total)
                or (total is None and len(elements) < page_size)
            ):
                return

    def metadata(self, rating_keys: list[str], *, details: bool = True) -> list[ElementTree.Element]:
        """Full metadata for several items in one request (chapters and markers included)."""
        if not rating_keys:
            return []
        params = {"includeChapters": 1, "includeMarkers": 1, "includeGuids": 1} if details else {}
        root = self.get(f"/library/metadata/{','.join(rating_keys)}", params)
        return [child for child in root if child.tag in ("Video", "Directory")]


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


__all__ = ["Page", "PlexClient", "PlexError", "RetryPolicy"]
