"""The 0009 migration gives rows synced before it their genres and studio as shared rows."""

import importlib

import pytest
from django.apps import apps

from catalog.models import Genre, Studio
from tests.factories import MovieFactory, ShowFactory

pytestmark = pytest.mark.django_db

backfill = importlib.import_module("catalog.migrations.0009_collections_and_tags").backfill_genres_and_studios


def test_backfill_links_existing_genres_and_studios_once_in_order():
    show = ShowFactory(genres=["Comedy", "Drama", "Comedy"], studio="ABC")
    movie = MovieFactory(genres=["Drama"], studio="Universal")
    bare = ShowFactory(genres=[], studio="")
    backfill(apps, None)
    backfill(apps, None)  # a second run changes nothing
    show.refresh_from_db()
    movie.refresh_from_db()
    bare.refresh_from_db()
    assert list(show.genre_tags.order_by("show_links__position").values_list("name", flat=True)) == [
        "Comedy",
        "Drama",
    ]
    assert show.network.name == "ABC" and movie.production_studio.name == "Universal"
    assert list(movie.genre_tags.values_list("name", flat=True)) == ["Drama"]
    assert bare.network is None and not bare.genre_tags.exists()
    assert Genre.objects.count() == 2 and Studio.objects.count() == 2
