"""factory_boy factories for catalog rows (tests and benchmarks build data with these)."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from catalog.choices import ContentKind, LibraryKind, SourceKind
from catalog.models import (
    ChapterMark,
    Episode,
    ExternalId,
    Library,
    MediaFile,
    MediaSource,
    Movie,
    Season,
    ShortFormItem,
    Show,
)


class StaffUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    is_superuser = True
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def persist_password(user, create, extracted, **kwargs):
        if create:
            user.save()


class PlexSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MediaSource

    name = factory.Sequence(lambda n: f"Plex {n}")
    kind = SourceKind.PLEX
    base_url = "http://127.0.0.1:32400"
    token = "plex-token-abc123"


class FolderSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MediaSource

    name = factory.Sequence(lambda n: f"Folder {n}")
    kind = SourceKind.FOLDER
    path = "/srv/media/commercials"


class LibraryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Library

    source = factory.SubFactory(PlexSourceFactory)
    section_key = factory.Sequence(lambda n: str(n + 1))
    title = "TV Shows"
    kind = LibraryKind.SHOW


class ShowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Show

    source = factory.SubFactory(PlexSourceFactory)
    library = None
    rating_key = factory.Sequence(lambda n: str(10_000 + n))
    title = factory.Sequence(lambda n: f"Show {n}")
    year = 1990
    content_rating = "TV-PG"


class SeasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Season

    show = factory.SubFactory(ShowFactory)
    season_number = 1
    rating_key = factory.Sequence(lambda n: str(20_000 + n))


class EpisodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Episode

    show = factory.SubFactory(ShowFactory)
    source = factory.SelfAttribute("show.source")
    rating_key = factory.Sequence(lambda n: str(100_000 + n))
    title = factory.Sequence(lambda n: f"Episode {n}")
    season_number = 1
    episode_number = factory.Sequence(lambda n: n + 1)
    duration_ms = 22 * 60 * 1000
    content_rating = "TV-PG"
    kind = ContentKind.EPISODE


class MovieFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Movie

    source = factory.SubFactory(PlexSourceFactory)
    rating_key = factory.Sequence(lambda n: str(500_000 + n))
    title = factory.Sequence(lambda n: f"Movie {n}")
    year = 1985
    duration_ms = 95 * 60 * 1000
    content_rating = "PG"
    kind = ContentKind.MOVIE


class ShortFormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShortFormItem

    source = factory.SubFactory(FolderSourceFactory)
    rating_key = factory.Sequence(lambda n: f"commercials/spot-{n}.mp4")
    title = factory.Sequence(lambda n: f"Spot {n}")
    kind = ContentKind.COMMERCIAL
    duration_ms = 30_000
    commercial_company = "Acme"


class MediaFileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MediaFile

    playable = factory.SubFactory(EpisodeFactory)
    position = 0
    plex_path = factory.Sequence(lambda n: f"/data/tv/file{n}.mkv")
    local_path = factory.Sequence(lambda n: f"/mnt/tv/file{n}.mkv")
    container = "mkv"
    video_codec = "h264"
    audio_codec = "aac"
    width = 640
    height = 480
    duration_ms = 22 * 60 * 1000


class ExternalIdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExternalId

    show = factory.SubFactory(ShowFactory)
    source = factory.SelfAttribute("show.source")
    owner_kind = "show"
    provider = "tvdb"
    value = factory.Sequence(lambda n: str(70_000 + n))


class ChapterMarkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChapterMark

    playable = factory.SubFactory(EpisodeFactory)
    time_ms = 7 * 60 * 1000
    origin = "plex"
