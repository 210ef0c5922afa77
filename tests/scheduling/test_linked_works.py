"""A movie or show two sources hold, linked as one work by catalog matching, airs as one program."""

from datetime import UTC, datetime, time, timedelta

import pytest

from catalog.models import MediaFile, Work, WorkMember
from scheduling.builder import build_channel
from scheduling.models import ProgramEntry
from tests.factories import FolderSourceFactory
from tests.scheduling.station import channel_with_slot, movie, short_form_library, sitcom

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)


def link(*items, kind="movie"):
    work = Work.objects.create(kind=kind, title=items[0].title)
    for item in items:
        WorkMember.objects.create(work=work, source=item.source, method="ids", **{kind: item})
    return work


def aired(channel) -> list[int]:
    return list(
        ProgramEntry.objects.filter(channel=channel, slot__isnull=False)
        .order_by("start")
        .values_list("playable_id", flat=True)
    )


def build_days(channel, days):
    build_channel(channel, MONDAY, MONDAY + timedelta(days=days), fine_until=MONDAY + timedelta(days=days))


def test_linked_movie_copies_air_once_and_the_local_copy_wins():
    short_form_library()
    streamed = movie("Alien", 117, year=1979)
    MediaFile.objects.filter(playable=streamed).update(state="remote_only", local_path="")
    local = movie("Alien", 117, year=1979)
    local.source = FolderSourceFactory(kind="tmm", path="/srv/tmm")
    local.save()
    other = movie("Tron", 96, year=1982)
    link(streamed, local)
    channel, _, _ = channel_with_slot(
        number="5",
        content="movies",
        order="shuffle",
        movies=[streamed, local, other],
        start=time(20),
        end=time(0),
    )
    build_days(channel, 3)
    played = aired(channel)
    assert set(played) == {local.pk, other.pk}
    assert streamed.pk not in played


def test_a_slot_listing_only_one_copy_still_airs_it():
    short_form_library()
    first, second = movie("Heat", 170, year=1995), movie("Heat", 170, year=1995)
    link(first, second)
    channel, _, _ = channel_with_slot(
        number="6", content="movies", movies=[second], start=time(20), end=time(23)
    )
    build_days(channel, 1)
    assert set(aired(channel)) == {second.pk}


def test_linked_shows_in_one_slot_air_one_copys_episodes_in_order():
    short_form_library()
    plex_copy, plex_episodes = sitcom("Cheers", episodes=4)
    tmm_copy, _ = sitcom("Cheers", episodes=3)
    link(plex_copy, tmm_copy, kind="show")
    channel, _, _ = channel_with_slot(shows=[plex_copy, tmm_copy], start=time(18), end=time(20))
    build_days(channel, 1)
    assert aired(channel) == [episode.pk for episode in plex_episodes]  # the fuller copy, once through
