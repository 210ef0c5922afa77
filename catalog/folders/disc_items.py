"""The disc-folder steps of a folder scan: read a VIDEO_TS / BDMV folder's main title (probing it
only when the disc changed) and store its files as the item's media files, in play order.

Part of `_FolderScan` (catalog.folders.scan), as the `DiscItems` mixin; what a disc's main title is
lives in catalog.folders.discs.
"""

from __future__ import annotations

import os

from catalog.folders.discs import DiscError, disc_fingerprint, main_title
from catalog.folders.listing import _Prepared
from catalog.folders.names import rating_key_for
from catalog.folders.writes import _MEDIA_FILE_PROBE_FIELDS, _upsert
from catalog.media import probe as probing
from catalog.media.streams import store_probed_tracks
from catalog.models import MediaFile, Playable


class DiscItems:
    """The disc steps of a `_FolderScan`."""

    def _prepare_disc(self, prepared: _Prepared) -> None:
        unit = prepared.unit
        prepared.disc_fingerprint = disc_fingerprint(unit.path, unit.disc)
        known = self.items.get(rating_key_for(unit.relative))
        parts = self.parts_by_item.get(known.pk, []) if known is not None else []
        unchanged = (
            not self.deep
            and known is not None
            and prepared.disc_fingerprint
            and known.source_fingerprint == prepared.disc_fingerprint
            and parts
            and all(part.playable_ok and os.path.isfile(part.local_path) for part in parts)
        )
        if unchanged:
            return
        try:
            prepared.disc_title = main_title(unit.path, unit.disc)
        except DiscError as error:
            prepared.disc_error = str(error)
            return
        self.extra["probed"] += len(prepared.disc_title.parts)

    def _disc_duration(self, prepared: _Prepared, item: Playable | None) -> dict:
        if prepared.disc_title is not None:
            return {"duration_ms": prepared.disc_title.duration_ms}
        known = self.items.get(rating_key_for(prepared.unit.relative))
        parts = self.parts_by_item.get(known.pk, []) if known is not None else []
        return {"duration_ms": sum(part.duration_ms or 0 for part in parts)} if parts else {}

    def _save_disc_files(self, item: Playable, prepared: _Prepared) -> bool:
        """The main title's files as the item's media files 0, 1, …; True when anything changed."""
        title = prepared.disc_title
        if title is None:
            return False  # unchanged since the disc was last read
        existing = {part.position: part for part in self.parts_by_item.get(item.pk, [])}
        changed = False
        stored = []
        for position, probe in enumerate(title.parts):
            probed = MediaFile()
            probing.apply_probe(probed, probe)
            desired = {"local_path": probe.path, "plex_path": "", "part_key": ""}
            desired.update({name: getattr(probed, name) for name in _MEDIA_FILE_PROBE_FIELDS})
            media_file, outcome = _upsert(
                MediaFile,
                existing.get(position),
                desired,
                create={"playable": item, "position": position},
                touch=False,
            )
            changed |= outcome != "unchanged"
            stored.append(media_file)
            store_probed_tracks(media_file.pk, probe.path, probe, self._folder_listing(probe.path))
        extra = [part.pk for position, part in existing.items() if position >= len(title.parts)]
        if extra:
            MediaFile.objects.filter(pk__in=extra).delete()
            changed = True
        self._cache(self.parts_by_item, item.pk, stored)
        self._cache(self.files, item.pk, stored[0])
        for media_file in stored:
            self._cache(self.files_by_path, media_file.local_path, [media_file])
        return changed
