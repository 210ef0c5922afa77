"""Catalog API: collections with members, genres/networks/people, and filtering items by them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import (
    Collection,
    CollectionMember,
    Credit,
    Genre,
    Person,
    PlayableGenre,
    ShowGenre,
    Studio,
)
from tests.factories import EpisodeFactory, MovieFactory, PlexSourceFactory, ShowFactory

pytestmark = pytest.mark.django_db


def credit(name, role, character="", **owner):
    person, _ = Person.objects.get_or_create(name=name)
    return Credit.objects.create(person=person, role=role, character=character, **owner)


def test_shows_filter_by_genre_network_and_person_without_duplicates(staff_client):
    nbc, cbs = Studio.objects.create(name="NBC"), Studio.objects.create(name="CBS")
    sitcom = Genre.objects.create(name="Sitcom")
    cheers = ShowFactory(title="Cheers", network=nbc)
    taxi = ShowFactory(title="Taxi", network=cbs)
    ShowGenre.objects.create(show=cheers, genre=sitcom)
    ShowGenre.objects.create(show=taxi, genre=sitcom)
    credit("Ted Danson", "actor", "Sam Malone", show=cheers)
    credit("Ted Danson", "producer", show=cheers)  # two credits, still one row in results
    credit("Danny DeVito", "actor", "Louie De Palma", show=taxi)

    def titles(query):
        return [show["title"] for show in staff_client.get(f"/api/catalog/shows?{query}").json()["items"]]

    assert titles("genre=sitcom") == ["Cheers", "Taxi"]
    assert titles("network=nbc") == ["Cheers"]
    assert titles("person=danson") == ["Cheers"]
    assert staff_client.get("/api/catalog/shows?person=danson").json()["count"] == 1
    assert staff_client.get(f"/api/catalog/shows/{cheers.pk}").json()["network"] == "NBC"


def test_show_list_query_count_does_not_grow_with_networks(staff_client):
    for n in range(3):
        ShowFactory(network=Studio.objects.create(name=f"Net {n}"))
    with CaptureQueriesContext(connection) as few:
        staff_client.get("/api/catalog/shows")
    for n in range(3, 30):
        ShowFactory(network=Studio.objects.create(name=f"Net {n}"))
    with CaptureQueriesContext(connection) as many:
        body = staff_client.get("/api/catalog/shows").json()
    assert body["count"] == 30 and all(show["network"] for show in body["items"])
    assert len(many) == len(few)


def test_movies_filter_by_genre_studio_and_person_and_list_credits(staff_client):
    source = PlexSourceFactory()
    wargames = MovieFactory(
        source=source, title="WarGames", production_studio=Studio.objects.create(name="MGM")
    )
    tron = MovieFactory(source=source, title="Tron")
    PlayableGenre.objects.create(playable=wargames, genre=Genre.objects.create(name="Thriller"))
    credit("John Badham", "director", playable=wargames)
    credit("Matthew Broderick", "actor", "David Lightman", playable=wargames)
    credit("Jeff Bridges", "actor", "Kevin Flynn", playable=tron)
    for query in ("genre=thriller", "studio=mgm", "person=badham"):
        items = staff_client.get(f"/api/catalog/movies?{query}").json()["items"]
        assert [movie["title"] for movie in items] == ["WarGames"], query
    credits = staff_client.get(f"/api/catalog/items/{wargames.pk}/credits").json()
    assert [(c["person"], c["role"], c["character"]) for c in credits] == [
        ("Matthew Broderick", "actor", "David Lightman"),
        ("John Badham", "director", ""),
    ]


def test_episodes_filter_by_person(staff_client):
    show = ShowFactory(title="Cheers")
    directed = EpisodeFactory(show=show, title="Pilot")
    EpisodeFactory(show=show, title="Other")
    credit("James Burrows", "director", playable=directed)
    items = staff_client.get("/api/catalog/episodes?person=burrows").json()["items"]
    assert [episode["title"] for episode in items] == ["Pilot"]


def test_collections_and_their_members_in_order(staff_client):
    source = PlexSourceFactory()
    show = ShowFactory(source=source, title="Cheers")
    special = EpisodeFactory(show=show, source=source, title="Christmas Cheers")
    movie = MovieFactory(source=source, title="Scrooged")
    xmas = Collection.objects.create(source=source, rating_key="900", title="Christmas Specials")
    Collection.objects.create(
        source=source, rating_key="901", title="Before 1990", smart=True, smart_filter="/x"
    )
    CollectionMember.objects.create(collection=xmas, position=0, rating_key="2", kind="movie", playable=movie)
    CollectionMember.objects.create(
        collection=xmas, position=1, rating_key="1", kind="episode", playable=special
    )
    CollectionMember.objects.create(collection=xmas, position=2, rating_key="7", kind="show", show=show)
    smart = staff_client.get("/api/catalog/collections?smart=true").json()["items"]
    assert [c["title"] for c in smart] == ["Before 1990"]
    members = staff_client.get(f"/api/catalog/collections/{xmas.pk}/members").json()["items"]
    assert [(m["kind"], m["item_id"], m["show_id"]) for m in members] == [
        ("movie", movie.pk, None),
        ("episode", special.pk, None),
        ("show", None, show.pk),
    ]
    assert staff_client.get("/api/catalog/people").status_code == 200
    assert staff_client.get("/api/catalog/genres?name=x").json()["count"] == 0
    assert staff_client.get("/api/catalog/networks").status_code == 200
