"""Matching rules on catalog rows built with factories: decisions, ambiguity, incremental runs, pages."""

import pytest
from django.urls import reverse

from catalog.choices import ItemState, LinkMethod, MatchStatus, MatchVerdict, SourceKind
from catalog.matching.service import match_source, resolve
from catalog.models import ExternalId, MatchCandidate, MatchDecision, MatchedItem, Movie, Work, WorkMember
from plex_emulator import EmulatorConfig, PlexEmulator
from tests.factories import FolderSourceFactory, MovieFactory, PlexSourceFactory, ShowFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def plex():
    return PlexSourceFactory(name="Plex")


@pytest.fixture
def tmm():
    return FolderSourceFactory(name="TMM", kind=SourceKind.TMM, path="/srv/tmm")


def film(source, title, year, *ids, key=None):
    movie = MovieFactory(source=source, title=title, year=year, **({"rating_key": key} if key else {}))
    for uri in ids:
        provider, value = uri.split("://", 1)
        ExternalId.objects.create(
            source=source, playable=movie, owner_kind="movie", provider=provider, value=value
        )
    return movie


def work_of(item):
    field = "movie_id" if isinstance(item, Movie) else "show_id"
    member = WorkMember.objects.filter(**{field: item.pk}).first()
    return member.work_id if member else None


def test_shows_link_on_tvdb_ids_and_movies_never_link_to_shows(plex, tmm):
    plex_show = ShowFactory(source=plex, title="The Wonder Years", year=1988)
    tmm_show = ShowFactory(source=tmm, title="Wonder Years", year=1988, rating_key="Wonder Years (1988)")
    for show in (plex_show, tmm_show):
        ExternalId.objects.create(
            source=show.source, show=show, owner_kind="show", provider="tvdb", value="72394"
        )
    decoy = film(tmm, "The Wonder Years", 1988)
    match_source()
    assert work_of(plex_show) == work_of(tmm_show) is not None
    assert work_of(decoy) is None
    assert Work.objects.get().kind == "show"


def test_kept_apart_pairs_are_never_linked_again_even_when_their_ids_agree_later(plex, tmm):
    left, right = film(plex, "Solaris", 1972), film(tmm, "Solaris", 1972)
    match_source()
    assert work_of(left) == work_of(right) is not None  # same title and year
    work = Work.objects.get()
    from catalog.matching.service import keep_work_apart

    keep_work_apart(work)
    assert not WorkMember.objects.exists()
    for movie in (left, right):
        ExternalId.objects.create(
            source=movie.source, playable=movie, owner_kind="movie", provider="tmdb", value="593"
        )
    match_source(full=True)
    assert not WorkMember.objects.exists()
    assert not MatchCandidate.objects.filter(status=MatchStatus.OPEN).exists()
    assert MatchDecision.objects.get().verdict == MatchVerdict.APART


def test_a_row_with_two_equally_good_partners_in_one_source_links_to_neither(plex, tmm):
    only = film(plex, "Hamlet", 1948)
    first, second = (
        film(tmm, "Hamlet", 1948, key="a/Hamlet.mkv"),
        film(tmm, "Hamlet", 1948, key="b/Hamlet.mkv"),
    )
    match_source()
    assert not WorkMember.objects.exists()
    assert MatchCandidate.objects.filter(status=MatchStatus.OPEN).count() == 2
    assert all("several" in candidate.reason for candidate in MatchCandidate.objects.all())
    resolve(MatchCandidate.objects.get(right_movie=second), MatchVerdict.LINK)
    assert work_of(only) == work_of(second) and work_of(first) is None


def test_an_automatic_link_is_undone_when_the_ids_come_to_disagree(plex, tmm):
    left, right = film(plex, "Dune", 1984, "tmdb://841"), film(tmm, "Dune", 1984, "tmdb://841")
    match_source()
    assert work_of(left) == work_of(right) is not None
    ExternalId.objects.filter(playable=right).update(value="438631")
    report = match_source(tmm)
    assert report["unlinked"] == 1 and not Work.objects.exists()
    conflict = MatchCandidate.objects.get()
    assert conflict.ids_conflict and conflict.status == MatchStatus.OPEN


