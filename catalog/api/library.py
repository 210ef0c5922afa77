"""Read endpoints over the library, with paging and filters: sources, libraries, shows, episodes,
movies, short-form items, their files, streams, chapters and credits, sync runs, collections and tags."""

from django.shortcuts import get_object_or_404
from ninja import Query
from ninja.errors import HttpError
from ninja.pagination import paginate

from catalog.api import schemas
from catalog.api import tag_schemas as tags
from catalog.api.router import PAGE_SIZE, router
from catalog.choices import SourceKind
from catalog.models import (
    ChapterMark,
    Collection,
    Credit,
    Episode,
    Genre,
    Library,
    MediaFile,
    MediaSource,
    MediaStream,
    Movie,
    Person,
    ShortFormItem,
    Show,
    Studio,
    SyncRun,
)
from catalog.plex.auth import check_connection
from retrovue.core.api_paging import PageNumberPagination
from retrovue.core.api_permissions import requires


@router.get("/sources", response=list[schemas.SourceOut], summary="Media sources (tokens are never returned)")
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
@requires("catalog.view_mediasource")
def list_sources(request):
    return MediaSource.objects.order_by("name")


@router.get("/sources/{source_id}", response=schemas.SourceOut)
@requires("catalog.view_mediasource")
def get_source(request, source_id: int):
    return get_object_or_404(MediaSource, pk=source_id)


@router.post(
    "/sources/{source_id}/test-connection",
    response=schemas.ConnectionCheckOut,
    summary="Reach a Plex source: token valid, server name and version, libraries, round trip (ms)",
)
@requires("catalog.view_mediasource", "catalog.change_mediasource")
def test_source_connection(request, source_id: int):
    if not request.user.has_perm("catalog.change_mediasource"):
        raise HttpError(403, "You may not change media sources.")
    source = get_object_or_404(MediaSource, pk=source_id, kind=SourceKind.PLEX)
    return check_connection(source).as_dict()


@router.get("/libraries", response=list[schemas.LibraryOut])
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
@requires("catalog.view_library")
def list_libraries(request, filters: Query[schemas.LibraryFilter]):
    return filters.filter(Library.objects.order_by("source_id", "title"))


@router.get("/shows", response=list[schemas.ShowOut])
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
@requires("catalog.view_show")
def list_shows(request, filters: Query[schemas.ShowFilter]):
    return filters.filter(Show.objects.select_related("network").order_by("sort_title", "year", "id"))


@router.get("/shows/{show_id}", response=schemas.ShowOut)
@requires("catalog.view_show")
def get_show(request, show_id: int):
    return get_object_or_404(Show.objects.select_related("network"), pk=show_id)


@router.get("/shows/{show_id}/external-ids", response=list[schemas.ExternalIdOut])
@requires("catalog.view_show", "catalog.view_externalid")
def list_show_external_ids(request, show_id: int):
    show = get_object_or_404(Show, pk=show_id)
    return show.external_ids.order_by("provider")


@router.get("/episodes", response=list[schemas.EpisodeOut])
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
@requires("catalog.view_episode")
def list_episodes(request, filters: Query[schemas.EpisodeFilter]):
    episodes = Episode.objects.select_related("show").order_by(
        "show__sort_title", "season_number", "episode_number", "id"
    )
    return filters.filter(episodes)


@router.get("/episodes/{episode_id}", response=schemas.EpisodeOut)
@requires("catalog.view_episode")
def get_episode(request, episode_id: int):
    return get_object_or_404(Episode.objects.select_related("show"), pk=episode_id)


@router.get("/movies", response=list[schemas.MovieOut])
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
@requires("catalog.view_movie")
def list_movies(request, filters: Query[schemas.MovieFilter]):
    return filters.filter(Movie.objects.order_by("sort_title", "year", "id"))


@router.get("/movies/{movie_id}", response=schemas.MovieOut)
@requires("catalog.view_movie")
def get_movie(request, movie_id: int):
    return get_object_or_404(Movie, pk=movie_id)


@router.get("/short-form", response=list[schemas.ShortFormOut], summary="Commercials, bumpers, promos, …")
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
@requires("catalog.view_shortformitem")
def list_short_form(request, filters: Query[schemas.ShortFormFilter]):
    return filters.filter(ShortFormItem.objects.order_by("kind", "title", "id"))


