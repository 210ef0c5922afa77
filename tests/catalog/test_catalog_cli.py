"""The catalog CLI (`python -m retrovue discover | sync | sync-all`) and the one-show sync under it.

The CLI runs in-process against a running emulator; one test runs it as a real process with
`--db-path` (a process can only choose its database before Django starts).
"""

import io
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from catalog.models import Episode, Library, MediaSource, Movie, Season, Show, SyncRun
from catalog.plex.client import RetryPolicy
from catalog.sync.show_sync import sync_plex_show
from plex_emulator import EmulatorConfig, PlexEmulator
from retrovue.__main__ import main
from retrovue.cli_catalog.progress import ProgressReporter, render_bar
from tests.catalog.plex_helpers import fast_client, snapshot, source_for, sync

pytestmark = pytest.mark.django_db

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "cli-SECRET-token-4242"
LIBRARY = EmulatorConfig(
    shows=6, seasons_per_show=2, episodes_per_season=3, specials_per_show=1, movies=4, seed=7, token=TOKEN
)
GALACTICA = "Battlestar Galactica"


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def no_plex_environment(monkeypatch):
    for name in ("PLEX_BASE_URL", "PLEX_TOKEN", "PLEX_TV_SECTION_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def emulator():
    with PlexEmulator(LIBRARY) as running:
        yield running


@pytest.fixture
def run_cli(capsys):
    def run(*argv: str) -> Result:
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def plex(emulator):
    """The options that point the CLI at the emulator."""
    return ["--plex-url", emulator.url, "--plex-token", TOKEN]


def galacticas(emulator):
    return sorted(emulator.library.find(GALACTICA, kind="show"), key=lambda show: show.year)


def rows_of_shows_other_than(rating_key: str) -> dict:
    """Every column of every row that belongs to other shows: "untouched" means all equal."""
    return {
        "shows": list(Show.objects.exclude(rating_key=rating_key).order_by("pk").values()),
        "seasons": list(Season.objects.exclude(show__rating_key=rating_key).order_by("pk").values()),
        "episodes": list(Episode.objects.exclude(show__rating_key=rating_key).order_by("pk").values()),
    }


# --- discover ----------------------------------------------------------------------------------


def test_discover_lists_both_battlestar_galacticas_with_years_ids_and_episode_counts(emulator, plex, run_cli):
    result = run_cli("discover", "--title", GALACTICA, *plex)

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith(f'2 shows match "{GALACTICA}" in "TV Shows" (section 2)')
    assert lines[1].split() == ["Title", "Year", "ratingKey", "Primary", "id", "Episodes", "In", "catalog"]
    for line, show in zip(lines[2:], galacticas(emulator), strict=True):
        tvdb = next(guid for guid in show.external_guids if guid.startswith("tvdb://"))
        assert line.split() == [
            "Battlestar",
            "Galactica",
            str(show.year),
            show.rating_key,
            tvdb,
            str(show.leaf_count),
            "no",
        ]


def test_discover_with_year_narrows_to_one_show(emulator, plex, run_cli):
    result = run_cli("discover", "--title", GALACTICA, "--year", "1978", *plex)

    assert result.code == 0, result.err
    assert result.out.startswith(f'1 show matches "{GALACTICA}" (1978)')
    rows = result.out.splitlines()[2:]
    assert len(rows) == 1
    assert galacticas(emulator)[0].rating_key in rows[0].split()


def test_discover_matches_part_of_a_title_in_any_case(emulator, plex, run_cli):
    result = run_cli("discover", "--title", "battlestar", *plex)

    assert result.code == 0, result.err
    assert len(result.out.splitlines()[2:]) == 2


def test_discover_says_which_shows_are_already_in_the_catalog(emulator, plex, run_cli):
    first, second = galacticas(emulator)
    assert run_cli("sync", "--rating-key", first.rating_key, *plex).code == 0

    result = run_cli("discover", "--title", GALACTICA, *plex)

    catalog_column = {line.split()[3]: line.split()[-1] for line in result.out.splitlines()[2:]}
    assert catalog_column == {first.rating_key: "yes", second.rating_key: "no"}


def test_discover_of_an_unknown_title_exits_2_with_a_clear_message(emulator, plex, run_cli):
    result = run_cli("discover", "--title", "Galactica 1980", *plex)

    assert result.code == 2
    assert result.out == ""
    assert 'error: no show matching "Galactica 1980" in "TV Shows" (section 2)' in result.err


# --- sync of one show ----------------------------------------------------------------------------


def test_sync_with_two_matching_shows_exits_2_and_lists_them(emulator, plex, run_cli):
    result = run_cli("sync", "--title", GALACTICA, *plex)

    assert result.code == 2
    assert f'error: 2 shows match "{GALACTICA}"; add --year to choose one' in result.err
    for show in galacticas(emulator):
        assert show.rating_key in result.err
        assert str(show.year) in result.err
    assert not Show.objects.exists()
    assert not SyncRun.objects.exists()


def test_sync_of_an_unknown_title_exits_2(emulator, plex, run_cli):
    result = run_cli("sync", "--title", "Galactica 1980", *plex)

    assert result.code == 2
    assert 'error: no show matching "Galactica 1980"' in result.err


def test_sync_with_title_and_year_syncs_only_that_show(emulator, plex, run_cli):
    original = galacticas(emulator)[0]

    result = run_cli("sync", "--title", GALACTICA, "--year", "1978", *plex)

    assert result.code == 0, result.err
    show = Show.objects.get()
    assert (show.rating_key, show.title, show.year) == (original.rating_key, GALACTICA, 1978)
    assert Episode.objects.count() == Episode.objects.filter(show=show).count() == original.leaf_count
    assert Season.objects.filter(show=show).count() == len(original.seasons)
    assert not Movie.objects.exists()
    run = SyncRun.objects.get()
    assert (run.status, run.trigger, run.library.section_key) == (
        "succeeded",
        f"cli show {show.rating_key}",
        "2",
    )
    total = 1 + len(original.seasons) + original.leaf_count
    assert (
        f"  total {total} · processed {total} · skipped 0 · added {total} · updated 0 · removed 0"
        in result.out
    )
    assert "Added show: Battlestar Galactica (1978)" in result.out


def test_sync_of_one_show_leaves_other_shows_untouched(emulator, plex, run_cli):
    assert run_cli("sync-all", "--mode", "full", *plex).code == 0
    target, other = galacticas(emulator)
    other_episode = other.seasons[-1].episodes[0]
    target_episode = target.seasons[-1].episodes[0]
    emulator.library.touch(other.rating_key, title="Galactica (renamed upstream)")
    emulator.library.delete(other_episode.rating_key)
    emulator.library.touch(target_episode.rating_key, title="Lost Planet of the Gods")
    before = rows_of_shows_other_than(target.rating_key)

    result = run_cli("sync", "--title", GALACTICA, "--year", "1978", *plex)

    assert result.code == 0, result.err
    assert "updated 1 · removed 0" in result.out
    assert Episode.objects.get(rating_key=target_episode.rating_key).title == "Lost Planet of the Gods"
    assert rows_of_shows_other_than(target.rating_key) == before
    assert Episode.objects.get(rating_key=other_episode.rating_key).state == "active"


def test_sync_by_rating_key_picks_one_of_two_same_title_shows(emulator, plex, run_cli):
    newer = galacticas(emulator)[1]

    result = run_cli("sync", "--rating-key", newer.rating_key, *plex)

    assert result.code == 0, result.err
    assert list(Show.objects.values_list("rating_key", "year")) == [(newer.rating_key, 2003)]


def test_sync_dry_run_reports_the_changes_and_saves_nothing(emulator, plex, run_cli):
    original = galacticas(emulator)[0]

    result = run_cli("sync", "--title", GALACTICA, "--year", "1978", "--dry-run", *plex)

    assert result.code == 0, result.err
    total = 1 + len(original.seasons) + original.leaf_count
    assert f"It would add {total}, update 0 and remove 0:" in result.out
    assert "  Added show: Battlestar Galactica (1978)" in result.out
    assert "  Added episode: Battlestar Galactica S01E01 " in result.out
    for model in (MediaSource, Library, Show, Season, Episode, SyncRun):
        assert not model.objects.exists(), f"a dry run saved a {model.__name__}"


def test_sync_dry_run_of_a_synced_show_reports_a_removal_and_keeps_the_episode(emulator, plex, run_cli):
    assert run_cli("sync", "--title", GALACTICA, "--year", "1978", *plex).code == 0
    episode = galacticas(emulator)[0].seasons[-1].episodes[-1]
    emulator.library.delete(episode.rating_key)

    result = run_cli("sync", "--title", GALACTICA, "--year", "1978", "--dry-run", *plex)

    assert result.code == 0, result.err
    assert "It would add 0, update 0 and remove 1:" in result.out
    assert "  Removed episode: " in result.out
    assert Episode.objects.get(rating_key=episode.rating_key).state == "active"
    assert SyncRun.objects.count() == 1


# --- sync-all --------------------------------------------------------------------------------------


def test_sync_all_brings_in_every_library(emulator, plex, run_cli):
    result = run_cli("sync-all", *plex)

    assert result.code == 0, result.err
    library = emulator.library
    assert Show.objects.count() == library.count("show")
    assert Episode.objects.count() == library.count("episode")
    assert Movie.objects.count() == library.count("movie")
    total = sum(library.count(kind) for kind in ("show", "season", "episode", "movie"))
    assert f"  total {total} · processed {total} · skipped 0 · added {total} · " in result.out
    collections = len(emulator.library.collections.items)  # each added collection is a change line too
    assert f"Changes (the last 20 of {total + collections}):" in result.out
    assert SyncRun.objects.get().trigger == "cli"


def test_sync_all_a_second_time_skips_what_did_not_change(emulator, plex, run_cli):
    run_cli("sync-all", *plex)
    emulator.library.touch(emulator.library.episodes()[0].rating_key, title="A new title")

    result = run_cli("sync-all", *plex)

    assert result.code == 0, result.err
    assert "added 0 · updated 1 · removed 0" in result.out
    assert "Updated episode: " in result.out


def test_sync_all_with_a_section_syncs_only_that_library(emulator, plex, run_cli):
    result = run_cli("sync-all", "--plex-section", "2", *plex)

    assert result.code == 0, result.err
    assert Show.objects.count() == emulator.library.count("show")
    assert not Movie.objects.exists()
    assert SyncRun.objects.get().library.section_key == "2"


def test_sync_all_asks_plex_for_pages_of_the_size_given(emulator, plex, run_cli):
    from catalog.sync import plex_library

    default = plex_library.PAGE_SIZE
    result = run_cli("sync-all", "--page-size", "7", *plex)

    assert result.code == 0, result.err
    listing_sizes = {
        record.container_size for record in emulator.requests.records if record.path.endswith("/all")
    }
    assert listing_sizes == {"7"}
    assert default == plex_library.PAGE_SIZE, "the page size is put back afterwards"


def test_sync_all_dry_run_saves_nothing(emulator, plex, run_cli):
    result = run_cli("sync-all", "--dry-run", *plex)

    assert result.code == 0, result.err
    assert "Nothing was saved. It would add " in result.out
    for model in (MediaSource, Library, Show, Episode, Movie, SyncRun):
        assert not model.objects.exists(), f"a dry run saved a {model.__name__}"


def test_sync_all_refuses_to_start_beside_a_running_sync(emulator, plex, run_cli):
    source = source_for(emulator)
    SyncRun.objects.create(source=source, status="running", trigger="schedule")

    result = run_cli("sync-all", *plex)

    assert result.code == 1
    assert "already running" in result.err
    assert not Show.objects.exists()


def test_sync_all_against_a_server_that_is_gone_exits_1(emulator, run_cli, monkeypatch):
    monkeypatch.setattr(RetryPolicy, "delay", lambda policy, attempt: 0.0)
    source = source_for(emulator)
    source.base_url = "http://127.0.0.1:9"  # discard port: nothing listens
    source.save()
    cli_options = ["--plex-url", "http://127.0.0.1:9"]

    result = run_cli("sync-all", *cli_options)

    assert result.code == 1
    assert "could not reach http://127.0.0.1:9" in result.err
    assert SyncRun.objects.get().status == "failed"


def test_ctrl_c_during_a_sync_records_the_run_as_cancelled(emulator, plex, run_cli, monkeypatch):
    from catalog.sync import engine

    def interrupted(source, mode, **options):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "sync_plex_source", interrupted)

    result = run_cli("sync-all", *plex)

    assert result.code == 130
    run = SyncRun.objects.get()
    assert (run.status, run.error) == ("cancelled", "Interrupted (Ctrl-C) in the CLI.")


