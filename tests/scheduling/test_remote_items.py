"""Items with no local copy: scheduled when Plex can stream them and their source allows it."""

from datetime import UTC, datetime, timedelta

import pytest

from catalog.models import MediaFile
from scheduling.builder import build_channel
from scheduling.models import ProgramEntry
from tests.scheduling.station import channel_with_slot, short_form_library, sitcom

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)


def scheduled_items(show) -> set[int]:
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[show])
    build_channel(channel, MONDAY, MONDAY + timedelta(days=1), fine_until=MONDAY + timedelta(days=1))
    return set(ProgramEntry.objects.filter(channel=channel).values_list("playable_id", flat=True))


def make_remote(episode, part_key="/library/parts/7/1500000007/file.mkv"):
    MediaFile.objects.filter(playable=episode).update(state="remote_only", local_path="", part_key=part_key)


def test_a_remote_only_item_with_a_part_is_scheduled_by_default():
    show, episodes = sitcom()
    make_remote(episodes[0])
    assert show.source.allow_remote_playback
    assert episodes[0].pk in scheduled_items(show)


def test_a_remote_only_item_is_not_scheduled_when_its_source_disallows_remote_playback():
    show, episodes = sitcom()
    make_remote(episodes[0])
    type(show.source).objects.filter(pk=show.source.pk).update(allow_remote_playback=False)
    scheduled = scheduled_items(show)
    assert episodes[0].pk not in scheduled and episodes[1].pk in scheduled


def test_a_remote_only_item_without_a_part_to_stream_is_not_scheduled():
    show, episodes = sitcom()
    make_remote(episodes[0], part_key="")
    scheduled = scheduled_items(show)
    assert episodes[0].pk not in scheduled and episodes[1].pk in scheduled
