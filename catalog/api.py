"""The /api/catalog/ router: read endpoints with paging and filters."""

from django.shortcuts import get_object_or_404
from ninja import Query, Router
from ninja.pagination import PageNumberPagination, paginate

from catalog import schemas
from catalog.models import (
    ChapterMark,
    Episode,
    Library,
    MediaFile,
    MediaSource,
    MediaStream,
    Movie,
    ShortFormItem,
    Show,
    SyncRun,
)

router = Router(tags=["catalog"])
PAGE_SIZE = 50


@router.get("/sources", response=list[schemas.SourceOut], summary="Media sources (tokens are never returned)")
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
def list_sources(request):
    return MediaSource.objects.order_by("name")


@router.get("/sources/{source_id}", response=schemas.SourceOut)
def get_source(request, source_id: int):
    return get_object_or_404(MediaSource, pk=source_id)


@router.get("/libraries", response=list[schemas.LibraryOut])
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
def list_libraries(request, filters: Query[schemas.LibraryFilter]):
    return filters.filter(Library.objects.order_by("source_id", "title"))


@router.get("/shows", response=list[schemas.ShowOut])
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
def list_shows(request, filters: Query[schemas.ShowFilter]):
    return filters.filter(Show.objects.order_by("sort_title", "year", "id"))


@router.get("/shows/{show_id}", response=schemas.ShowOut)
def get_show(request, show_id: int):
    return get_object_or_404(Show, pk=show_id)


@router.get("/shows/{show_id}/external-ids", response=list[schemas.ExternalIdOut])
def list_show_external_ids(request, show_id: int):
    show = get_object_or_404(Show, pk=show_id)
    return show.external_ids.order_by("provider")


@router.get("/episodes", response=list[schemas.EpisodeOut])
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
def list_episodes(request, filters: Query[schemas.EpisodeFilter]):
    episodes = Episode.objects.select_related("show").order_by(
        "show__sort_title", "season_number", "episode_number", "id"
    )
    return filters.filter(episodes)


@router.get("/episodes/{episode_id}", response=schemas.EpisodeOut)
def get_episode(request, episode_id: int):
    return get_object_or_404(Episode.objects.select_related("show"), pk=episode_id)


@router.get("/movies", response=list[schemas.MovieOut])
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
def list_movies(request, filters: Query[schemas.MovieFilter]):
    return filters.filter(Movie.objects.order_by("sort_title", "year", "id"))


@router.get("/movies/{movie_id}", response=schemas.MovieOut)
def get_movie(request, movie_id: int):
    return get_object_or_404(Movie, pk=movie_id)


@router.get("/short-form", response=list[schemas.ShortFormOut], summary="Commercials, bumpers, promos, …")
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
def list_short_form(request, filters: Query[schemas.ShortFormFilter]):
    return filters.filter(ShortFormItem.objects.order_by("kind", "title", "id"))


@router.get("/items/{item_id}/files", response=list[schemas.MediaFileOut])
def list_item_files(request, item_id: int):
    return MediaFile.objects.filter(playable_id=item_id).order_by("position")


@router.get("/items/{item_id}/streams", response=list[schemas.MediaStreamOut])
def list_item_streams(request, item_id: int):
    """Audio and subtitle tracks of every file of an item."""
    return MediaStream.objects.filter(media_file__playable_id=item_id).order_by(
        "media_file__position", "origin", "kind", "stream_index", "id"
    )


@router.get("/media-files/{file_id}/streams", response=list[schemas.MediaStreamOut])
def list_media_file_streams(request, file_id: int):
    return MediaStream.objects.filter(media_file_id=file_id).order_by("origin", "kind", "stream_index", "id")


@router.get("/items/{item_id}/chapters", response=list[schemas.ChapterMarkOut])
def list_item_chapters(request, item_id: int):
    return ChapterMark.objects.filter(playable_id=item_id).order_by("time_ms")


@router.get("/media-files", response=list[schemas.MediaFileOut])
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
def list_media_files(request, filters: Query[schemas.MediaFileFilter]):
    return filters.filter(MediaFile.objects.order_by("id"))


@router.get("/sync-runs", response=list[schemas.SyncRunOut])
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
def list_sync_runs(request, filters: Query[schemas.SyncRunFilter]):
    return filters.filter(SyncRun.objects.order_by("-created_at", "-id"))


@router.get("/sync-runs/{run_id}", response=schemas.SyncRunOut)
def get_sync_run(request, run_id: int):
    return get_object_or_404(SyncRun, pk=run_id)
