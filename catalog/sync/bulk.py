"""Bulk writes for the multi-table Playable family, which Django's bulk_create refuses.

Episodes, movies and short-form items live in two tables (catalog_playable + the child table).
A sync writes thousands at a time, so rows are inserted in two set-based steps: parents with
bulk_create (which returns their ids), then children with one executemany.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.utils import timezone

from catalog.models import Playable
from catalog.ratings import rank as rating_rank_of

PARENT_FIELDS = [field for field in Playable._meta.concrete_fields if not field.primary_key]


def bulk_create_playables(objects: Sequence[Playable], batch_size: int = 1000) -> None:
    """Insert new Episode/Movie/ShortFormItem instances (all of one class); sets their pk."""
    if not objects:
        return
    model = type(objects[0])
    for obj in objects:  # save() is bypassed, so the rank it keeps in step is set here
        obj.rating_rank = rating_rank_of(obj.content_rating)
    parents = [
        Playable(**{field.attname: getattr(obj, field.attname) for field in PARENT_FIELDS}) for obj in objects
    ]
    Playable.objects.bulk_create(parents, batch_size=batch_size)
    for obj, parent in zip(objects, parents, strict=True):
        obj.pk = parent.pk
        obj.playable_ptr_id = parent.pk
        obj.created_at = parent.created_at
        obj.updated_at = parent.updated_at
        obj._state.adding = False
    child_fields = list(model._meta.local_concrete_fields)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in child_fields)
    placeholders = ", ".join(["%s"] * len(child_fields))
    statement = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608  (names from model metadata)
    )
    rows = [
        [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in child_fields]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            cursor.executemany(statement, rows[start : start + batch_size])


def bulk_update_playables(
    objects: Sequence[Playable], parent_fields: list[str], child_fields: list[str]
) -> None:
    """Update existing instances' fields in both tables; `updated_at` is stamped on the parent."""
    if not objects:
        return
    now = timezone.now()
    for obj in objects:
        obj.updated_at = now
    if "content_rating" in parent_fields:
        for obj in objects:
            obj.rating_rank = rating_rank_of(obj.content_rating)
        parent_fields = [*parent_fields, "rating_rank"]
    Playable.objects.bulk_update(objects, [*parent_fields, "updated_at"], batch_size=500)
    if child_fields:
        type(objects[0]).objects.bulk_update(objects, child_fields, batch_size=500)
