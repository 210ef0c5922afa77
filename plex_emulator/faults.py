"""Fault injection: random failures at a rate, and scheduled ones for tests.

Kinds and what a client sees:

* ``http500`` / ``http503``: a Plex-style HTML error page with that status.
* ``reset``: the socket is closed with RST before any response byte.
* ``timeout``: the server holds the request for ``fault_timeout_seconds``,
  then drops it; a client with a shorter timeout gets a read timeout.
* ``malformed``: 200 with a body cut in half, i.e. XML that does not parse.
* ``truncated``: 200 whose ``Content-Length`` promises the full body but the
  connection closes halfway, i.e. an incomplete read.

The random draws use their own seeded generator so a faulty run is
reproducible for a given request sequence.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field

from .config import FAULT_KINDS


@dataclass
class FaultRule:
    """Fail matching requests number ``nth`` .. ``nth + times - 1`` (1-based; ``times=0`` means forever).

    ``path`` is a regular expression searched in the request path including
    its query string, e.g. ``r"/library/sections/\\d+/all"`` or ``"type=4"``.
    """

    kind: str
    path: str = ".*"
    nth: int = 1
    times: int = 1
    seen: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; choose from {FAULT_KINDS}")
        if self.nth < 1 or self.times < 0:
            raise ValueError("nth starts at 1 and times must not be negative")
        self._pattern = re.compile(self.path)

    def consider(self, target: str) -> bool:
        """Count the request if it matches; True when this one must fail."""
        if not self._pattern.search(target):
            return False
        self.seen += 1
        failing = self.seen >= self.nth and (self.times == 0 or self.seen < self.nth + self.times)
        if failing:
            self.fired += 1
        return failing

    def describe(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "path": self.path,
            "nth": self.nth,
            "times": self.times,
            "seen": self.seen,
            "fired": self.fired,
        }


@dataclass(frozen=True)
class InjectedFault:
    kind: str
    target: str


class FaultInjector:
    """Decides, per request, whether and how it fails. Scheduled rules win over the random rate."""

    def __init__(self, *, seed: int, rate: float = 0.0, kinds: tuple[str, ...] = FAULT_KINDS) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"faults:{seed}")
        self._rules: list[FaultRule] = []
        self.injected: list[InjectedFault] = []
        self.set_rate(rate, kinds)

    def set_rate(self, rate: float, kinds: tuple[str, ...] | list[str] | None = None) -> None:
        """Fail this fraction of requests with a kind drawn from ``kinds`` (default: all)."""
        kinds = tuple(kinds) if kinds else FAULT_KINDS
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}")
        with self._lock:
            self._rate, self._kinds = rate, kinds

    def schedule(self, kind: str, path: str = ".*", *, nth: int = 1, times: int = 1) -> FaultRule:
        """Fail the ``nth`` (and following ``times - 1``) request whose path matches ``path``."""
        rule = FaultRule(kind=kind, path=path, nth=nth, times=times)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Drop all scheduled rules and the random rate."""
        with self._lock:
            self._rules.clear()
            self._rate = 0.0

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def decide(self, target: str) -> str | None:
        with self._lock:
            chosen = None
            # Every rule sees every request, so each rule's count stays exact.
            for rule in self._rules:
                if rule.consider(target) and chosen is None:
                    chosen = rule.kind
            if chosen is None and self._rate > 0 and self._rng.random() < self._rate:
                chosen = self._rng.choice(self._kinds)
            if chosen is not None:
                self.injected.append(InjectedFault(kind=chosen, target=target))
            return chosen

    def describe(self) -> dict[str, object]:
        with self._lock:
            return {
                "rate": self._rate,
                "kinds": list(self._kinds),
                "rules": [rule.describe() for rule in self._rules],
                "injected": len(self.injected),
            }
