"""Per-item sync failures: recorded with their attempts, cleared when the item later syncs fine."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from catalog.models import Library, MediaSource, SyncItemError, SyncRun
from retrovue.log_redaction import redact

CHUNK = 1000


@dataclass(frozen=True)
class ItemFailure:
    kind: str
    key: str
    title: str
    error_kind: str
    message: str


def item_key(rating_key: str, title: str) -> str:
    """Plex's ratingKey, or the title for an item listed without one (all a malformed item has)."""
    return (rating_key or f"title:{title}")[:120]


def _chunks(values: list[str]):
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def record_item_outcomes(
    source: MediaSource,
    library: Library,
    run: SyncRun | None,
    failures: list[ItemFailure],
    synced: dict[str, set[str]],
    complete_kinds: set[str] = frozenset(),
) -> None:
    """Open (or bump) a SyncItemError per failure; resolve the errors of items that synced fine.

    `synced` maps item kind → keys taken in (written or unchanged) by this run. `complete_kinds`
    are the kinds this run listed in full for `library`: an open error there that did not fail
    again belongs to an item that synced or is gone, so it is resolved as well.
    """
    now = timezone.now()
    latest = {(failure.kind, failure.key): failure for failure in failures}  # one row per item
    failing_by_kind: dict[str, set[str]] = {}
    for kind, key in latest:
        failing_by_kind.setdefault(kind, set()).add(key)
    open_errors = SyncItemError.objects.filter(source=source, resolved_at__isnull=True)
    with transaction.atomic():
        for kind, keys in synced.items():
            for chunk in _chunks(sorted(keys - failing_by_kind.get(kind, set()))):
                open_errors.filter(item_kind=kind, item_key__in=chunk).update(resolved_at=now)
        for kind in complete_kinds:
            open_errors.filter(library=library, item_kind=kind).exclude(
                item_key__in=sorted(failing_by_kind.get(kind, set()))
            ).update(resolved_at=now)
        if not latest:
            return
        existing = {}
        for kind, keys in failing_by_kind.items():
            for chunk in _chunks(sorted(keys)):
                for row in SyncItemError.objects.filter(source=source, item_kind=kind, item_key__in=chunk):
                    existing[(row.item_kind, row.item_key)] = row
        to_create, to_update = [], []
        for identity, failure in latest.items():
            row = existing.get(identity)
            values = {
                "library": library,
                "title": failure.title[:300],
                "error_kind": failure.error_kind,
                "message": redact(failure.message)[:2000],
                "last_seen_at": now,
                "resolved_at": None,
                "last_run": run,
            }
            if row is None:
                to_create.append(
                    SyncItemError(
                        source=source,
                        item_kind=failure.kind,
                        item_key=failure.key,
                        first_seen_at=now,
                        **values,
                    )
                )
                continue
            for name, value in values.items():
                setattr(row, name, value)
            row.attempts += 1
            to_update.append(row)
        # A concurrent run of the same source may have opened the same row a moment ago.
        SyncItemError.objects.bulk_create(to_create, batch_size=CHUNK, ignore_conflicts=True)
        SyncItemError.objects.bulk_update(
            to_update,
            [
                "library",
                "title",
                "error_kind",
                "message",
                "last_seen_at",
                "resolved_at",
                "last_run",
                "attempts",
            ],
            batch_size=CHUNK,
        )
