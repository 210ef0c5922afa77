"""Writing many channels' runtime counters in one raw UPDATE.

The supervisor writes, at the end of every step (4 times a second), the counters of every channel
that took in segments in it (at 100 channels about 12 rows a step). Django's `bulk_update` built
that statement out of a `Case(When(…))` expression per field per row, which it resolves, copies
and compiles in Python: at 100 channels a third of the supervisor's GIL time (py-spy, 2026-12-05).
The statement here is the same `CASE id WHEN … THEN … ELSE column END` per column, written as text
with the values as parameters (adapted by each field, so SQLite and PostgreSQL both take them).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import connection

from playout.models import ChannelRuntime

# Rows per statement: far under SQLite's variable limit (rows × (2 × fields + 1) parameters).
BATCH_ROWS = 200


def write_counters(owner: str, rows: Mapping[int, Mapping[str, object]]) -> int:
    """Set, on each runtime row (by primary key) still leased to `owner`, the fields given for it
    (rows may give different fields: a column a row does not name keeps its value). Returns how
    many rows were updated; a row another worker holds now is left alone."""
    updated = 0
    items = list(rows.items())
    for start in range(0, len(items), BATCH_ROWS):
        updated += _write_batch(owner, items[start : start + BATCH_ROWS])
    return updated


def _write_batch(owner: str, items: list[tuple[int, Mapping[str, object]]]) -> int:
    if not items:
        return 0
    meta = ChannelRuntime._meta
    quote = connection.ops.quote_name
    pk_column = quote(meta.pk.column)
    names = sorted({name for _, values in items for name in values})
    assignments, params = [], []
    for name in names:
        field = meta.get_field(name)
        whens = []
        for pk, values in items:
            if name in values:
                whens.append("WHEN %s THEN %s")
                params += [pk, field.get_db_prep_value(values[name], connection)]
        column = quote(field.column)
        case = f"CASE {pk_column} {' '.join(whens)} ELSE {column} END"
        if connection.features.requires_casted_case_in_updates:
            # PostgreSQL types a CASE of literals on its own (text for all NULLs), not by the column.
            case = f"CAST({case} AS {field.cast_db_type(connection)})"
        assignments.append(f"{column} = {case}")
    keys = [pk for pk, _ in items]
    # Only quoted model names and placeholders go into the text; every value is a parameter.
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "  # noqa: S608
        f"WHERE {pk_column} IN ({', '.join(['%s'] * len(keys))}) "
        f"AND {quote(meta.get_field('lease_owner').column)} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *keys, owner])
        return cursor.rowcount