# --- where the Plex server comes from ------------------------------------------------------------


def test_environment_variables_are_honoured(emulator, monkeypatch, run_cli):
    monkeypatch.setenv("PLEX_BASE_URL", emulator.url)
    monkeypatch.setenv("PLEX_TOKEN", TOKEN)
    monkeypatch.setenv("PLEX_TV_SECTION_KEY", "2")

    found = run_cli("discover", "--title", GALACTICA)
    synced = run_cli("sync-all")

    assert found.code == 0, found.err
    assert "(section 2)" in found.out
    assert synced.code == 0, synced.err
    source = MediaSource.objects.get()
    assert (source.base_url, source.token, source.name) == (emulator.url, TOKEN, "RetroVue Plex Emulator")
    assert not Movie.objects.exists(), "PLEX_TV_SECTION_KEY limits sync-all to the TV section"


def test_options_override_the_environment(emulator, monkeypatch, run_cli):
    monkeypatch.setenv("PLEX_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("PLEX_TOKEN", "not-this-one")

    result = run_cli("discover", "--title", GALACTICA, "--plex-url", emulator.url, "--plex-token", TOKEN)

    assert result.code == 0, result.err


def test_without_options_the_single_enabled_plex_source_is_used(emulator, run_cli):
    source_for(emulator)

    result = run_cli("discover", "--title", GALACTICA)

    assert result.code == 0, result.err
    assert MediaSource.objects.count() == 1


def test_with_no_plex_source_at_all_the_error_names_the_options(run_cli):
    result = run_cli("discover", "--title", GALACTICA)

    assert result.code == 2
    assert "--plex-url and --plex-token" in result.err
    assert "PLEX_BASE_URL and PLEX_TOKEN" in result.err


def test_two_enabled_plex_sources_are_ambiguous(emulator, run_cli):
    source_for(emulator, name="Living room")
    source_for(emulator, name="Basement")

    result = run_cli("sync-all")

    assert result.code == 2
    assert "2 Plex sources are enabled" in result.err
    assert "--plex-url" in result.err


def test_a_url_already_in_the_database_reuses_its_source(emulator, run_cli):
    source = source_for(emulator, name="Living room")

    result = run_cli("discover", "--title", GALACTICA, "--plex-url", f"{emulator.url}/")

    assert result.code == 0, result.err
    assert list(MediaSource.objects.all()) == [source]


def test_an_unknown_section_exits_2_and_lists_the_sections(emulator, plex, run_cli):
    result = run_cli("discover", "--title", GALACTICA, "--plex-section", "9", *plex)

    assert result.code == 2
    assert (
        'Plex has no library section 9; its sections are: 1 "Movies" (movie), 2 "TV Shows" (show)'
        in result.err
    )


def test_a_movie_section_is_not_a_tv_section(emulator, plex, run_cli):
    result = run_cli("sync-all", "--plex-section", "1", *plex)

    assert result.code == 2
    assert 'section 1 "Movies" holds movies, not TV shows' in result.err


def test_shared_options_work_before_the_command_name(emulator, run_cli):
    result = run_cli("--plex-url", emulator.url, "--plex-token", TOKEN, "discover", "--title", GALACTICA)

    assert result.code == 0, result.err


def test_shared_options_are_refused_for_the_station_commands(run_cli):
    with pytest.raises(SystemExit) as stopped:
        run_cli("--plex-url", "http://plex:32400", "generate-key")

    assert stopped.value.code == 2


# --- the token stays secret ----------------------------------------------------------------------


def test_token_never_appears_in_output_even_with_debug(emulator, plex, run_cli):
    results = [
        run_cli("--debug", "discover", "--title", GALACTICA, *plex),
        run_cli("sync", "--debug", "--title", GALACTICA, "--year", "2003", *plex),
        run_cli("sync-all", "--debug", "--dry-run", *plex),
        run_cli("sync-all", "--debug", *plex),
    ]

    assert [result.code for result in results] == [0, 0, 0, 0]
    assert any("DEBUG urllib3" in result.err for result in results), "--debug logs Plex requests"
    for result in results:
        assert TOKEN not in result.out
        assert TOKEN not in result.err


def test_a_refused_token_fails_without_echoing_it_or_replacing_the_stored_one(emulator, run_cli):
    source = source_for(emulator)
    wrong = "WRONG-secret-token-777"

    result = run_cli("--debug", "sync-all", "--plex-token", wrong)

    assert result.code == 1
    assert "refused the token (401)" in result.err
    assert wrong not in result.out + result.err
    assert MediaSource.objects.get(pk=source.pk).token == TOKEN


def test_a_new_token_that_works_is_stored_encrypted(emulator, run_cli):
    source = source_for(emulator)
    MediaSource.objects.filter(pk=source.pk).update(token="", auth_state="needs_sign_in")

    result = run_cli("discover", "--title", GALACTICA, "--plex-token", TOKEN)

    assert result.code == 0, result.err
    stored = MediaSource.objects.get(pk=source.pk)
    assert stored.token == TOKEN and not stored.needs_sign_in
    assert TOKEN not in result.out + result.err


# --- the progress bar -----------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_is_drawn_in_a_terminal_and_plain_lines_elsewhere():
    run = SyncRun(progress_done=45, progress_total=100, progress_label="TV Shows (2/2) · Listing episodes")
    terminal, pipe = FakeTerminal(), io.StringIO()

    ProgressReporter(run, terminal).draw()
    ProgressReporter(run, pipe).draw()

    assert terminal.getvalue() == (
        "\r\x1b[K[###########-------------]  45%  45/100  TV Shows (2/2) · Listing episodes"
    )
    assert pipe.getvalue() == "… TV Shows (2/2) · Listing episodes\n"


def test_progress_bar_fits_the_terminal_width():
    line = render_bar(1, 3, "x" * 200, columns=60)

    assert len(line) == 59
    assert line.endswith("…")


# --- one real process with --db-path ------------------------------------------------------------


@pytest.mark.e2e
def test_db_path_runs_discover_and_sync_all_on_a_sqlite_file(emulator, tmp_path):
    database = tmp_path / "catalog.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETROVUE_", "DATABASE_URL", "DJANGO_"))}
    env.update(
        {
            "RETROVUE_DATA_DIR": str(tmp_path / "data"),
            "PLEX_BASE_URL": emulator.url,
            "PLEX_TOKEN": TOKEN,
            "RETROVUE_PLEX_HOSTS": "127.0.0.1",
        }  # the emulator is on loopback: the operator lists it
    )

    def cli(*argv):
        return subprocess.run(
            [sys.executable, "-m", "retrovue", *argv, "--db-path", str(database)],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    found = cli("discover", "--title", GALACTICA)
    synced = cli("sync-all")

    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith(f'2 shows match "{GALACTICA}"')
    assert synced.returncode == 0, synced.stderr
    with sqlite3.connect(database) as connection:
        shows = connection.execute("SELECT count(*) FROM catalog_show").fetchone()[0]
        episodes = connection.execute("SELECT count(*) FROM catalog_episode").fetchone()[0]
        (stored_token,) = connection.execute("SELECT token FROM catalog_mediasource").fetchone()
    assert (shows, episodes) == (emulator.library.count("show"), emulator.library.count("episode"))
    assert stored_token and TOKEN not in stored_token
    assert TOKEN not in found.stdout + found.stderr + synced.stdout + synced.stderr


# --- sync_plex_show -------------------------------------------------------------------------------


@pytest.fixture
def synced(emulator):
    source = source_for(emulator)
    assert sync(source, "full").status == "succeeded"
    return source


def show_sync(source, show, **options):
    library = Library.objects.get(source=source, section_key="2")
    return sync_plex_show(source, library, show.rating_key, client_factory=fast_client, **options)


def test_show_sync_marks_a_removed_episode_of_that_show_removed(emulator, synced):
    show = galacticas(emulator)[0]
    gone = show.seasons[-1].episodes[-1]
    emulator.library.delete(gone.rating_key)

    run = show_sync(synced, show)

    assert (run.status, run.removed, run.added, run.updated) == ("succeeded", 1, 0, 0)
    assert Episode.objects.get(rating_key=gone.rating_key).state == "removed"
    assert run.changes == [f"Removed episode: {gone.title}"]


def test_show_sync_never_touches_other_shows_rows(emulator, synced):
    target, other = galacticas(emulator)
    emulator.library.delete(other.seasons[-1].episodes[0].rating_key)
    emulator.library.touch(other.rating_key, summary="Changed upstream")
    emulator.library.delete(emulator.library.shows()[-1].rating_key)
    before = rows_of_shows_other_than(target.rating_key)

    run = show_sync(synced, target)

    assert run.status == "succeeded", run.error
    assert rows_of_shows_other_than(target.rating_key) == before


def test_show_sync_without_changes_skips_everything(emulator, synced):
    show = galacticas(emulator)[1]
    before = snapshot(synced)

    run = show_sync(synced, show)

    assert (run.added, run.updated, run.removed) == (0, 0, 0)
    assert run.skipped == run.processed == 1 + len(show.seasons) + show.leaf_count
    assert snapshot(synced) == before


def test_show_sync_brings_in_a_new_episode_with_its_chapters(emulator, synced):
    show = galacticas(emulator)[0]
    new = emulator.library.add_episode(show.rating_key, 2, title="Baltar's Escape")

    run = show_sync(synced, show)

    assert (run.added, run.removed) == (1, 0)
    episode = Episode.objects.get(rating_key=new.rating_key)
    assert (episode.title, episode.season_number, episode.show.rating_key) == (
        "Baltar's Escape",
        2,
        show.rating_key,
    )
    assert episode.files.exists()


def test_show_sync_leaves_the_library_watermark_alone(emulator, synced):
    library = Library.objects.get(source=synced, section_key="2")
    show = galacticas(emulator)[0]
    emulator.library.touch(show.seasons[0].episodes[0].rating_key, title="Moved on")

    show_sync(synced, show)

    assert Library.objects.get(pk=library.pk).sync_watermark == library.sync_watermark


def test_show_sync_of_a_show_plex_no_longer_has_fails_and_marks_nothing(emulator, synced):
    show = galacticas(emulator)[0]
    emulator.library.delete(show.rating_key)
    before = snapshot(synced)

    run = show_sync(synced, show)

    assert run.status == "failed"
    assert f"Plex has no show with ratingKey {show.rating_key}" in run.error
    assert snapshot(synced) == before


def test_show_sync_refuses_a_rekeyed_show_and_leaves_it_to_the_library_sync(emulator, synced):
    show = galacticas(emulator)[0]
    emulator.library.rekey(show.rating_key)
    before = snapshot(synced)

    run = show_sync(synced, show)

    assert run.status == "failed"
    assert "Plex re-keyed it" in run.error
    assert snapshot(synced) == before
