"""Matching takes turns with staff decisions on any database, and judges without blocking writers.

These run on PostgreSQL and, in bin/test's second pass, on the embedded default (SQLite), where a
transaction holds the database's only write lock: a run that judged inside its transaction would
stop every sync and page for as long as it scores.
"""

import threading

import pytest
from django.db import connection, transaction

from catalog.choices import MatchVerdict, SourceKind
from catalog.matching import service
from catalog.matching.service import decide, match_source, row_for
from catalog.matching.turns import generation, take_turn
from catalog.models import MatchDecision, MatchedItem, MatchingTurn, Movie, WorkMember
from tests.factories import FolderSourceFactory, MovieFactory, PlexSourceFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_copies():
    plex = PlexSourceFactory(name="Plex")
    tmm = FolderSourceFactory(name="TMM", kind=SourceKind.TMM, path="/srv/tmm")
    return MovieFactory(source=plex, title="Solaris", year=1972), MovieFactory(
        source=tmm, title="Solaris", year=1972
    )


def _in_another_connection(work) -> list:
    """Run `work` on a thread of its own (its own database connection); return what it raised."""
    errors = []

    def target():
        try:
            work()
        except Exception as error:  # handed back to the test, which asserts there was none
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the other writer is still waiting for matching"
    return errors


def _while_judging(monkeypatch, work):
    """Call `work` from another connection the first time matching judges a pair."""
    calls = []
    judge = service._judge

    def judging(*args, **kwargs):
        if not calls:
            calls.append(_in_another_connection(work))
        else:
            calls.append([])
        return judge(*args, **kwargs)

    monkeypatch.setattr(service, "_judge", judging)
    return calls


def test_a_sync_writes_while_matching_judges_and_its_change_is_judged_next_run(two_copies, monkeypatch):
    tmm_copy = two_copies[1]
    calls = _while_judging(
        monkeypatch, lambda: Movie.objects.filter(pk=tmm_copy.pk).update(title="Solaris (restored)")
    )
    match_source()
    assert calls[0] == [], f"the sync's write failed while matching judged: {calls[0]}"
    # The run wrote what it judged (the titles it read), and remembered the row as it read it...
    assert WorkMember.objects.filter(movie=tmm_copy).exists()
    judged = MatchedItem.objects.get(movie=tmm_copy).digest
    # ...so the next run sees the sync's change and judges the row again.
    assert match_source(tmm_copy.source)["considered"] == 1
    assert MatchedItem.objects.get(movie=tmm_copy).digest != judged


def test_a_staff_decision_made_while_matching_judges_wins_over_the_stale_verdict(two_copies, monkeypatch):
    plex_copy, tmm_copy = two_copies

    def keep_apart():
        with transaction.atomic():
            decide(row_for(plex_copy), row_for(tmm_copy), MatchVerdict.APART)

    calls = _while_judging(monkeypatch, keep_apart)
    report = match_source()
    assert calls[0] == [], f"the staff decision failed while matching judged: {calls[0]}"
    assert len(calls) >= 2, "the run did not judge again after the decision"
    assert MatchDecision.objects.get().verdict == MatchVerdict.APART
    assert not WorkMember.objects.exists(), "the stale 'same title and year' verdict was written"
    assert report["linked"] == 0


def test_turns_count_every_write_and_the_first_turn_creates_the_row(two_copies):
    assert not MatchingTurn.objects.exists()
    assert generation() == 0
    with transaction.atomic():
        assert take_turn() == 0
    with transaction.atomic():
        assert take_turn() == 1
    match_source()  # one turn per kind that had changed rows: movies here
    assert generation() == 3
