"""A TMM folder and a Plex library holding the same titles end up linked, queued or apart, for good.

Both sources go through the real paths: .nfo files written to a temporary folder and scanned by
the folder source code, a Plex library served over HTTP by the emulator, syncs started through
`request_sync` and carried out by the task shim, matching queued by the sync and run by its task.
Staff resolve conflicts through the admin with the test client.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from catalog import tasks
from catalog.choices import ItemState, LinkMethod, MatchStatus, SourceKind
from catalog.models import MatchCandidate, MatchDecision, MediaSource, Movie, Show, Work, WorkMember
from catalog.sync.triggers import request_sync
from plex_emulator import EmulatorConfig, PlexEmulator
from plex_emulator.titles import Title, seed_titles
from tests.catalog.test_probe import make_media_samples
from tests.factories import FolderSourceFactory

# (Plex side, TMM side, expected outcome). None: the title exists on one side only.
CASES = [
    # Ids agree: linked automatically, whatever the titles and years say.
    (Title("Back to the Future", 1985, ("imdb://tt0088763", "tmdb://105")),
     Title("Back to the Future", 1985, ("imdb://tt0088763", "tmdb://105")), "ids"),
    (Title("Se7en", 1995, ("tmdb://807",)), Title("Seven", 1995, ("tmdb://807",)), "ids"),
    (Title("Star Wars", 1977, ("imdb://tt0076759", "tmdb://11")),
     Title("Star Wars: Episode IV - A New Hope", 1977, ("tmdb://11",)), "ids"),
    (Title("Alien", 1979, ("tmdb://348",)), Title("Alien", 1980, ("tmdb://348",)), "ids"),
    (Title("Amélie", 2001, ("tmdb://194",)), Title("Amelie", 2001, ("imdb://tt0211915", "tmdb://194")), "ids"),
    (Title("The Terminator", 1984, ("imdb://tt0088247",)), Title("Terminator", 1984, ("imdb://tt0088247",)), "ids"),
    (Title("Heat", 1995, ("tmdb://949",)), Title("Heat", 1995, ("tmdb://949",)), "ids"),
    (Title("Die Hard", 1988, ("tmdb://562",)), Title("Die Hard", 1988, ("tmdb://562", "imdb://tt0095016")), "ids"),
    # No shared ids, but the same title and year: linked on the title.
    (Title("Ghostbusters", 1984), Title("Ghost Busters", 1984), "title"),
    (Title("The Matrix", 1999), Title("Matrix, The", 1999), "title"),
    (Title("Fast & Furious", 2009, ("imdb://tt1013752",)), Title("Fast and Furious", 2009, ("tmdb://13804",)), "title"),
    (Title("Monsters, Inc.", 2001), Title("Monsters Inc", 2001), "title"),
    (Title("Terminator 2: Judgment Day", 1991), Title("Terminator 2 - Judgement Day", 1991), "title"),
    # Ambiguous: the conflict queue.
    (Title("The Empire Strikes Back", 1980), Title("Star Wars: Episode V - The Empire Strikes Back", 1980), "conflict"),
    (Title("Blade Runner", 1982), Title("Blade Runner", 1983), "conflict"),
    (Title("Hamlet", 1990, ("tmdb://10264",)), Title("Hamlet", 1990, ("tmdb://10549",)), "conflict"),
    (Title("Dracula", 1992, ("tmdb://6114",)), Title("Dracula", 1991, ("tmdb://99991",)), "conflict"),
    # Decoys: remakes under the same title, and titles one side lacks.
    (Title("The Thing", 1982, ("tmdb://1091",)), Title("The Thing", 2011, ("tmdb://60935",)), "apart"),
    (Title("Total Recall", 1990), Title("Total Recall", 2012), "apart"),
    (Title("Tron", 1982, ("tmdb://97",)), Title("Gremlins", 1984, ("tmdb://927",)), "apart"),
]  # fmt: skip

# Shows: (Plex side, TMM side, expected outcome).
SHOW_CASES = [
    (Title("The Wonder Years", 1988, ("tvdb://72394",), kind="show"),
     Title("Wonder Years", 1988, ("tvdb://72394", "imdb://tt0094582"), kind="show"), "ids"),
    (Title("Knight Rider", 1982, kind="show"), Title("Knight Rider", 1983, kind="show"), "conflict"),
]  # fmt: skip

MOVIE_NFO = "<movie><title>{title}</title><year>{year}</year>{ids}<plot>{title}.</plot></movie>\n"


def nfo_for(title: Title) -> str:
    ids = "".join(
        f'<uniqueid type="{provider}">{value}</uniqueid>'
        for provider, value in (uri.split("://", 1) for uri in title.ids)
    )
    return MOVIE_NFO.format(title=title.title.replace("&", "&amp;"), year=title.year, ids=ids)


def folder_name(title: Title) -> str:
    return f"{title.title.replace(':', '')} ({title.year})"


def write_tmm_show(root: Path, title: Title, clip: Path) -> None:
    folder = root / "TV" / folder_name(title)
    (folder / "Season 01").mkdir(parents=True, exist_ok=True)
    ids = "".join(
        f'<uniqueid type="{uri.split("://")[0]}">{uri.split("://")[1]}</uniqueid>' for uri in title.ids
    )
    (folder / "tvshow.nfo").write_text(
        f"<tvshow><title>{title.title}</title><year>{title.year}</year>{ids}</tvshow>"
    )
    shutil.copyfile(clip, folder / "Season 01" / "S01E01.mkv")
    (folder / "Season 01" / "S01E01.nfo").write_text(
        "<episodedetails><title>Pilot</title><season>1</season><episode>1</episode></episodedetails>"
    )


def write_tmm_movie(root: Path, title: Title, clip: Path) -> Path:
    folder = root / folder_name(title)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(clip, folder / f"{folder_name(title)}.mkv")
    nfo = folder / f"{folder_name(title)}.nfo"
    nfo.write_text(nfo_for(title))
    return nfo


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_media_samples(tmp_path_factory.mktemp("matching-media")).clip


@pytest.fixture
def queued(monkeypatch):
    """Celery's delay() runs the task shim in-process; which tasks were queued is recorded."""
    sent = []

    def run_now(task):
        def delay(*args):
            sent.append((task.name, args))
            return task(*args)

        return delay

    monkeypatch.setattr(tasks.run_sync, "delay", run_now(tasks.run_sync))
    monkeypatch.setattr(tasks.match_source, "delay", run_now(tasks.match_source))
    monkeypatch.setattr(tasks.probe_files, "delay", lambda *args: sent.append(("sync.probe_files", args)))
    return sent


