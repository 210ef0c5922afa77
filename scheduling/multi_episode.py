"""Files that hold several episodes air once, as one program.

A double episode on disk (`Show - S01E01-E02.mkv`, or one .nfo with two `<episodedetails>`) is
stored as one catalog episode per episode, each pointing at the same file; Plex lists each episode
of such a file with the same Part. Aired as stored, the file would play once per episode, and
sequential order would step into the middle of it. So before scheduling sees a show's episodes,
those sharing a file are folded into one `Item`: the first episode stands for the file (its id is
what the log records and what plays), its title names every episode, its length is the file's,
and `episode_last` carries the last episode number for the guide (`S01E01-E02`).

Grouping happens here, on what the snapshot loaded, so it serves every source alike: the catalog
rows stay one per episode (matching, the admin and the guide's history see real episodes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

TITLE_SEPARATOR = " / "


def shared_file_groups(files: Iterable[tuple[int, str, str]]) -> dict[int, tuple[str, ...]]:
    """Each episode's file identity: the sorted paths (or Plex part keys) of all its media files.

    `files` is (episode id, local path, part key) per media file. Two episodes with the same
    identity play the same file(s).
    """
    found: dict[int, set[str]] = {}
    for episode_id, local_path, part_key in files:
        identity = f"path:{local_path}" if local_path else (f"part:{part_key}" if part_key else "")
        if identity:
            found.setdefault(episode_id, set()).add(identity)
    return {episode_id: tuple(sorted(identities)) for episode_id, identities in found.items()}


def fold_shared_files(episodes: list, file_of: dict[int, tuple[str, ...]]) -> tuple[list, dict[int, object]]:
    """One show's episodes (in air order) with those sharing a file folded into one item.

    Returns the folded list (in the order of each file's first episode) and, for every folded
    episode id, the item that now stands for it (so the log's older airings of a later episode
    still continue the order).
    """
    by_file: dict[tuple[str, ...], list] = {}
    for episode in episodes:
        identity = file_of.get(episode.id)
        if identity:
            by_file.setdefault(identity, []).append(episode)
    folded: list = []
    stands_for: dict[int, object] = {}
    done: set[tuple[str, ...]] = set()
    for episode in episodes:
        identity = file_of.get(episode.id)
        members = by_file.get(identity, [episode]) if identity else [episode]
        if len(members) == 1:
            folded.append(episode)
            continue
        if identity in done:
            continue
        done.add(identity)
        item = _one_program(members)
        folded.append(item)
        for member in members:
            stands_for[member.id] = item
    return folded, stands_for


def _one_program(members: list):
    first = members[0]
    numbers = [member.episode for member in members if member.episode is not None]
    seasons = {member.season for member in members}
    last = max(numbers) if numbers and len(seasons) == 1 and max(numbers) != first.episode else None
    titles = list(dict.fromkeys(member.title for member in members if member.title))
    summaries = list(dict.fromkeys(member.summary for member in members if member.summary))
    return replace(
        first,
        title=TITLE_SEPARATOR.join(titles) or first.title,
        # Every row carries the length of the whole file; never the sum.
        duration_ms=max(member.duration_ms for member in members),
        summary="\n\n".join(summaries),
        episode_last=last,
        member_ids=tuple(member.id for member in members),
    )
