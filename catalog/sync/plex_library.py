"""Sync of one Plex library section into the catalog: shows/seasons/episodes or movies.

For each item type the steps are the same:
  1. list what changed (incremental: `updatedAt` after the watermark, plus the items marked to be
     read again in full; full/deep: everything);
  2. find what vanished: a complete listing shows it directly; an incremental run compares the
     server's item count with what it expects and lists keys only when they disagree;
  3. re-key: a "new" item whose external ids match a vanished row is that row, moved (Plex re-keys
     items after some agent changes), so schedules that point at it stay valid (catalog.sync.rekey);
  4. upsert in batches, each in one transaction, skipping rows whose fingerprint is unchanged, with
     each item's versions and their parts (catalog.sync.plex_media);
  5. fetch chapters, markers and audio/subtitle streams for new and changed items only (listings
     don't carry them), a batch of items per request;
  6. mark vanished rows removed — never deleted, and only when the listing was complete.
A run that is killed part-way leaves whole batches behind and the watermark where it was, so the
next run redoes the rest and converges on the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from catalog.choices import ContentKind, ItemState, SyncItemErrorKind
from catalog.identity import primary_guid
from catalog.media.paths import PathMapper
from catalog.models import (
    Episode,
    ExternalId,
    Library,
    Movie,
    Playable,
    Season,
    Show,
    sort_title_for,
)
from catalog.plex.client import PlexClient
from catalog.plex.parse import (
    MalformedItem,
    RemoteItem,
    RemoteTags,
    details_of,
    epoch_to_datetime,
    is_all_episodes_entry,
    parse_item,
    streams_by_part,
    tags_of,
)
from catalog.ratings import rank as rating_rank_of
from catalog.sync.bulk import bulk_create_playables, bulk_update_playables
from catalog.sync.collections import CollectionSync
from catalog.sync.item_errors import ItemFailure, item_key
from catalog.sync.plex_media import store_details, write_versions
from catalog.sync.progress import Progress
from catalog.sync.rekey import rekey
from catalog.sync.tags import TagWriter

WATERMARK_MARGIN_SECONDS = 60
PAGE_SIZE = 1000
BATCH_SIZE = 500
DETAIL_BATCH = 50

OWNER_KIND = {"show": "show", "season": "season", "episode": "episode", "movie": "movie"}


@dataclass
class LocalRow:
    pk: int
    fingerprint: str
    state: str
    library_id: int | None
    label: str
    artwork_ref: str = ""


class LibrarySync:
    """Brings one library section up to date. `mode` is full, incremental or deep."""

    # A section listing without an updatedAt filter names every item of the library.
    listing_covers_library = True

    def __init__(
        self,
        library: Library,
        mode: str,
        client: PlexClient,
        mapper: PathMapper,
        progress: Progress,
        *,
        page_size: int = PAGE_SIZE,
    ):
        self.library = library
        self.page_size = page_size
        self.source = library.source
        self.mode = mode
        self.client = client
        self.mapper = mapper
        self.progress = progress
        self.stats = progress.stats
        self.newest_updated_at: int | None = None
        self.problems: list[str] = []
        # Per-item outcomes, for SyncItemError rows (catalog.sync.item_errors).
        self.item_failures: list[ItemFailure] = []
        self.synced_keys: dict[str, set[str]] = {}
        self.complete_kinds: set[str] = set()
        self.since = None
        self.tag_writer = TagWriter()
        # Complete genres/credits by ratingKey from full metadata fetches (listings truncate them).
        self.full_tags: dict[str, RemoteTags] = {}
        if mode == "incremental" and library.sync_watermark is not None:
            self.since = library.sync_watermark - WATERMARK_MARGIN_SECONDS

    # --- entry point ---------------------------------------------------------------------------

    def run(self) -> None:
        writes_before = self.stats.added + self.stats.updated + self.stats.removed
        if self.library.kind == "movie":
            self.sync_type("movie")
        elif self.library.kind == "show":
            self.sync_type("show")
            self.sync_type("season")
            self.sync_type("episode")
        if self.library.kind in ("movie", "show"):
            self.sync_collections(self.stats.added + self.stats.updated + self.stats.removed != writes_before)

    def sync_collections(self, section_changed: bool) -> None:
        job = CollectionSync(
            self.library,
            self.mode,
            self.client,
            self.progress,
            section_changed=section_changed,
            page_size=self.page_size,
        )
        job.run()
        self.problems.extend(job.problems)

    def sync_type(self, plex_type: str) -> None:
        local = self.load_local(plex_type)
        failures_before = self.stats.failed
        changed = self.fetch_changed(plex_type)
        listing_was_clean = self.stats.failed == failures_before
        changed.extend(
            self.refetch_items_without_timestamps(plex_type, local, {item.rating_key for item in changed})
        )
        remote_keys = self.remote_keys(plex_type, local, changed)
        vanished = set()
        if remote_keys is not None and not listing_was_clean:
            self.problems.append(
                f"Some {plex_type}s could not be read, so none were marked removed this time."
            )
        elif remote_keys is not None:
            vanished = {
                key
                for key, row in local.items()
                if row.state == ItemState.ACTIVE
                and row.library_id == self.library.pk
                and key not in remote_keys
            }
        rekey(self.model_for(plex_type), plex_type, local, changed, vanished, self.progress)
        self.upsert(plex_type, local, changed)
        self.mark_removed(plex_type, local, vanished)
        failed = {failure.key for failure in self.item_failures if failure.kind == plex_type}
        # An item once listed without a ratingKey was recorded under its title.
        listed = {key for item in changed for key in (item.rating_key, item_key("", item.title))}
        self.synced_keys[plex_type] = listed - failed
        if self.since is None and self.listing_covers_library:
            self.complete_kinds.add(plex_type)

    # --- reading -------------------------------------------------------------------------------

    def model_for(self, plex_type: str):
        return {"show": Show, "season": Season, "episode": Episode, "movie": Movie}[plex_type]

    def local_queryset(self, plex_type: str):
        model = self.model_for(plex_type)
        if plex_type == "season":
            return model.objects.filter(show__source=self.source)
        return model.objects.filter(source=self.source)

    def load_local(self, plex_type: str) -> dict[str, LocalRow]:
        queryset = self.local_queryset(plex_type).exclude(rating_key="")
        library_field = "show__library_id" if plex_type == "season" else "library_id"
        rows = queryset.values_list(
            "rating_key", "pk", "source_fingerprint", "state", library_field, "title", "artwork_ref"
        )
        return {
            key: LocalRow(pk, fingerprint, state, library_id, title, artwork_ref)
            for key, pk, fingerprint, state, library_id, title, artwork_ref in rows
        }

    def fetch_changed(self, plex_type: str) -> list[RemoteItem]:
        items = []
        for page in self.client.iter_pages(
            self.library.section_key, plex_type, page_size=self.page_size, updated_since=self.since
        ):
            for element in page.elements:
                if is_all_episodes_entry(element):
                    continue
                try:
                    item = parse_item(element, plex_type)
                except MalformedItem as error:
                    self.malformed(plex_type, element, error)
                    continue
                items.append(item)
                if item.updated_at is not None:
                    self.newest_updated_at = max(self.newest_updated_at or 0, item.updated_at)
            self.progress.set(len(items), page.total or len(items), f"Listing {plex_type}s")
        return items

    def refetch_items_without_timestamps(self, plex_type, local, already) -> list[RemoteItem]:
        """Items an updatedAt filter can't find are fetched by key and compared in full: those Plex
        gave no updatedAt, and those marked to be read again (stored in a shape since corrected,
        e.g. versions flattened into parts before migration 0016), changed on Plex or not."""
        if self.since is None:
            return []
        stale = Q(updated_at_plex__isnull=True)
        if plex_type in ("episode", "movie"):
            stale |= Q(needs_full_resync=True)
        keys = list(
            self.local_queryset(plex_type)
            .filter(stale, state=ItemState.ACTIVE)
            .exclude(rating_key="")
            .exclude(rating_key__in=already)
            .values_list("rating_key", flat=True)
        )
        items = []
        for start in range(0, len(keys), DETAIL_BATCH * 2):
            for element in self.client.metadata(keys[start : start + DETAIL_BATCH * 2], details=False):
                try:
                    items.append(parse_item(element, plex_type))
                except MalformedItem as error:
                    self.malformed(plex_type, element, error)
        return items

    def remote_keys(
        self, plex_type: str, local: dict[str, LocalRow], changed: list[RemoteItem]
    ) -> set[str] | None:
        """Every key the server lists now, or None when the counts prove nothing vanished."""
        if self.since is None:
            return {item.rating_key for item in changed}  # the listing itself was complete
        active_here = {
            key
            for key, row in local.items()
            if row.state == ItemState.ACTIVE and row.library_id == self.library.pk
        }
        arriving = {item.rating_key for item in changed} - active_here
        server_total = self.client.count(self.library.section_key, plex_type)
        if server_total == len(active_here) + len(arriving):
            return None
        keys = set()
        for page in self.client.iter_pages(
            self.library.section_key,
            plex_type,
            page_size=self.page_size * 5,
            extra={"includeFields": "ratingKey"},
        ):
            keys.update(element.get("ratingKey", "") for element in page.elements)
        keys.discard("")
        return keys

    # --- re-keying -----------------------------------------------------------------------------

    # --- writing -------------------------------------------------------------------------------

    def upsert(self, plex_type: str, local: dict[str, LocalRow], changed: list[RemoteItem]) -> None:
        total = len(changed)
        context = self.context_for(plex_type)
        for start in range(0, total, BATCH_SIZE):
            batch = changed[start : start + BATCH_SIZE]
            to_write = [item for item in batch if self.needs_write(item, local.get(item.rating_key))]
            self.stats.skipped += len(batch) - len(to_write)
            written = {id(item) for item in to_write}
            self.update_artwork_refs(plex_type, local, [item for item in batch if id(item) not in written])
            # Details come first and land in the same transaction as the rows: a run killed between
            # the two must not leave rows whose fingerprint says "done" without their chapters.
            details = self.fetch_details(to_write) if plex_type in ("episode", "movie") else {}
            if plex_type == "show":
                self.fetch_full_tags(to_write)
            with transaction.atomic():
                instances = self.write_batch(plex_type, local, to_write, context)
                store_details(instances, details)
            self.stats.processed += len(batch)
            self.progress.set(
                min(start + BATCH_SIZE, total), total, self.item_label(plex_type, batch[-1], context)
            )
            self.progress.flush(api_calls=self.client.api_calls)

    def needs_write(self, item: RemoteItem, row: LocalRow | None) -> bool:
        return (
            row is None
            or self.mode == "deep"
            or row.fingerprint != item.fingerprint
            or row.state != ItemState.ACTIVE
            or row.library_id != self.library.pk
        )

    def update_artwork_refs(self, plex_type: str, local: dict[str, LocalRow], unchanged: list[RemoteItem]):
        """A new poster path on an otherwise unchanged item: only `artwork_ref` is written.

        Plex stamps the thumb path with the item's updatedAt, so it changes on refreshes that change
        nothing else; counting those as updates (or rewriting the row) would undo the fingerprint's
        point. The artwork task then fetches the image, which is stored again only if its bytes differ.
        """
        moved = [
            (local[item.rating_key].pk, item.thumb[:500])
            for item in unchanged
            if item.rating_key in local and local[item.rating_key].artwork_ref != item.thumb[:500]
        ]
        if not moved:
            return
        model = Playable if plex_type in ("episode", "movie") else self.model_for(plex_type)
        model.objects.bulk_update([model(pk=pk, artwork_ref=ref) for pk, ref in moved], ["artwork_ref"])
        for item in unchanged:
            if item.rating_key in local:
                local[item.rating_key].artwork_ref = item.thumb[:500]

    def context_for(self, plex_type: str) -> dict:
        if plex_type == "season":
            return {"shows": self.show_map()}
        if plex_type == "episode":
            seasons = dict(
                Season.objects.filter(show__source=self.source)
                .exclude(rating_key="")
                .values_list("rating_key", "pk")
            )
            seasons_by_number = {
                (show_id, number): pk
                for show_id, number, pk in Season.objects.filter(show__source=self.source).values_list(
                    "show_id", "season_number", "pk"
                )
            }
            return {"shows": self.show_map(), "seasons": seasons, "seasons_by_number": seasons_by_number}
        return {}

    def show_map(self) -> dict[str, tuple[int, str]]:
        return {
            key: (pk, title)
            for key, pk, title in Show.objects.filter(source=self.source).values_list(
                "rating_key", "pk", "title"
            )
        }

    def item_label(self, plex_type: str, item: RemoteItem, context: dict) -> str:
        if plex_type == "episode":
            show = context["shows"].get(item.grandparent_rating_key)
            return f"{show[1] if show else '?'} / {item.title}"
        return item.title

    def write_batch(self, plex_type, local, batch, context) -> dict[int, RemoteItem]:
        model = self.model_for(plex_type)
        if plex_type in ("show", "movie"):
            context = {
                **context,
                "studios": self.tag_writer.studio_pks({item.tags.network for item in batch}),
            }
        to_create, to_update, created, updated = [], [], [], []
        for item in batch:
            row = local.get(item.rating_key)
            instance = model(pk=row.pk) if row else model()
            if not self.fill(plex_type, instance, item, context):
                continue
            if row:
                to_update.append(instance)
                updated.append(item)
            else:
                to_create.append(instance)
                created.append(item)
        self.save_instances(plex_type, to_create, to_update)
        for instance, item in zip(to_create, created, strict=True):
            local[item.rating_key] = LocalRow(
                instance.pk, item.fingerprint, ItemState.ACTIVE, self.library.pk, item.title
            )
            self.stats.added += 1
            self.progress.change(f"Added {plex_type}: {self.describe(plex_type, item, context)}")
        for item in updated:
            was_removed = local[item.rating_key].state == ItemState.REMOVED
            local[item.rating_key].fingerprint, local[item.rating_key].state = (
                item.fingerprint,
                ItemState.ACTIVE,
            )
            self.stats.updated += 1
            verb = "Restored" if was_removed else "Updated"
            self.progress.change(f"{verb} {plex_type}: {self.describe(plex_type, item, context)}")
        instances = {
            instance.pk: item
            for instance, item in zip([*to_create, *to_update], [*created, *updated], strict=True)
        }
        self.replace_external_ids(plex_type, instances)
        if plex_type != "season":
            self.tag_writer.replace(
                plex_type,
                {pk: self.full_tags.pop(item.rating_key, item.tags) for pk, item in instances.items()},
                new_pks=frozenset(instance.pk for instance in to_create),
            )
        if plex_type in ("episode", "movie"):
            write_versions(instances, self.mapper)
        return instances

    def describe(self, plex_type: str, item: RemoteItem, context: dict) -> str:
        if plex_type == "episode":
            show = context["shows"].get(item.grandparent_rating_key)
            code = f"S{item.parent_index or 0:02d}E{item.index or 0:02d}"
            return f"{show[1] if show else '?'} {code} {item.title}"
        if plex_type == "season":
            show = context["shows"].get(item.parent_rating_key)
            return f"{show[1] if show else '?'} – {item.title}"
        return f"{item.title} ({item.year})" if item.year else item.title

    def fill(self, plex_type: str, instance, item: RemoteItem, context: dict) -> bool:
        """Copy an item's values onto a model instance; False when it can't be placed (reported)."""
        common = {
            "rating_key": item.rating_key,
            "title": item.title[:300],
            "summary": item.summary,
            "source_fingerprint": item.fingerprint,
            "updated_at_plex": epoch_to_datetime(item.updated_at),
            "state": ItemState.ACTIVE,
            "artwork_ref": item.thumb[:500],
        }
        if plex_type == "season":
            show = context["shows"].get(item.parent_rating_key)
            if show is None:
                return self.orphan(item, "its show is not in the library")
            for name, value in common.items():
                setattr(instance, name, value)
            instance.show_id = show[0]
            instance.season_number = item.index or 0
            return True
        ids = item.external_ids
        values = {**common, "primary_guid": primary_guid(ids), "content_rating": item.content_rating[:40]}
        values["rating_rank"] = rating_rank_of(values["content_rating"])
        if plex_type == "show":
            values.update(
                library_id=self.library.pk, source_id=self.source.pk, year=item.year, studio=item.studio[:200],
                genres=item.genres, sort_title=(item.sort_title or sort_title_for(item.title))[:300],
                network_id=context["studios"].get(item.tags.network),
            )  # fmt: skip
        else:
            values.update(
                library_id=self.library.pk, source_id=self.source.pk, duration_ms=item.duration_ms,
                audience_rating=_rating(item.audience_rating), needs_full_resync=False,
            )  # fmt: skip
        if plex_type == "movie":
            values.update(
                kind=ContentKind.MOVIE, year=item.year, studio=item.studio[:200], genres=item.genres,
                sort_title=(item.sort_title or sort_title_for(item.title))[:300],
                originally_released=item.originally_available,
                production_studio_id=context["studios"].get(item.tags.network),
            )  # fmt: skip
        if plex_type == "episode":
            show = context["shows"].get(item.grandparent_rating_key)
            if show is None:
                return self.orphan(item, "its show is not in the library")
            season_id = context["seasons"].get(item.parent_rating_key) or context["seasons_by_number"].get(
                (show[0], item.parent_index or 0)
            )
            values.update(
                kind=ContentKind.EPISODE, show_id=show[0], season_id=season_id, season_number=item.parent_index or 0,
                episode_number=item.index, originally_aired=item.originally_available,
            )  # fmt: skip
        for name, value in values.items():
            setattr(instance, name, value)
        return True

    def orphan(self, item: RemoteItem, why: str) -> bool:
        self.stats.failed += 1
        self.problems.append(f"Skipped {item.kind} {item.title!r} ({item.rating_key}): {why}")
        self.item_failures.append(
            ItemFailure(
                item.kind, item_key(item.rating_key, item.title), item.title, SyncItemErrorKind.ORPHAN, why
            )
        )
        return False

    def malformed(self, plex_type: str, element, error: Exception) -> None:
        self.stats.failed += 1
        self.problems.append(str(error))
        title = element.get("title", "").strip()
        self.item_failures.append(
            ItemFailure(
                plex_type,
                item_key(element.get("ratingKey", "").strip(), title),
                title,
                SyncItemErrorKind.MALFORMED,
                str(error),
            )
        )

    PARENT_FIELDS = [
        "rating_key", "title", "summary", "source_fingerprint", "updated_at_plex", "state", "primary_guid",
        "content_rating", "library_id", "source_id", "duration_ms", "artwork_ref", "needs_full_resync",
    ]  # fmt: skip
    CHILD_FIELDS = {
        "episode": [
            "show_id",
            "season_id",
            "season_number",
            "episode_number",
            "audience_rating",
            "originally_aired",
        ],
        "movie": [
            "year",
            "sort_title",
            "studio",
            "genres",
            "audience_rating",
            "originally_released",
            "production_studio",
        ],
    }
    PLAIN_FIELDS = {
        "show": [
            "rating_key", "title", "summary", "source_fingerprint", "updated_at_plex", "state", "primary_guid",
            "content_rating", "library_id", "source_id", "year", "studio", "genres", "sort_title", "network", "rating_rank", "artwork_ref",
        ],
        "season": ["rating_key", "title", "summary", "source_fingerprint", "updated_at_plex", "state", "show_id", "season_number", "artwork_ref"],
    }  # fmt: skip

    def save_instances(self, plex_type: str, to_create: list, to_update: list) -> None:
        if plex_type in ("show", "season"):
            model = self.model_for(plex_type)
            model.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
            model.objects.bulk_update(to_update, self.PLAIN_FIELDS[plex_type], batch_size=BATCH_SIZE)
            return
        bulk_create_playables(to_create, batch_size=BATCH_SIZE)
        bulk_update_playables(to_update, self.PARENT_FIELDS, self.CHILD_FIELDS[plex_type])

    def replace_external_ids(self, plex_type: str, instances: dict[int, RemoteItem]) -> None:
        if not instances:
            return
        owner_field = {"show": "show_id", "season": "season_id"}.get(plex_type, "playable_id")
        ExternalId.objects.filter(**{f"{owner_field}__in": list(instances)}).delete()
        rows = [
            ExternalId(
                source_id=self.source.pk,
                owner_kind=OWNER_KIND[plex_type],
                provider=provider,
                value=value,
                **{owner_field: pk},
            )
            for pk, item in instances.items()
            for provider, value in item.external_ids
        ]
        # A duplicate item in Plex (the same film twice) would collide on its ids: keep the first.
        ExternalId.objects.bulk_create(rows, ignore_conflicts=True, batch_size=BATCH_SIZE)

    def fetch_details(self, items: list[RemoteItem]) -> dict[str, tuple[list, list, list]]:
        """Chapters, markers and per-Part streams by rating key, in a few batched metadata requests.

        Listings carry none of them. The same full-item responses hold all three, so streams cost
        no extra request.
        """
        keys = [item.rating_key for item in items]
        details = {}
        for start in range(0, len(keys), DETAIL_BATCH):
            for element in self.client.metadata(keys[start : start + DETAIL_BATCH]):
                details[element.get("ratingKey", "")] = (*details_of(element), streams_by_part(element))
                self.full_tags[element.get("ratingKey", "")] = tags_of(element)
        return details

    def fetch_full_tags(self, items: list[RemoteItem]) -> None:
        """Shows' complete genres and cast, a few batched requests (listings carry the first few)."""
        keys = [item.rating_key for item in items]
        for start in range(0, len(keys), DETAIL_BATCH):
            for element in self.client.metadata(keys[start : start + DETAIL_BATCH], details=False):
                self.full_tags[element.get("ratingKey", "")] = tags_of(element)

    def mark_removed(self, plex_type: str, local: dict[str, LocalRow], vanished: set[str]) -> None:
        if not vanished:
            return
        model = self.model_for(plex_type)
        pks = [local[key].pk for key in vanished]
        with transaction.atomic():
            model.objects.filter(pk__in=pks).update(state=ItemState.REMOVED)
        for key in sorted(vanished, key=lambda k: local[k].label):
            local[key].state = ItemState.REMOVED
            self.stats.removed += 1
            self.progress.change(f"Removed {plex_type}: {local[key].label}")


def _rating(value: float | None):
    if value is None:
        return None
    return round(max(0.0, min(value, 999.9)), 1)