@router.get("/items/{item_id}/files", response=list[schemas.MediaFileOut])
@requires("catalog.view_mediafile")
def list_item_files(request, item_id: int):
    # Version by version (Plex's order), each version's parts in play order.
    return MediaFile.objects.filter(playable_id=item_id).order_by("version__position", "position", "id")


@router.get("/items/{item_id}/streams", response=list[schemas.MediaStreamOut])
@requires("catalog.view_mediafile", "catalog.view_mediastream")
def list_item_streams(request, item_id: int):
    """Audio and subtitle tracks of every file of an item."""
    return MediaStream.objects.filter(media_file__playable_id=item_id).order_by(
        "media_file__position", "origin", "kind", "stream_index", "id"
    )


@router.get("/media-files/{file_id}/streams", response=list[schemas.MediaStreamOut])
@requires("catalog.view_mediafile", "catalog.view_mediastream")
def list_media_file_streams(request, file_id: int):
    return MediaStream.objects.filter(media_file_id=file_id).order_by("origin", "kind", "stream_index", "id")


@router.get("/items/{item_id}/chapters", response=list[schemas.ChapterMarkOut])
@requires("catalog.view_chaptermark")
def list_item_chapters(request, item_id: int):
    return ChapterMark.objects.filter(playable_id=item_id).order_by("time_ms")


@router.get("/media-files", response=list[schemas.MediaFileOut])
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
@requires("catalog.view_mediafile")
def list_media_files(request, filters: Query[schemas.MediaFileFilter]):
    return filters.filter(MediaFile.objects.order_by("id"))


@router.get("/sync-runs", response=list[schemas.SyncRunOut])
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
@requires("catalog.view_syncrun")
def list_sync_runs(request, filters: Query[schemas.SyncRunFilter]):
    return filters.filter(SyncRun.objects.order_by("-created_at", "-id"))


@router.get("/sync-runs/{run_id}", response=schemas.SyncRunOut)
@requires("catalog.view_syncrun")
def get_sync_run(request, run_id: int):
    return get_object_or_404(SyncRun, pk=run_id)


# --- collections, genres, networks, people ---------------------------------------------------------


@router.get("/collections", response=list[tags.CollectionOut], summary="Plex collections (smart ones too)")
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
@requires("catalog.view_collection")
def list_collections(request, filters: Query[tags.CollectionFilter]):
    return filters.filter(Collection.objects.order_by("sort_title", "title", "id"))


@router.get("/collections/{collection_id}", response=tags.CollectionOut)
@requires("catalog.view_collection")
def get_collection(request, collection_id: int):
    return get_object_or_404(Collection, pk=collection_id)


@router.get("/collections/{collection_id}/members", response=list[tags.CollectionMemberOut])
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
@requires("catalog.view_collection", "catalog.view_collectionmember")
def list_collection_members(request, collection_id: int):
    collection = get_object_or_404(Collection, pk=collection_id)
    return collection.members.order_by("position")


@router.get("/genres", response=list[tags.NamedOut])
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
@requires("catalog.view_genre")
def list_genres(request, filters: Query[tags.NameFilter]):
    return filters.filter(Genre.objects.order_by("name"))


@router.get("/networks", response=list[tags.NamedOut], summary="Networks and studios")
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
@requires("catalog.view_studio")
def list_networks(request, filters: Query[tags.NameFilter]):
    return filters.filter(Studio.objects.order_by("name"))


@router.get("/people", response=list[tags.PersonOut])
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
@requires("catalog.view_person")
def list_people(request, filters: Query[tags.NameFilter]):
    return filters.filter(Person.objects.order_by("name"))


@router.get("/shows/{show_id}/credits", response=list[tags.CreditOut])
@requires("catalog.view_show", "catalog.view_credit")
def list_show_credits(request, show_id: int):
    show = get_object_or_404(Show, pk=show_id)
    return show.credits.select_related("person").order_by("role", "position")


@router.get(
    "/items/{item_id}/credits", response=list[tags.CreditOut], summary="Cast and crew of a movie or episode"
)
@requires("catalog.view_credit")
def list_item_credits(request, item_id: int):
    return Credit.objects.filter(playable_id=item_id).select_related("person").order_by("role", "position")