def test_matching_is_incremental_unchanged_rows_are_not_reconsidered(plex, tmm):
    film(plex, "Heat", 1995, "tmdb://949")
    changed = film(tmm, "Heat", 1995, "tmdb://949")
    assert match_source()["considered"] == 2
    assert match_source()["considered"] == 0
    assert MatchedItem.objects.count() == 2
    Movie.objects.filter(pk=changed.pk).update(title="Heat (Director's Cut)")
    assert match_source(tmm)["considered"] == 1
    assert match_source(plex)["considered"] == 0


def test_a_staff_link_survives_later_evidence_against_it(plex, tmm, staff_user):
    left, right = film(plex, "Seven", 1995, "tmdb://807"), film(tmm, "Seven", 1995, "tmdb://999")
    match_source()
    candidate = MatchCandidate.objects.get()
    resolve(candidate, MatchVerdict.LINK, staff_user)
    assert WorkMember.objects.get(movie=left).method == LinkMethod.STAFF
    Movie.objects.filter(pk=right.pk).update(title="Se7en (Remastered)")
    match_source(full=True)
    assert work_of(left) == work_of(right) is not None
    assert MatchCandidate.objects.get().status == MatchStatus.LINKED
    assert MatchDecision.objects.get().decided_by == staff_user


def test_removed_rows_are_not_matched(plex, tmm):
    film(plex, "Heat", 1995, "tmdb://949")
    gone = film(tmm, "Heat", 1995, "tmdb://949")
    Movie.objects.filter(pk=gone.pk).update(state=ItemState.REMOVED)
    match_source()
    assert not WorkMember.objects.exists()


# ------------------------------------------------------------------------------- pages and API


def linked_library(plex, tmm, count):
    for number in range(count):
        film(plex, f"Film {number}", 1980 + number % 30, f"tmdb://{number + 1}")
        film(tmm, f"Film {number}", 1980 + number % 30, f"tmdb://{number + 1}")
        film(plex, f"Remake {number}", 1970, f"tmdb://{10_000 + number}")
        film(tmm, f"Remake {number}", 1970, f"tmdb://{20_000 + number}")
    match_source()


def test_works_and_conflict_pages_take_the_same_queries_for_5_or_40_rows(
    plex, tmm, staff_client, django_assert_max_num_queries
):
    linked_library(plex, tmm, 40)
    assert Work.objects.count() == 40 and MatchCandidate.objects.count() == 40
    for name in ("work", "matchcandidate", "matchdecision"):
        with django_assert_max_num_queries(12):
            response = staff_client.get(reverse(f"admin:catalog_{name}_changelist"))
        assert response.status_code == 200, name
    by_method = staff_client.get(reverse("admin:catalog_work_changelist") + "?members__method__exact=ids")
    assert by_method.context["cl"].result_count == 40  # one row per work, not one per matching copy
    work = Work.objects.first()
    page = staff_client.get(reverse("admin:catalog_work_change", args=[work.pk]))
    assert page.status_code == 200 and b"TMM" in page.content and b"Plex" in page.content


def test_staff_unlink_a_work_from_the_works_page(plex, tmm, staff_client):
    linked_library(plex, tmm, 2)
    work = Work.objects.order_by("title").first()
    response = staff_client.post(
        reverse("admin:catalog_work_changelist"), {"action": "unlink_works", "_selected_action": [work.pk]}
    )
    assert response.status_code == 302
    assert not Work.objects.filter(pk=work.pk).exists()
    assert MatchDecision.objects.get().verdict == MatchVerdict.APART
    match_source(full=True)
    assert Work.objects.count() == 1


def test_rerun_button_queues_a_full_matching_pass(staff_client, monkeypatch):
    sent = []
    monkeypatch.setattr("catalog.tasks.match_source.delay", lambda *args: sent.append(args))
    response = staff_client.post(reverse("admin:catalog_matchcandidate_rerun"))
    assert response.status_code == 302 and sent == [(None, True)]
    assert staff_client.get(reverse("admin:catalog_matchcandidate_rerun")).status_code == 405