def sync_now(source, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run, queued = request_sync(source, trigger="test")
    assert queued
    run.refresh_from_db()
    assert run.status in ("succeeded", "partial"), run.error
    return run


@pytest.fixture
def two_sources(tmp_path, clip, queued):
    emulator = PlexEmulator(EmulatorConfig(movies=0, shows=0, seed=3)).start()
    try:
        plex_items = seed_titles(emulator.library, [plex for plex, _, _ in CASES + SHOW_CASES])
        root = tmp_path / "tmm"
        for _, tmm, _ in CASES:
            write_tmm_movie(root, tmm, clip)
        for _, tmm, _ in SHOW_CASES:
            write_tmm_show(root, tmm, clip)
        plex = MediaSource.objects.create(
            name="Plex", kind=SourceKind.PLEX, base_url=emulator.url, token=emulator.token
        )
        tmm = FolderSourceFactory(name="TMM", kind=SourceKind.TMM, path=str(root))
        yield plex, tmm, emulator, plex_items, root
    finally:
        emulator.stop()


def movie(source, title: Title) -> Movie:
    return Movie.objects.get(source=source, title=title.title, year=title.year, state=ItemState.ACTIVE)


def linked(a: Movie, b: Movie) -> bool:
    members = dict(WorkMember.objects.filter(movie__in=[a, b]).values_list("movie_id", "work_id"))
    return len(members) == 2 and members[a.pk] == members[b.pk]


def open_pairs() -> set[tuple[str, str]]:
    return {
        (candidate.left_movie.title, candidate.right_movie.title)
        for candidate in MatchCandidate.objects.filter(status=MatchStatus.OPEN, kind="movie").select_related(
            "left_movie", "right_movie"
        )
    }


@pytest.mark.django_db
def test_tmm_and_plex_libraries_link_id_matches_queue_ambiguous_pairs_and_keep_decisions(
    two_sources, staff_client, queued, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    plex, tmm, emulator, plex_items, root = two_sources
    sync_now(plex, django_capture_on_commit_callbacks)
    sync_now(tmm, django_capture_on_commit_callbacks)
    assert [args for name, args in queued if name == "sync.match"] == [(plex.pk,), (tmm.pk,)]
    assert Movie.objects.filter(source=plex).count() == Movie.objects.filter(source=tmm).count() == 20

    expected_conflicts = set()
    for plex_title, tmm_title, outcome in CASES:
        left, right = movie(plex, plex_title), movie(tmm, tmm_title)
        assert linked(left, right) == (outcome in ("ids", "title")), (plex_title, tmm_title)
        if outcome in ("ids", "title"):
            method = WorkMember.objects.get(movie=left).method
            assert method == (LinkMethod.IDS if outcome == "ids" else LinkMethod.TITLE), plex_title
        if outcome == "conflict":
            expected_conflicts.add((plex_title.title, tmm_title.title))
    assert open_pairs() == expected_conflicts
    wonder = [
        Show.objects.get(source=source, title=side.title)
        for source, side in zip((plex, tmm), SHOW_CASES[0][:2], strict=True)
    ]
    assert WorkMember.objects.get(show=wonder[0]).work_id == WorkMember.objects.get(show=wonder[1]).work_id
    knight = MatchCandidate.objects.get(kind="show", status=MatchStatus.OPEN)
    assert (knight.left_show.year, knight.right_show.year) == (1982, 1983)
    # No wrong link: every work holds exactly the two copies of one expected pair.
    assert Work.objects.count() == sum(1 for *_, outcome in CASES + SHOW_CASES if outcome in ("ids", "title"))
    hamlet = MatchCandidate.objects.get(left_movie__title="Hamlet")
    assert hamlet.ids_conflict and "tmdb" in hamlet.evidence["conflicting_ids"][0]

    # The queue and the pair page render for staff, without a query per row.
    with django_assert_max_num_queries(12):
        queue = staff_client.get(reverse("admin:catalog_matchcandidate_changelist"))
    assert queue.status_code == 200 and b"Blade Runner" in queue.content
    page = staff_client.get(reverse("admin:catalog_matchcandidate_change", args=[hamlet.pk]))
    assert (
        b"tmdb://10264" in page.content and b"tmdb://10549" in page.content and b"Keep apart" in page.content
    )

    # Staff decide: Blade Runner is one film (button), Hamlet two (button), Empire one (bulk action).
    blade = MatchCandidate.objects.get(left_movie__title="Blade Runner")
    url = reverse("admin:catalog_matchcandidate_resolve", args=[blade.pk])
    assert staff_client.post(url, {"verdict": "link"}).status_code == 302
    url = reverse("admin:catalog_matchcandidate_resolve", args=[hamlet.pk])
    assert staff_client.post(url, {"verdict": "apart"}).status_code == 302
    empire = MatchCandidate.objects.get(left_movie__title="The Empire Strikes Back")
    response = staff_client.post(
        reverse("admin:catalog_matchcandidate_changelist"),
        {"action": "link_pairs", "_selected_action": [empire.pk]},
    )
    assert response.status_code == 302
    assert linked(movie(plex, CASES[13][0]), movie(tmm, CASES[13][1]))
    assert linked(movie(plex, CASES[14][0]), movie(tmm, CASES[14][1]))
    assert not linked(movie(plex, CASES[15][0]), movie(tmm, CASES[15][1]))
    assert open_pairs() == {("Dracula", "Dracula")}
    assert MatchDecision.objects.count() == 3

    # Both sources change: Plex re-keys Blade Runner and edits Hamlet; TMM's Hamlet gains an id.
    blade_key = plex_items[CASES[14][0]].rating_key
    emulator.library.rekey(blade_key)
    emulator.library.rekey(plex_items[CASES[6][0]].rating_key)  # Heat, linked on its ids
    emulator.library.touch(plex_items[CASES[15][0]].rating_key, summary="Now with a new summary.")
    hamlet_tmm = CASES[15][1]
    (root / folder_name(hamlet_tmm) / f"{folder_name(hamlet_tmm)}.nfo").write_text(
        nfo_for(Title("Hamlet", 1990, ("tmdb://10549", "imdb://tt0099726")))
    )
    sync_now(plex, django_capture_on_commit_callbacks)
    sync_now(tmm, django_capture_on_commit_callbacks)

    assert movie(plex, CASES[14][0]).rating_key != blade_key
    assert linked(movie(plex, CASES[14][0]), movie(tmm, CASES[14][1]))  # the decision followed the re-key
    assert not linked(movie(plex, CASES[15][0]), movie(tmm, CASES[15][1]))
    assert linked(movie(plex, CASES[13][0]), movie(tmm, CASES[13][1]))
    assert linked(movie(plex, CASES[6][0]), movie(tmm, CASES[6][1]))  # the re-added copy took its place
    assert open_pairs() == {("Dracula", "Dracula")}

    # Even a full re-import of the TMM folder (every row new) does not reopen a decided pair.
    Movie.objects.filter(source=tmm).delete()
    sync_now(tmm, django_capture_on_commit_callbacks)
    assert linked(movie(plex, CASES[14][0]), movie(tmm, CASES[14][1]))
    assert linked(movie(plex, CASES[13][0]), movie(tmm, CASES[13][1]))
    assert not linked(movie(plex, CASES[15][0]), movie(tmm, CASES[15][1]))
    assert open_pairs() == {("Dracula", "Dracula")}
    for plex_title, tmm_title, outcome in CASES:
        if outcome in ("ids", "title"):
            assert linked(movie(plex, plex_title), movie(tmm, tmm_title)), plex_title
