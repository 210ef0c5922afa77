"""Genres, studios/networks and credits synced from the emulator into shared rows, in order."""

import pytest

from catalog.models import Credit, Episode, Genre, Movie, Person, Show
from plex_emulator.model import Tag
from tests.catalog.plex_helpers import source_for, sync

pytestmark = pytest.mark.django_db


def credits_of(**owner):
    return list(
        Credit.objects.filter(**owner)
        .order_by("role", "position")
        .values_list("role", "person__name", "character")
    )


def test_movie_genres_studio_and_credits_arrive_in_plex_order(emulator, synced):
    for remote in emulator.library.movies()[:5]:
        movie = Movie.objects.get(source=synced, rating_key=remote.rating_key)
        assert [link.genre.name for link in movie.genre_links.order_by("position")] == [
            tag.tag for tag in remote.genres
        ]
        assert movie.production_studio.name == remote.studio
        expected = sorted(  # by role, then billing order
            [("actor", tag.tag, tag.role or "", n) for n, tag in enumerate(remote.roles)]
            + [("director", tag.tag, "", n) for n, tag in enumerate(remote.directors)]
            + [("producer", tag.tag, "", n) for n, tag in enumerate(remote.producers)]
            + [("writer", tag.tag, "", n) for n, tag in enumerate(remote.writers)],
            key=lambda credit: (credit[0], credit[3]),
        )
        assert credits_of(playable=movie) == [
            (role, name, character) for role, name, character, _ in expected
        ]


def test_show_network_genres_and_cast_with_characters(emulator, synced):
    for remote in emulator.library.shows():
        show = Show.objects.get(source=synced, rating_key=remote.rating_key)
        assert show.network.name == remote.studio
        assert list(show.genre_tags.order_by("show_links__position").values_list("name", flat=True)) == [
            tag.tag for tag in remote.genres
        ]
        assert credits_of(show=show) == [("actor", tag.tag, tag.role) for tag in remote.roles]


def test_show_cast_is_read_in_batches_of_keys_not_item_by_item(emulator):
    source = source_for(emulator)
    emulator.requests.reset()
    assert sync(source, "full").status == "succeeded"
    show_keys = {show.rating_key for show in emulator.library.shows()}
    paths = [path for path in emulator.requests.snapshot()["byPath"] if path.startswith("/library/metadata/")]
    batched = [path for path in paths if set(path.rsplit("/", 1)[1].split("?")[0].split(",")) <= show_keys]
    assert len(batched) == 1 and "," in batched[0]


def test_episodes_get_their_director_and_writer(emulator, synced):
    remote = emulator.library.episodes()[3]
    episode = Episode.objects.get(source=synced, rating_key=remote.rating_key)
    assert credits_of(playable=episode) == [
        ("director", remote.directors[0].tag, ""),
        ("writer", remote.writers[0].tag, ""),
    ]


def test_resync_after_a_cast_change_replaces_credits_and_reuses_people(emulator, synced):
    remote = emulator.library.movies()[0]
    people_before = Person.objects.count()
    lead = remote.roles[0]
    remote.roles = [Tag(tag_id=99_999, tag="Newcomer Star", role="The Lead"), lead]
    emulator.library.touch(remote.rating_key)
    run = sync(synced)
    assert run.status == "succeeded", run.error
    movie = Movie.objects.get(source=synced, rating_key=remote.rating_key)
    assert [c for c in credits_of(playable=movie) if c[0] == "actor"] == [
        ("actor", "Newcomer Star", "The Lead"),
        ("actor", lead.tag, lead.role),
    ]
    assert Person.objects.count() == people_before + 1
    assert Person.objects.filter(name=lead.tag).count() == 1


def test_second_full_sync_converges_without_duplicate_rows(emulator, synced):
    counts = (Genre.objects.count(), Person.objects.count(), Credit.objects.count())
    assert sync(synced, "deep").status == "succeeded"
    assert (Genre.objects.count(), Person.objects.count(), Credit.objects.count()) == counts
