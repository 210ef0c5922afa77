"""Request counting, for tests that assert how many API calls a sync made.

A request is recorded when it arrives, before any latency, fault or auth
check, so the count is settled by the time the client sees a response.
Control-path requests (``/_emulator/...``) are not counted.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, deque
from dataclasses import dataclass

TOKEN_IN_QUERY = re.compile(r"(X-Plex-Token=)[^&\s]*", re.IGNORECASE)
REDACTED = "[redacted]"  # the marker RetroVue's own log filter uses


def redact(text: str) -> str:
    """Hide token values in a URL or request line (Plex's own log does the same)."""
    return TOKEN_IN_QUERY.sub(lambda match: match.group(1) + REDACTED, text)


@dataclass
class RequestRecord:
    method: str
    path: str
    query: str  # token redacted
    container_start: str | None
    container_size: str | None
    status: int | None = None  # None until answered, and for reset/timeout faults
    fault: str | None = None


class RequestStats:
    """Totals per path plus the most recent request records."""

    def __init__(self, keep: int = 20_000) -> None:
        self._lock = threading.Lock()
        self._by_path: Counter[str] = Counter()
        self._records: deque[RequestRecord] = deque(maxlen=keep)

    def record(self, method: str, path: str, query: str, headers, params: dict[str, str]) -> RequestRecord:
        def paging(name: str) -> str | None:
            return params.get(name, headers.get(name))

        entry = RequestRecord(
            method=method,
            path=path,
            query=redact(query),
            container_start=paging("X-Plex-Container-Start"),
            container_size=paging("X-Plex-Container-Size"),
        )
        with self._lock:
            self._by_path[path] += 1
            self._records.append(entry)
        return entry

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._by_path.values())

    @property
    def by_path(self) -> dict[str, int]:
        with self._lock:
            return dict(self._by_path)

    @property
    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def count(self, pattern: str | None = None) -> int:
        """Requests whose path matches the regular expression (searched, not anchored)."""
        if pattern is None:
            return self.total
        compiled = re.compile(pattern)
        with self._lock:
            return sum(hits for path, hits in self._by_path.items() if compiled.search(path))

    def reset(self) -> None:
        with self._lock:
            self._by_path.clear()
            self._records.clear()

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {"total": sum(self._by_path.values()), "byPath": dict(sorted(self._by_path.items()))}
