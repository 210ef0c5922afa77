"""Program-log rows for tests of the guide outputs (XMLTV, M3U, the guide page, the API)."""

from __future__ import annotations

from datetime import datetime, timedelta

from scheduling.models import Channel, ProgramEntry


def make_channel(number: str = "7", name: str | None = None, **fields) -> Channel:
    return Channel.objects.create(number=number, name=name or f"Channel {number}", time_zone="UTC", **fields)


def program(
    channel: Channel, start: datetime, minutes: int = 30, title: str = "Cheers", **fields
) -> ProgramEntry:
    return ProgramEntry.objects.create(
        channel=channel, start=start, stop=start + timedelta(minutes=minutes), title=title, **fields
    )


def fill(
    channel: Channel, start: datetime, hours: float, minutes: int = 30, title: str = "Cheers"
) -> list[ProgramEntry]:
    """Back-to-back programs from `start` for `hours`, episodes 1, 2, 3, … of season 1."""
    count = int(hours * 60 // minutes)
    rows = [
        ProgramEntry(
            channel=channel,
            start=start + timedelta(minutes=minutes * index),
            stop=start + timedelta(minutes=minutes * (index + 1)),
            title=title,
            subtitle=f"Episode {index + 1}",
            season_number=1,
            episode_number=index + 1,
            content_rating="TV-PG",
        )
        for index in range(count)
    ]
    return ProgramEntry.objects.bulk_create(rows)
