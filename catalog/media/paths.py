"""Turning a path as the media server reports it into the path this machine can open.

Rules: separators are translated (`\\` and `/` are the same), a prefix matches whole path
components only (`/data/tv` does not match `/data/tvshows`), the longest matching prefix wins
(so overlapping rules such as `/data/tv` and `/data/tv/kids` are fine), and matching ignores
case when the server's file system does (Windows).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def _normalise(path: str) -> str:
    path = path.replace("\\", "/")
    leading = "//" if path.startswith("//") else ""  # a UNC share keeps its leading pair
    body = re.sub(r"/{2,}", "/", path[len(leading) :])
    if len(body) > 1:
        body = body.rstrip("/")
    return leading + body


def looks_like_windows_path(path: str) -> bool:
    return bool(_WINDOWS_DRIVE.match(path)) or path.startswith("\\\\")


@dataclass(frozen=True)
class _Rule:
    match_prefix: str
    local_prefix: str
    length: int
    configured_prefix: str


class PathMapper:
    """Maps server paths to local paths with a source's rules; build once per sync, call per file."""

    def __init__(self, mappings: Iterable[tuple[str, str]], *, case_insensitive: bool = False):
        self.case_insensitive = case_insensitive
        rules = []
        for server_prefix, local_prefix in mappings:
            normalised = _normalise(server_prefix.strip())
            if not normalised:
                continue
            rules.append(
                _Rule(self._key(normalised), local_prefix.rstrip("/") or "/", len(normalised), server_prefix)
            )
        self._rules = sorted(rules, key=lambda rule: rule.length, reverse=True)

    @classmethod
    def for_source(cls, source) -> PathMapper:
        return cls(
            source.path_mappings.values_list("plex_prefix", "local_prefix"),
            case_insensitive=source.paths_case_insensitive,
        )

    def _key(self, path: str) -> str:
        return path.casefold() if self.case_insensitive else path

    def matching_rule(self, server_path: str) -> _Rule | None:
        key = self._key(_normalise(server_path))
        for rule in self._rules:
            if (
                key == rule.match_prefix
                or key.startswith(rule.match_prefix + "/")
                or rule.match_prefix == "/"
            ):
                return rule
        return None

    def map(self, server_path: str) -> str | None:
        """The local path, or None when no rule applies and the path can't be local as it stands."""
        if not server_path:
            return None
        normalised = _normalise(server_path)
        rule = self.matching_rule(server_path)
        if rule is None:
            # No rule: the server shares this machine's file system, unless its paths are Windows ones.
            return None if looks_like_windows_path(server_path) else normalised
        remainder = normalised[rule.length :].lstrip("/")
        if not remainder:
            return rule.local_prefix
        return f"{rule.local_prefix.rstrip('/')}/{remainder}"
