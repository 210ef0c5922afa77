"""One pre-generated row per cut, enforced by the database itself on PostgreSQL and SQLite alike.

Slates and test patterns have no item (a NULL playable): the rule must still hold for them, which
a plain unique constraint does not give (NULLs are distinct) and SQLite's lack of NULLS NOT
DISTINCT did not give either. bin/test runs this file on both databases.
"""

import pytest
from django.db import IntegrityError, transaction

from playout.models import PregenPiece
from scheduling.models import StreamProfile
from tests.factories import EpisodeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def profile():
    return StreamProfile.objects.create(name="uniqueness-test")


def cut(profile, **fields) -> dict:
    return {"profile": profile, "bug_key": "", "in_ms": 0, "out_ms": 5_000, **fields}


def test_a_second_slate_row_for_the_same_cut_is_refused(profile):
    PregenPiece.objects.create(**cut(profile, special="slate"))
    with pytest.raises(IntegrityError), transaction.atomic():
        PregenPiece.objects.create(**cut(profile, special="slate"))
    PregenPiece.objects.create(**cut(profile, special="slate", out_ms=6_000))  # another length is another cut
    PregenPiece.objects.create(**cut(profile, special="test_pattern"))
    assert PregenPiece.objects.count() == 3


def test_a_second_row_for_the_same_item_cut_is_refused_and_bulk_creation_skips_it(profile):
    episode = EpisodeFactory()
    PregenPiece.objects.create(**cut(profile, playable=episode))
    with pytest.raises(IntegrityError), transaction.atomic():
        PregenPiece.objects.create(**cut(profile, playable=episode))
    PregenPiece.objects.bulk_create(
        [PregenPiece(**cut(profile, playable=episode)), PregenPiece(**cut(profile, special="slate"))],
        ignore_conflicts=True,  # what the planner does when two plan the same cuts
    )
    assert sorted(PregenPiece.objects.values_list("special", flat=True)) == ["", "slate"]
