import pytest

from catalog.media.paths import PathMapper


def test_unix_prefix_is_replaced():
    mapper = PathMapper([("/data/tv", "/mnt/media/tv")])
    assert (
        mapper.map("/data/tv/Cheers/Season 01/Cheers - s01e01.mkv")
        == "/mnt/media/tv/Cheers/Season 01/Cheers - s01e01.mkv"
    )


def test_longest_overlapping_prefix_wins_whatever_the_rule_order():
    rules = [("/data/tv", "/mnt/disk1/tv"), ("/data/tv/kids", "/mnt/disk2/kids")]
    for ordering in (rules, list(reversed(rules))):
        mapper = PathMapper(ordering)
        assert mapper.map("/data/tv/kids/DuckTales/e1.mkv") == "/mnt/disk2/kids/DuckTales/e1.mkv"
        assert mapper.map("/data/tv/Cheers/e1.mkv") == "/mnt/disk1/tv/Cheers/e1.mkv"


def test_prefix_matches_whole_components_only():
    mapper = PathMapper([("/data/tv", "/mnt/tv")])
    assert mapper.map("/data/tvshows/x.mkv") == "/data/tvshows/x.mkv"


def test_windows_paths_map_case_insensitively_with_separators_translated():
    mapper = PathMapper([("D:\\Media\\TV", "/mnt/tv")], case_insensitive=True)
    assert mapper.map("d:\\media\\tv\\Cheers\\Season 01\\e1.mkv") == "/mnt/tv/Cheers/Season 01/e1.mkv"
    assert mapper.map("D:/Media/TV/Cheers/e2.mkv") == "/mnt/tv/Cheers/e2.mkv"


def test_case_matters_on_a_case_sensitive_server():
    mapper = PathMapper([("/Data/TV", "/mnt/tv")], case_insensitive=False)
    assert mapper.map("/data/tv/e1.mkv") == "/data/tv/e1.mkv"
    assert mapper.map("/Data/TV/e1.mkv") == "/mnt/tv/e1.mkv"


def test_trailing_separators_in_rules_do_not_matter():
    mapper = PathMapper([("/data/tv/", "/mnt/tv/")])
    assert mapper.map("/data/tv/e1.mkv") == "/mnt/tv/e1.mkv"


def test_unc_share_maps():
    mapper = PathMapper([("\\\\nas\\media", "/mnt/nas")], case_insensitive=True)
    assert mapper.map("\\\\NAS\\Media\\Movies\\Alien (1979).mkv") == "/mnt/nas/Movies/Alien (1979).mkv"


@pytest.mark.parametrize("path", ["C:\\TV\\e1.mkv", "\\\\nas\\tv\\e1.mkv"])
def test_unmapped_windows_path_cannot_be_local(path):
    assert PathMapper([("/data", "/mnt")], case_insensitive=True).map(path) is None


def test_unmapped_unix_path_is_used_as_is():
    assert PathMapper([]).map("/srv/tv//Cheers/e1.mkv") == "/srv/tv/Cheers/e1.mkv"


def test_empty_path_maps_to_nothing():
    assert PathMapper([("/a", "/b")]).map("") is None


@pytest.mark.django_db
def test_admin_counts_files_per_rule_and_those_present(staff_client, tmp_path):
    from catalog.media.mapping_stats import mapping_stats
    from tests.factories import EpisodeFactory, MediaFileFactory, PlexSourceFactory, ShowFactory

    source = PlexSourceFactory()
    show = ShowFactory(source=source)
    (tmp_path / "kids").mkdir()
    (tmp_path / "kids" / "a.mkv").write_bytes(b"x")
    broad = source.path_mappings.create(plex_prefix="/data/tv", local_prefix="/nowhere")
    narrow = source.path_mappings.create(plex_prefix="/data/tv/kids", local_prefix=str(tmp_path / "kids"))
    for path in ("/data/tv/kids/a.mkv", "/data/tv/kids/b.mkv", "/data/tv/news/c.mkv", "/other/d.mkv"):
        MediaFileFactory(playable=EpisodeFactory(show=show, source=source), plex_path=path)
    stats = mapping_stats(source)
    assert (stats["/data/tv/kids"].mapped, stats["/data/tv/kids"].present) == (2, 1)
    assert (stats["/data/tv"].mapped, stats["/data/tv"].present) == (1, 0)
    html = staff_client.get("/admin/catalog/pathmapping/").content.decode()
    assert "1 of 2" in html and "0 of 1" in html
    assert staff_client.get(f"/admin/catalog/pathmapping/{narrow.pk}/change/").status_code == 200
    assert broad.pk
