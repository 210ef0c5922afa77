"""Sync of one Plex library section's collections and their members.

Runs after the section's items, so members resolve to rows that exist:

  1. list every collection (`/library/sections/<id>/all?type=18`, as plexapi's
     `section.collections()` does); the listing is short and always complete;
  2. upsert the collection rows, skipping those whose listing fingerprint (title, `updatedAt`,
     `childCount`, filter…) is unchanged;
  3. re-read members (`/library/metadata/<rk>/children`, paged) of new and changed collections.
     A smart collection is resolved by Plex and its `updatedAt` doesn't move when its members do,
     so its members are re-read whenever this run changed anything in the section;
  4. mark collections missing from a clean listing removed (never deleted: slots point at them).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from django.db import transaction
from django.utils import timezone

from catalog.choices import ItemState
from catalog.models import Collection, CollectionMember, Library, MemberKind, Playable, Season, Show
from catalog.plex.client import PlexClient
from catalog.plex.parse import epoch_to_datetime
from catalog.sync.progress import Progress

COLLECTION_TYPE = 18
LISTING_PAGE = 1000
MEMBERS_PAGE = 100  # PMS caps unpaged collection item lists at 100 (PLEX_LIVE_AND_AUTH_NOTES.md §5)


@dataclass
class RemoteCollection:
    rating_key: str
    guid: str
    title: str
    sort_title: str
    summary: str
    content_rating: str
    smart: bool
    smart_filter: str
    subtype: str
    child_count: int
    updated_at: int | None

    @property
    def fingerprint(self) -> str:
        material = "\x1f".join(
            str(value)
            for value in (
                self.guid, self.title, self.sort_title, self.summary, self.content_rating, self.smart,
                self.smart_filter, self.subtype, self.child_count, self.updated_at,
            )
        )  # fmt: skip
        return hashlib.blake2b(material.encode(), digest_size=16).hexdigest()


def parse_collection(element: Element) -> RemoteCollection | None:
    attributes = element.attrib
    rating_key = attributes.get("ratingKey", "").strip()
    if not rating_key:
        return None
    title = attributes.get("title", "").strip() or f"Collection {rating_key}"
    count = attributes.get("childCount", "")
    updated = attributes.get("updatedAt", "")
    return RemoteCollection(
        rating_key=rating_key,
        guid=attributes.get("guid", ""),
        title=title,
        sort_title=attributes.get("titleSort", ""),
        summary=attributes.get("summary", ""),
        content_rating=attributes.get("contentRating", ""),
        smart=attributes.get("smart", "0") == "1",
        smart_filter=attributes.get("content", ""),
        subtype=attributes.get("subtype", ""),
        child_count=int(count) if count.isdigit() else 0,
        updated_at=int(updated) if updated.isdigit() else None,
    )


class CollectionSync:
    """Brings one section's collections up to date; `section_changed` says this run wrote items."""

    def __init__(
        self,
        library: Library,
        mode: str,
        client: PlexClient,
        progress: Progress,
        *,
        section_changed: bool,
        page_size: int = LISTING_PAGE,
        members_page: int = MEMBERS_PAGE,
    ):
        self.library = library
        self.source = library.source
        self.mode = mode
        self.client = client
        self.progress = progress
        self.section_changed = section_changed
        self.page_size = page_size
        self.members_page = members_page
        self.problems: list[str] = []

    def run(self) -> None:
        remote, clean = self.list_remote()
        local = {
            row.rating_key: row for row in Collection.objects.filter(source=self.source, library=self.library)
        }
        others = set(
            Collection.objects.filter(source=self.source)
            .exclude(library=self.library)
            .values_list("rating_key", flat=True)
        )
        for item in remote:
            if item.rating_key in others:
                continue  # moved between sections: the other section's sync owns it until it goes there
            row = local.get(item.rating_key)
            self.upsert(item, row)
        if clean:
            listed = {item.rating_key for item in remote}
            gone = [row for key, row in local.items() if key not in listed and row.state == ItemState.ACTIVE]
            if gone:
                Collection.objects.filter(pk__in=[row.pk for row in gone]).update(state=ItemState.REMOVED)
                for row in gone:
                    self.progress.change(f"Removed collection: {row.title}")
        elif local:
            self.problems.append("Some collections could not be read, so none were marked removed this time.")

    def list_remote(self) -> tuple[list[RemoteCollection], bool]:
        found, clean = [], True
        # `type` in `extra` overrides the item type: 18 lists the section's collections.
        for page in self.client.iter_pages(
            self.library.section_key, "movie", page_size=self.page_size, extra={"type": COLLECTION_TYPE}
        ):
            for element in page.elements:
                item = parse_collection(element)
                if item is None:
                    clean = False
                    self.problems.append(f"A collection of {self.library.title} has no ratingKey")
                else:
                    found.append(item)
        return found, clean

    def upsert(self, item: RemoteCollection, row: Collection | None) -> None:
        unchanged = (
            row is not None
            and row.source_fingerprint == item.fingerprint
            and row.state == ItemState.ACTIVE
            and row.members_synced_at is not None
        )
        needs_members = not unchanged or self.mode == "deep" or (item.smart and self.section_changed)
        if unchanged and not needs_members:
            return
        members = self.fetch_members(item) if needs_members else None
        with transaction.atomic():
            created = row is None
            row = row or Collection(source=self.source, library=self.library, rating_key=item.rating_key)
            was_removed = row.state == ItemState.REMOVED
            row.guid, row.title, row.sort_title = (
                item.guid[:300],
                item.title[:300],
                (item.sort_title or item.title)[:300],
            )
            row.summary, row.content_rating = item.summary, item.content_rating[:40]
            row.smart, row.smart_filter, row.subtype = item.smart, item.smart_filter, item.subtype[:20]
            row.child_count, row.updated_at_plex = item.child_count, epoch_to_datetime(item.updated_at)
            row.source_fingerprint, row.state = item.fingerprint, ItemState.ACTIVE
            if members is not None:
                row.members_synced_at = timezone.now()
            row.save()
            if members is not None:
                self.replace_members(row, members)
        if created:
            self.progress.change(f"Added collection: {item.title} ({len(members or [])} items)")
        elif was_removed:
            self.progress.change(f"Restored collection: {item.title}")
        elif not unchanged:
            self.progress.change(f"Updated collection: {item.title}")

    def fetch_members(self, item: RemoteCollection) -> list[tuple[str, str, str]]:
        """(ratingKey, type, title) of every member, in Plex's order, paged."""
        members, offset = [], 0
        while True:
            root = self.client.get(
                f"/library/metadata/{item.rating_key}/children",
                {"includeGuids": 1},
                headers={
                    "X-Plex-Container-Start": str(offset),
                    "X-Plex-Container-Size": str(self.members_page),
                },
            )
            elements = [child for child in root if child.tag in ("Video", "Directory")]
            members += [
                (key, element.get("type", ""), element.get("title", ""))
                for element in elements
                if (key := element.get("ratingKey", ""))
            ]
            offset += len(elements)
            total = root.get("totalSize")
            if not elements or (total is not None and total.isdigit() and offset >= int(total)):
                return members
            if total is None and len(elements) < self.members_page:
                return members

    def replace_members(self, row: Collection, members: list[tuple[str, str, str]]) -> None:
        keys = [key for key, _kind, _title in members]
        shows = dict(
            Show.objects.filter(source=self.source, rating_key__in=keys).values_list("rating_key", "pk")
        )
        seasons = dict(
            Season.objects.filter(show__source=self.source, rating_key__in=keys).values_list(
                "rating_key", "pk"
            )
        )
        playables = dict(
            Playable.objects.filter(source=self.source, rating_key__in=keys).values_list("rating_key", "pk")
        )
        CollectionMember.objects.filter(collection=row).delete()
        rows, seen = [], set()
        for key, kind, title in members:
            if key in seen:
                continue
            seen.add(key)
            member = CollectionMember(
                collection=row,
                position=len(rows),
                rating_key=key[:200],
                kind=kind if kind in MemberKind.values else MemberKind.OTHER,
                title=title[:300],
            )
            if kind == "show":
                member.show_id = shows.get(key)
            elif kind == "season":
                member.season_id = seasons.get(key)
            elif kind in ("movie", "episode"):
                member.playable_id = playables.get(key)
            rows.append(member)
        CollectionMember.objects.bulk_create(rows, batch_size=1000)