def test_the_pair_page_buttons_submit_forms_that_stand_outside_the_change_form(plex, tmm, staff_client):
    """A browser drops a <form> nested in another, and a button whose form= names nothing does nothing."""
    film(plex, "Blade Runner", 1982), film(tmm, "Blade Runner", 1983)
    match_source()
    candidate = MatchCandidate.objects.get()
    page = staff_client.get(reverse("admin:catalog_matchcandidate_change", args=[candidate.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    change_form_ends = html.index("</form>", html.index('id="matchcandidate_form"'))
    for verdict in ("link", "apart"):
        assert f'form="rv-{verdict}"' in html
        assert html.index(f'<form id="rv-{verdict}"') > change_form_ends, verdict


def test_non_staff_cannot_resolve_conflicts(plex, tmm, client, django_user_model):
    film(plex, "Blade Runner", 1982), film(tmm, "Blade Runner", 1983)
    match_source()
    candidate = MatchCandidate.objects.get()
    user = django_user_model.objects.create_user("viewer", password="x")
    client.force_login(user)
    response = client.post(
        reverse("admin:catalog_matchcandidate_resolve", args=[candidate.pk]), {"verdict": "link"}
    )
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert MatchCandidate.objects.get().status == MatchStatus.OPEN


def test_api_lists_works_with_their_copies_and_filters_conflicts(
    plex, tmm, staff_client, django_assert_max_num_queries
):
    linked_library(plex, tmm, 3)
    with django_assert_max_num_queries(6):
        works = staff_client.get("/api/catalog/works").json()
    assert works["count"] == 3
    first = works["items"][0]
    assert {member["source_id"] for member in first["members"]} == {plex.pk, tmm.pk}
    assert first["members"][0]["method"] == "ids"
    assert staff_client.get(f"/api/catalog/works/{first['id']}").json()["title"] == first["title"]
    conflicts = staff_client.get("/api/catalog/match-conflicts?status=open&ids_conflict=true").json()
    assert conflicts["count"] == 3
    conflict = conflicts["items"][0]
    assert conflict["left"]["source_id"] == plex.pk and conflict["right"]["source_id"] == tmm.pk
    assert conflict["evidence"]["conflicting_ids"]
    assert staff_client.get(f"/api/catalog/match-conflicts?source={tmm.pk}").json()["count"] == 3
    assert staff_client.get("/api/catalog/match-conflicts?status=linked").json()["count"] == 0
    assert staff_client.get(f"/api/catalog/match-conflicts/{conflict['id']}").status_code == 200


def test_match_sources_command_reports_what_it_did(plex, tmm):
    from io import StringIO

    from django.core.management import call_command

    film(plex, "Heat", 1995, "tmdb://949"), film(tmm, "Heat", 1995, "tmdb://949")
    out = StringIO()
    call_command("match_sources", "--full", stdout=out)
    assert "2 rows considered: 1 linked" in out.getvalue()
    call_command("match_sources", "--source", "TMM", stdout=out)
    assert "0 rows considered" in out.getvalue()


def test_matching_task_is_registered_on_the_sync_queue():
    from catalog import tasks
    from retrovue.celery import app

    assert tasks.match_source.name == "sync.match"
    assert app.amqp.router.route({}, tasks.match_source.name)["queue"].name == "sync"


def test_a_failed_sync_queues_no_matching(plex, monkeypatch):
    from catalog.models import SyncRun
    from catalog.sync import triggers

    sent = []
    monkeypatch.setattr("catalog.tasks.match_source.delay", lambda *args: sent.append(args))
    monkeypatch.setattr("catalog.tasks.probe_files.delay", lambda *args: None)
    with PlexEmulator(EmulatorConfig(movies=1, shows=0)) as emulator:
        plex.base_url, plex.token = emulator.url, "not-the-token"  # 401: the sync fails
        plex.save()
        run = SyncRun.objects.create(source=plex, status="queued")
        assert triggers.run_queued_sync(run.pk)["status"] == "failed"
    assert sent == []
