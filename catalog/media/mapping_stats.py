"""How many files each path mapping rule maps, and how many of those exist on this machine.

A rule only counts the files it wins for (longest prefix), so overlapping rules each show their
own share. Existence is checked live, so the page answers "did I mount the right disk?" now.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

from catalog.media.paths import PathMapper
from catalog.models import MediaFile, MediaSource


@dataclass(frozen=True)
class MappingStats:
    mapped: int
    present: int


def mapping_stats(source: MediaSource) -> dict[str, MappingStats]:
    """Stats per rule, keyed by the rule's plex_prefix as stored."""
    rules = list(source.path_mappings.values_list("plex_prefix", "local_prefix"))
    mapper = PathMapper(rules, case_insensitive=source.paths_case_insensitive)
    mapped, present = Counter(), Counter()
    paths = (
        MediaFile.objects.filter(playable__source=source)
        .exclude(plex_path="")
        .values_list("plex_path", flat=True)
    )
    for plex_path in paths.iterator(chunk_size=5000):
        rule = mapper.matching_rule(plex_path)
        if rule is None:
            continue
        prefix = rule.configured_prefix
        mapped[prefix] += 1
        local_path = mapper.map(plex_path)
        if local_path and os.path.isfile(local_path):
            present[prefix] += 1
    return {prefix: MappingStats(mapped[prefix], present[prefix]) for prefix, _ in rules}
