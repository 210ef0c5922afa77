"""Raw HTTP behaviour: paging, includes, token handling, counters, access log."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

import pytest
import requests

from plex_emulator import PlexEmulator

from .conftest import parse_xml

EMULATOR_TOKEN = object()  # marker: send the emulator's own token


def get(
    emulator: PlexEmulator, path: str, *, token: object = EMULATOR_TOKEN, **headers: str
) -> requests.Response:
    if token is EMULATOR_TOKEN:
        token = emulator.token
    if token is not None:
        headers["X-Plex-Token"] = str(token)
    return requests.get(emulator.url + path, headers=headers, timeout=10)


def xml(response: requests.Response) -> ET.Element:
    assert response.status_code == 200, response.text
    return parse_xml(response.content)


def movies_path(emulator: PlexEmulator) -> str:
    return f"/library/sections/{emulator.config.movie_section_id}/all"


def test_identity_needs_no_token(emulator: PlexEmulator):
    root = xml(get(emulator, "/identity", token=None))
    assert root.get("machineIdentifier") == emulator.machine_identifier
    assert root.get("version") == emulator.config.server_version


@pytest.mark.parametrize("path", ["/", "/library", "/library/sections", "/library/metadata/1"])
def test_missing_or_wrong_token_gets_401(emulator: PlexEmulator, path: str):
    assert get(emulator, path, token=None).status_code == 401
    assert get(emulator, path, token="wrong").status_code == 401


def test_token_is_accepted_as_query_parameter(emulator: PlexEmulator):
    response = requests.get(f"{emulator.url}/library/sections?X-Plex-Token={emulator.token}", timeout=10)
    assert response.status_code == 200


def test_paging_headers_return_a_slice_with_totals(emulator: PlexEmulator):
    response = get(
        emulator, movies_path(emulator), **{"X-Plex-Container-Start": "120", "X-Plex-Container-Size": "50"}
    )

    root = xml(response)
    assert (root.get("offset"), root.get("size"), root.get("totalSize")) == ("120", "10", "130")
    assert len(root.findall("Video")) == 10
    assert response.headers["X-Plex-Container-Start"] == "120"
    assert response.headers["X-Plex-Container-Total-Size"] == "130"


def test_paging_query_parameters_work_like_headers(emulator: PlexEmulator):
    by_query = get(emulator, movies_path(emulator) + "?X-Plex-Container-Start=5&X-Plex-Container-Size=7")
    by_header = get(
        emulator, movies_path(emulator), **{"X-Plex-Container-Start": "5", "X-Plex-Container-Size": "7"}
    )
    assert by_query.content == by_header.content
    assert len(xml(by_query).findall("Video")) == 7


def test_size_zero_returns_only_the_total(emulator: PlexEmulator):
    root = xml(get(emulator, movies_path(emulator) + "?X-Plex-Container-Start=0&X-Plex-Container-Size=0"))
    assert (root.get("size"), root.get("totalSize"), len(root)) == ("0", "130", 0)


def test_unpaged_listing_returns_everything_without_total(emulator: PlexEmulator):
    root = xml(get(emulator, movies_path(emulator)))
    assert root.get("size") == "130" and root.get("totalSize") is None


def test_limit_caps_the_reported_total(emulator: PlexEmulator):
    root = xml(get(emulator, movies_path(emulator) + "?limit=3"))
    assert (root.get("size"), root.get("totalSize")) == ("3", "3")


def test_guid_children_appear_only_when_asked_for(emulator: PlexEmulator):
    plain = xml(get(emulator, movies_path(emulator)))
    with_guids = xml(get(emulator, movies_path(emulator) + "?includeGuids=1"))
    assert plain.findall("Video/Guid") == []
    assert with_guids.findall("Video/Guid")
    assert all(guid.get("id").split("://")[0] in {"imdb", "tmdb", "tvdb"} for guid in with_guids.iter("Guid"))


def test_type_parameter_selects_shows_seasons_or_episodes(emulator: PlexEmulator):
    section = f"/library/sections/{emulator.config.show_section_id}/all"
    for number, tag, kind in ((2, "Directory", "show"), (3, "Directory", "season"), (4, "Video", "episode")):
        root = xml(get(emulator, f"{section}?type={number}"))
        assert {(child.tag, child.get("type")) for child in root} == {(tag, kind)}
        assert len(root) == emulator.library.count(kind)


def test_include_meta_describes_types_fields_and_date_operators(emulator: PlexEmulator):
    section = f"/library/sections/{emulator.config.show_section_id}/all"
    root = xml(get(emulator, f"{section}?includeMeta=1&X-Plex-Container-Start=0&X-Plex-Container-Size=0"))
    meta = root.find("Meta")
    assert [t.get("type") for t in meta.findall("Type")] == ["show", "season", "episode", "folder"]
    date_operators = {o.get("key") for o in meta.find("FieldType[@type='date']").findall("Operator")}
    assert date_operators == {">>=", "<<="}
    assert meta.find("Type[@type='episode']/Field[@key='episode.addedAt']") is not None


def test_show_children_lead_with_an_all_episodes_directory_without_rating_key(emulator: PlexEmulator):
    show = emulator.library.find("Battlestar Galactica", 2003)[0]
    root = xml(get(emulator, f"/library/metadata/{show.rating_key}/children"))
    first, *seasons = list(root)
    assert (
        first.get("title") == "All episodes" and first.get("ratingKey") is None and first.get("type") is None
    )
    assert first.get("key") == f"/library/metadata/{show.rating_key}/allLeaves"
    assert [season.get("index") for season in seasons] == ["0", "1", "2"]
    assert root.get("size") == "4"

    trimmed = xml(get(emulator, f"/library/metadata/{show.rating_key}/children?excludeAllLeaves=1"))
    assert [child.get("title") for child in trimmed] == ["Specials", "Season 1", "Season 2"]


def test_all_leaves_lists_every_episode_with_mixed_parents(emulator: PlexEmulator):
    show = emulator.library.find("Battlestar Galactica", 2003)[0]
    root = xml(get(emulator, f"/library/metadata/{show.rating_key}/allLeaves"))
    assert root.get("mixedParents") == "1"
    assert len(root.findall("Video")) == show.leaf_count


def test_metadata_accepts_comma_separated_keys(emulator: PlexEmulator):
    keys = [movie.rating_key for movie in emulator.library.movies()[:3]]
    root = xml(get(emulator, f"/library/metadata/{','.join(keys)}"))
    assert [video.get("ratingKey") for video in root] == keys


def test_chapters_and_markers_only_when_requested(emulator: PlexEmulator):
    episode = next(e for e in emulator.library.episodes() if e.playback.intro and e.playback.chapter_count)
    bare = xml(get(emulator, f"/library/metadata/{episode.rating_key}"))
    full = xml(get(emulator, f"/library/metadata/{episode.rating_key}?includeChapters=1&includeMarkers=1"))
    assert bare.findall(".//Chapter") == [] and bare.findall(".//Marker") == []
    assert len(full.findall("Video/Chapter")) == episode.playback.chapter_count
    markers = full.findall("Video/Marker")
    assert {marker.get("type") for marker in markers} >= {"intro"}
    assert all(marker.find("Attributes") is not None for marker in markers)


def test_listings_carry_media_and_parts_but_details_add_streams(emulator: PlexEmulator):
    listing = xml(get(emulator, movies_path(emulator)))
    assert listing.findall("Video/Media/Part") and listing.findall(".//Stream") == []
    movie = emulator.library.movies()[0]
    detail = xml(get(emulator, f"/library/metadata/{movie.rating_key}"))
    stream_types = {stream.get("streamType") for stream in detail.iter("Stream")}
    assert {"1", "2"} <= stream_types


def test_unknown_paths_and_keys_are_404(emulator: PlexEmulator):
    assert get(emulator, "/library/metadata/424242").status_code == 404
    assert get(emulator, "/library/sections/9/all").status_code == 404
    assert get(emulator, "/no/such/endpoint").status_code == 404


def test_artwork_urls_serve_an_image(emulator: PlexEmulator):
    movie = xml(get(emulator, movies_path(emulator)))[0]
    response = get(emulator, movie.get("thumb"))
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/png"


def test_request_counter_counts_per_path_and_ignores_control_calls(emulator: PlexEmulator):
    emulator.requests.reset()
    get(emulator, "/identity")
    get(emulator, movies_path(emulator))
    get(emulator, movies_path(emulator) + "?type=1")
    get(emulator, "/_emulator/stats")

    assert emulator.requests.total == 3
    assert emulator.requests.by_path == {"/identity": 1, movies_path(emulator): 2}
    assert emulator.requests.count(r"/all$") == 2


def test_access_log_redacts_the_token(emulator: PlexEmulator, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.INFO, logger="plex_emulator.access"):
        requests.get(f"{emulator.url}/library/sections?X-Plex-Token={emulator.token}", timeout=10)
        get(emulator, "/library")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/library/sections?X-Plex-Token=[redacted]" in logged
    assert emulator.token not in logged
