"""Slots that draw from a collection ("a block from the collection Christmas Specials")."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError

from catalog.models import Collection, CollectionMember
from scheduling.builder import build_channel
from scheduling.models import ProgramEntry, ScheduleWarning
from tests.scheduling.station import channel_with_slot, movie, short_form_library, sitcom

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)


def collection_of(title, source, *, episodes=(), shows=(), movies=()):
    collection = Collection.objects.create(source=source, rating_key=f"9{len(title)}", title=title)
    entries = (
        [("episode", item) for item in episodes]
        + [("show", s) for s in shows]
        + [("movie", m) for m in movies]
    )
    for position, (kind, item) in enumerate(entries):
        link = {"show": item} if kind == "show" else {"playable": item}
        CollectionMember.objects.create(
            collection=collection, position=position, rating_key=str(item.pk), kind=kind, **link
        )
    return collection


def test_a_block_from_a_collection_airs_only_that_collections_members():
    cheers, cheers_episodes = sitcom("Cheers", episodes=10)
    taxi, taxi_episodes = sitcom("Taxi", episodes=6)
    _outsider, outsider_episodes = sitcom("Outsider", episodes=6)
    gremlins = movie("Gremlins", 106)
    _other_film = movie("Tron", 96)
    short_form_library()
    specials = [cheers_episodes[2], cheers_episodes[7]]
    collection = collection_of(
        "Christmas Specials", cheers.source, episodes=specials, shows=[taxi], movies=[gremlins]
    )
    channel, _, slot = channel_with_slot(start=time(16), end=time(23), content="collection", order="shuffle")
    slot.collection = collection
    slot.save()

    build_channel(channel, MONDAY, MONDAY + timedelta(days=3), fine_until=MONDAY + timedelta(days=1))

    aired = list(
        ProgramEntry.objects.filter(channel=channel, slot=slot).values_list("playable_id", "category")
    )
    members = {episode.pk for episode in specials + taxi_episodes} | {gremlins.pk}
    assert aired, "the block aired something"
    assert {playable for playable, _ in aired} <= members
    assert {playable for playable, _ in aired} == members, "a 3-day shuffle reaches every member"
    assert ("Movie" in {category for _, category in aired}) and (
        "Series" in {category for _, category in aired}
    )
    outside = {e.pk for e in outsider_episodes} | {e.pk for e in cheers_episodes if e not in specials}
    assert not ProgramEntry.objects.filter(channel=channel, playable_id__in=outside).exists()


def test_in_order_collection_block_continues_each_show_in_its_order():
    cheers, episodes = sitcom("Cheers", episodes=8)
    short_form_library()
    collection = collection_of(
        "Cheers Favourites", cheers.source, episodes=[episodes[5], episodes[1], episodes[3]]
    )
    channel, _, slot = channel_with_slot(start=time(18), end=time(19), content="collection")
    slot.collection = collection
    slot.save()
    build_channel(channel, MONDAY, MONDAY + timedelta(days=2), fine_until=MONDAY + timedelta(days=1))
    aired = list(
        ProgramEntry.objects.filter(channel=channel, slot=slot)
        .order_by("start")
        .values_list("playable_id", flat=True)
    )
    assert aired == [episodes[5].pk, episodes[1].pk, episodes[3].pk, episodes[5].pk]


def test_a_collection_gone_from_plex_leaves_the_block_to_fallback_with_a_warning():
    cheers, episodes = sitcom("Cheers", episodes=4)
    short_form_library()
    collection = collection_of("Gone", cheers.source, episodes=episodes)
    collection.state = "removed"
    collection.save()
    channel, _, slot = channel_with_slot(start=time(18), end=time(19), content="collection")
    slot.collection = collection
    slot.save()
    build_channel(channel, MONDAY, MONDAY + timedelta(days=1), fine_until=MONDAY + timedelta(days=1))
    assert not ProgramEntry.objects.filter(channel=channel, slot=slot).exists()
    warning = ScheduleWarning.objects.get(channel=channel)
    assert "18:00 collection slot" in warning.message


def test_collection_slots_need_a_collection_and_only_they_take_one():
    cheers, episodes = sitcom("Cheers", episodes=2)
    collection = collection_of("Any", cheers.source, episodes=episodes)
    _, _, slot = channel_with_slot(content="collection")
    with pytest.raises(ValidationError) as missing:
        slot.full_clean()
    assert "collection" in missing.value.message_dict
    _, _, episodes_slot = channel_with_slot(number="4", shows=[cheers])
    episodes_slot.collection = collection
    with pytest.raises(ValidationError) as stray:
        episodes_slot.full_clean()
    assert "collection" in stray.value.message_dict
