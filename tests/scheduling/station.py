"""A small station built from factories, for builder tests (no media files needed)."""

from __future__ import annotations

from datetime import time

from catalog.models import ChapterMark, MediaFile
from scheduling.models import BreakRule, Channel, ScheduleTemplate, TimeSlot
from tests.factories import EpisodeFactory, FolderSourceFactory, MovieFactory, ShortFormFactory, ShowFactory

MINUTE = 60_000


def airable(item, state="normal"):
    MediaFile.objects.create(playable=item, position=0, local_path=f"/media/{item.pk}.mkv", state=state)
    return item


def sitcom(title="Cheers", episodes=8, minutes=22, marks=(7, 15), year=1982, rating="TV-PG"):
    show = ShowFactory(title=title, year=year, content_rating=rating)
    made = []
    for number in range(1, episodes + 1):
        episode = airable(
            EpisodeFactory(show=show, source=show.source, title=f"{title} {number}", season_number=1,
                           episode_number=number, duration_ms=minutes * MINUTE + number * 1000, content_rating=rating)
        )  # fmt: skip
        for mark in marks:
            ChapterMark.objects.create(playable=episode, time_ms=mark * MINUTE, origin="plex")
        made.append(episode)
    return show, made


def movie(title, minutes, year=1985):
    return airable(MovieFactory(title=title, year=year, duration_ms=minutes * MINUTE))


def short_form_library():
    source = FolderSourceFactory()
    clips = []
    for company in ("Kellogg's", "Mattel", "Coca-Cola", "Hasbro", "Nintendo", "Ford"):
        for length in (15, 30):
            clips.append(airable(ShortFormFactory(source=source, kind="commercial", commercial_company=company,
                                                  title=f"{company} {length}s", duration_ms=length * 1000)))  # fmt: skip
    clips.append(airable(ShortFormFactory(source=source, kind="bumper", title="We'll be right back", category="out",
                                          duration_ms=5000, commercial_company="")))  # fmt: skip
    clips.append(airable(ShortFormFactory(source=source, kind="bumper", title="Now back to our show", category="in",
                                          duration_ms=5000, commercial_company="")))  # fmt: skip
    clips.append(airable(ShortFormFactory(source=source, kind="station_id", title="You're watching RetroVue",
                                          duration_ms=10_000, commercial_company="")))  # fmt: skip
    for length in (20, 45, 90, 240):
        clips.append(airable(ShortFormFactory(source=source, kind="filler", title=f"Filler {length}s",
                                              duration_ms=length * 1000, commercial_company="")))  # fmt: skip
    return clips


def channel_with_slot(number="3", shows=(), start=time(18), end=time(19), days=(0, 1, 2, 3, 4, 5, 6), order="in_order",
                      content="episodes", movies=(), priority=0, **channel_fields):  # fmt: skip
    channel = Channel.objects.create(
        number=number, name=f"Channel {number}", time_zone="UTC", **channel_fields
    )
    template = ScheduleTemplate.objects.create(channel=channel, name="Regular week", priority=priority)
    slot = TimeSlot.objects.create(
        template=template, days=list(days), start_time=start, end_time=end, content=content, order=order
    )
    slot.shows.set(shows)
    slot.movies.set(movies)
    BreakRule.objects.create(channel=channel, min_spacing_minutes=5, edge_minutes=3)
    return channel, template, slot
