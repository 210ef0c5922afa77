"""Catalog read endpoints: paging, filters and shapes."""

import pytest

from tests.factories import (
    ChapterMarkFactory,
    EpisodeFactory,
    ExternalIdFactory,
    MediaFileFactory,
    MovieFactory,
    PlexSourceFactory,
    ShortFormFactory,
    ShowFactory,
)

pytestmark = pytest.mark.django_db


def test_shows_are_paged_with_a_total_count(staff_client):
    ShowFactory.create_batch(60)
    first = staff_client.get("/api/catalog/shows").json()
    second = staff_client.get("/api/catalog/shows?page=2").json()
    assert first["count"] == 60
    assert len(first["items"]) == 50
    assert len(second["items"]) == 10
    assert not {show["id"] for show in first["items"]} & {show["id"] for show in second["items"]}


def test_page_size_can_be_chosen(staff_client):
    ShowFactory.create_batch(12)
    assert len(staff_client.get("/api/catalog/shows?page_size=5").json()["items"]) == 5


def test_shows_filter_by_title_and_year(staff_client):
    source = PlexSourceFactory()
    ShowFactory(source=source, title="Battlestar Galactica", year=1978)
    ShowFactory(source=source, title="Battlestar Galactica", year=2003)
    ShowFactory(source=source, title="Knight Rider", year=1982)
    found = staff_client.get("/api/catalog/shows?title=battlestar&year=1978").json()
    assert [(show["title"], show["year"]) for show in found["items"]] == [("Battlestar Galactica", 1978)]


def test_episodes_filter_by_show_and_season_and_carry_the_show_title(staff_client):
    show = ShowFactory(title="Cheers")
    EpisodeFactory(show=show, season_number=1, episode_number=1, title="Give Me a Ring Sometime")
    EpisodeFactory(show=show, season_number=2, episode_number=1, title="Power Play")
    EpisodeFactory()
    found = staff_client.get(f"/api/catalog/episodes?show={show.pk}&season=2").json()
    assert found["count"] == 1
    episode = found["items"][0]
    assert (episode["title"], episode["show_title"], episode["season_number"]) == ("Power Play", "Cheers", 2)


def test_short_form_filter_by_kind_and_company(staff_client):
    ShortFormFactory(kind="commercial", commercial_company="Kellogg's", title="Frosted Flakes")
    ShortFormFactory(kind="commercial", commercial_company="Mattel", title="Hot Wheels")
    ShortFormFactory(kind="bumper", commercial_company="", title="We'll be right back")
    found = staff_client.get("/api/catalog/short-form?kind=commercial&commercial_company=mattel").json()
    assert [item["title"] for item in found["items"]] == ["Hot Wheels"]


def test_movies_filter_by_state(staff_client):
    MovieFactory(title="Here", state="active")
    MovieFactory(title="Gone", state="removed")
    found = staff_client.get("/api/catalog/movies?state=removed").json()
    assert [movie["title"] for movie in found["items"]] == ["Gone"]


def test_item_files_and_chapters(staff_client):
    episode = EpisodeFactory()
    MediaFileFactory(playable=episode, position=0, local_path="/mnt/tv/a.mkv", state="normal")
    ChapterMarkFactory(playable=episode, time_ms=600_000)
    ChapterMarkFactory(playable=episode, time_ms=300_000)
    files = staff_client.get(f"/api/catalog/items/{episode.pk}/files").json()
    chapters = staff_client.get(f"/api/catalog/items/{episode.pk}/chapters").json()
    assert files[0]["local_path"] == "/mnt/tv/a.mkv"
    assert [chapter["time_ms"] for chapter in chapters] == [300_000, 600_000]


def test_media_files_filter_by_state(staff_client):
    MediaFileFactory(state="normal")
    MediaFileFactory(state="file_not_found")
    found = staff_client.get("/api/catalog/media-files?state=file_not_found").json()
    assert [item["state"] for item in found["items"]] == ["file_not_found"]


def test_show_external_ids(staff_client):
    show = ShowFactory()
    ExternalIdFactory(show=show, source=show.source, provider="tvdb", value="76290")
    ExternalIdFactory(show=show, source=show.source, provider="imdb", value="tt0086659")
    found = staff_client.get(f"/api/catalog/shows/{show.pk}/external-ids").json()
    assert {(row["provider"], row["value"]) for row in found} == {("tvdb", "76290"), ("imdb", "tt0086659")}


def test_unknown_ids_give_404(staff_client):
    assert staff_client.get("/api/catalog/shows/999999").status_code == 404
    assert staff_client.get("/api/catalog/movies/999999").status_code == 404


def test_bad_filter_value_is_a_clear_422(staff_client):
    response = staff_client.get("/api/catalog/shows?year=nineteen-eighty")
    assert response.status_code == 422
    assert "year" in response.content.decode()


def test_item_streams_list_audio_and_subtitle_tracks_of_its_files(staff_client):
    from catalog.models import MediaStream

    episode = EpisodeFactory()
    media_file = MediaFileFactory(playable=episode, position=0)
    MediaStream.objects.create(
        media_file=media_file,
        origin="plex",
        kind="audio",
        stream_index=2,
        language_code="fre",
        is_default=False,
    )
    MediaStream.objects.create(
        media_file=media_file,
        origin="plex",
        kind="subtitle",
        external=True,
        forced=True,
        key="/library/streams/9",
    )
    streams = staff_client.get(f"/api/catalog/items/{episode.pk}/streams").json()
    assert [(s["kind"], s["language_code"], s["forced"], s["external"]) for s in streams] == [
        ("audio", "fre", False, False),
        ("subtitle", "", True, True),
    ]
    assert staff_client.get(f"/api/catalog/media-files/{media_file.pk}/streams").json() == streams


def test_items_and_shows_carry_their_rating_rank(staff_client):
    show = ShowFactory(content_rating="gb/15")
    episode = EpisodeFactory(show=show, source=show.source, content_rating="TV-PG")
    assert staff_client.get(f"/api/catalog/shows/{show.pk}").json()["rating_rank"] == 16
    assert staff_client.get(f"/api/catalog/episodes/{episode.pk}").json()["rating_rank"] == 10
