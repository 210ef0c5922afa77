"""What the timeline page shows for a window: channels with their desk versions, programs with their
breaks, the gaps between programs, the builder's warnings and the desk entries.

A fixed number of queries whatever the window holds (channels, versions, programs, breaks,
warnings, entries): 50 channels × a day is ~2,000 programs and ~25,000 break pieces, which the
database folds into ~1,500 breaks (turning 50,000 timestamps into Python datetimes was most of the
answer's time).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import connection
from django.db.models import F, Window
from django.db.models.functions import Lag
from django.utils import timezone

from scheduling.choices import PieceKind, ProgramCategory
from scheduling.models import Channel, DeskEntry, DeskVersion, Piece, ProgramEntry, ScheduleWarning


def _kind(category: str, desk_entry_id: int | None, entry_kind: str | None) -> str:
    if entry_kind == DeskEntry.Kind.CLEARED:
        return "cleared"
    if category == ProgramCategory.LIVE:
        return "live"
    if category == ProgramCategory.FILLER:
        return "filler"
    if category == ProgramCategory.OFF_AIR:
        return "off_air"
    return "desk" if desk_entry_id else "template"


def breaks_by_program(program_ids: list[int], start: datetime, stop: datetime) -> dict[int, list[list[str]]]:
    """Each program's breaks (runs of pieces other than the program's content, each piece starting
    where the one before stopped), as [start, stop].

    The runs are found in the database (gaps and islands: a piece that doesn't start where the
    program's previous break piece stopped opens a run; runs are numbered by a running count of
    those), so only the runs come back, not every promo and bumper."""
    if not program_ids:
        return {}  # `__in=[]` has no SQL to wrap (Django raises EmptyResultSet)
    pieces = (
        Piece.objects.filter(program_id__in=program_ids, start__lt=stop, stop__gt=start)
        .exclude(kind=PieceKind.CONTENT)
        .annotate(previous_stop=Window(Lag("stop"), partition_by=F("program_id"), order_by=F("start").asc()))
        .order_by()  # not the model's (by channel number): the windows order what they need
        .values("program_id", "start", "stop", "previous_stop")
    )
    pieces_sql, params = pieces.query.sql_with_params()
    # Only the ORM's own SQL goes in (its values stay parameters): standard window functions that
    # PostgreSQL and SQLite both run.
    runs_sql = (
        "SELECT program_id, MIN(start), MAX(stop) FROM ("  # noqa: S608
        " SELECT program_id, start, stop, SUM(CASE WHEN previous_stop = start THEN 0 ELSE 1 END)"
        "  OVER (PARTITION BY program_id ORDER BY start ROWS UNBOUNDED PRECEDING) AS run"
        f" FROM ({pieces_sql}) AS break_pieces"
        ") AS numbered GROUP BY program_id, run ORDER BY program_id, MIN(start)"
    )
    with connection.cursor() as cursor:
        cursor.execute(runs_sql, params)
        rows = cursor.fetchall()
    # What the ORM would do to a Piece.start value (SQLite hands back text).
    column = Piece._meta.get_field("start").get_col(Piece._meta.db_table)
    converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)

    def moment(value) -> str:
        for convert in converters:
            value = convert(value, column, connection)
        return value.isoformat()

    spans: dict[int, list[list[str]]] = defaultdict(list)
    for program_id, begins, ends in rows:
        spans[program_id].append([moment(begins), moment(ends)])
    return spans


def timeline(
    start: datetime,
    stop: datetime,
    channel_ids: list[int] | None = None,
    *,
    breaks: bool = True,
    rows=(0, None),
) -> dict:
    """The window's timeline for `channel_ids` (default: the enabled channels, sliced by `rows`:
    (first, count) in channel-number order)."""
    every = sorted(Channel.objects.filter(enabled=True), key=lambda channel: channel.sort_key)
    if channel_ids is None:
        first, count = rows
        channels = every[first : first + count] if count else every[first:]
    else:
        wanted = set(channel_ids)
        channels = [channel for channel in every if channel.pk in wanted]
    ids = [channel.pk for channel in channels]
    versions = dict(DeskVersion.objects.filter(channel_id__in=ids).values_list("channel_id", "version"))
    rows = list(
        ProgramEntry.objects.filter(channel_id__in=ids, start__lt=stop, stop__gt=start)
        .order_by("channel_id", "start")
        .values_list(
            "pk", "channel_id", "start", "stop", "title", "subtitle", "category", "special", "joined_from",
            "desk_entry_id", "desk_entry__kind", "playable_id", "content_rating",
        )
    )  # fmt: skip
    breaks = breaks_by_program([row[0] for row in rows], start, stop) if breaks else {}
    programs, gaps = [], []
    reached: dict[int, datetime] = dict.fromkeys(ids, start)
    for (pk, channel_id, begins, ends, title, subtitle, category, special, joined, entry_id, entry_kind,
         playable_id, rating) in rows:  # fmt: skip
        if begins > reached[channel_id]:
            gaps.append({"channel_id": channel_id, "start": reached[channel_id], "stop": begins})
        elif begins < reached[channel_id] and reached[channel_id] != start:
            gaps.append(
                {"channel_id": channel_id, "start": begins, "stop": reached[channel_id], "overlap": True}
            )
        reached[channel_id] = max(reached[channel_id], ends)
        programs.append({
            "id": pk, "channel_id": channel_id, "start": begins, "stop": ends, "title": title, "subtitle": subtitle,
            "category": category, "kind": _kind(category, entry_id, entry_kind), "special": special,
            "joined_from": joined, "desk_entry_id": entry_id, "playable_id": playable_id, "rating": rating,
            "breaks": breaks.get(pk, []),
        })  # fmt: skip
    for channel_id, last in reached.items():
        if last < stop:
            gaps.append({"channel_id": channel_id, "start": last, "stop": stop})
    warnings = [
        {"channel_id": channel_id, "at": at, "message": message}
        for channel_id, at, message in ScheduleWarning.objects.filter(
            channel_id__in=ids, at__gte=start, at__lt=stop
        ).values_list("channel_id", "at", "message")
    ]
    entries = [
        {"id": pk, "channel_id": channel_id, "kind": kind, "mode": mode, "start": begins, "stop": ends,
         "resume_at": resume, "title": title, "live_url": url}
        for pk, channel_id, kind, mode, begins, ends, resume, title, url in DeskEntry.objects.filter(
            channel_id__in=ids, start__lt=stop
        ).values_list("pk", "channel_id", "kind", "mode", "start", "stop", "resume_at", "title", "live_url")
        if max(ends, resume or ends) > start
    ]  # fmt: skip
    return {
        "start": start,
        "stop": stop,
        "now": timezone.now(),
        "channels": [
            {
                "id": channel.pk,
                "number": channel.number,
                "name": channel.name,
                "version": versions.get(channel.pk, 0),
            }
            for channel in channels
        ],
        "all_channels": [
            {"id": channel.pk, "number": channel.number, "name": channel.name} for channel in every
        ],
        "programs": programs,
        "gaps": gaps,
        "warnings": warnings,
        "entries": entries,
    }
