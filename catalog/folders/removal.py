"""Marking what a folder scan no longer found: items (their file `file_not_found`), then shows with
no airing episode left, and seasons by whether they still hold an active episode. Nothing is deleted.

Part of `_FolderScan` (catalog.folders.scan), as the `Removals` mixin. It runs only after a
complete scan, and a `paths` scan looks only inside its paths.
"""

from __future__ import annotations

import os

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from catalog.choices import FileState, ItemState
from catalog.folders.names import _is_within
from catalog.models import Episode, MediaFile, Playable, Season, Show


class Removals:
    """The removal steps of a `_FolderScan`."""

    def _has_active_items(self) -> bool:
        return any(item.state == ItemState.ACTIVE for item in self.items.values())

    def _mark_removed(self, scopes: list[str] | None) -> None:
        """Mark what this complete scan no longer found; a `paths` scan looks only inside its paths."""
        gone = []
        for key, item in self.items.items():
            if key in self.seen_keys or item.state == ItemState.REMOVED:
                continue
            media_file = self.files.get(item.pk)
            local_path = media_file.local_path if media_file else ""
            if local_path in self.kept_paths:
                continue
            if scopes is not None and not (
                local_path and any(_is_within(local_path, scope) for scope in scopes)
            ):
                continue
            gone.append(item)
        with transaction.atomic():
            if gone:
                Playable.objects.filter(pk__in=[item.pk for item in gone]).update(
                    state=ItemState.REMOVED, updated_at=timezone.now()
                )
                # A file dropped by a narrower scan (subfolders switched off) still exists.
                missing = [
                    media_file.pk
                    for item in gone
                    if (media_file := self.files.get(item.pk)) is not None
                    and not os.path.exists(media_file.local_path or "")
                ]
                MediaFile.objects.filter(pk__in=missing).update(state=FileState.FILE_NOT_FOUND)
                self.counts["removed"] += len(gone)
            self._mark_shows_removed(scopes)
            active_episodes = Episode.objects.filter(season=OuterRef("pk"), state=ItemState.ACTIVE)
            seasons = Season.objects.filter(show__source=self.source)
            seasons.filter(~Exists(active_episodes), state=ItemState.ACTIVE).update(state=ItemState.REMOVED)
            seasons.filter(Exists(active_episodes), state=ItemState.REMOVED).update(state=ItemState.ACTIVE)

    def _mark_shows_removed(self, scopes: list[str] | None) -> None:
        gone = []
        for key, show in self.shows.items():
            if key in self.seen_show_keys or show.state == ItemState.REMOVED:
                continue
            show_dir = os.path.normpath(os.path.join(self.root, key))
            if scopes is not None and not any(_is_within(show_dir, scope) for scope in scopes):
                continue
            gone.append(show.pk)
        if not gone:
            return
        airing = Episode.objects.filter(show=OuterRef("pk"), state=ItemState.ACTIVE)
        removed = (
            Show.objects.filter(pk__in=gone)
            .filter(~Exists(airing))
            .update(state=ItemState.REMOVED, updated_at=timezone.now())
        )
        self.extra["shows_removed"] += removed
        self.counts["removed"] += removed
