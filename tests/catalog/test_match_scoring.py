"""The scorer alone: normalising titles, comparing ids and years, and what the evidence adds up to."""

import pytest

from catalog.matching.scoring import (
    Side,
    Thresholds,
    classify,
    compare_ids,
    normalize_title,
    roman_to_int,
    score_pair,
    title_similarity,
)

LIMITS = Thresholds(link=0.95, candidate=0.6)


@pytest.mark.parametrize(
    ("title", "normalized"),
    [
        ("The Matrix", "matrix"),
        ("Matrix, The", "matrix"),
        ("A Fish Called Wanda", "fish called wanda"),
        ("Amélie", "amelie"),
        ("Fast & Furious", "fast and furious"),
        ("Rocky II", "rocky 2"),
        ("Star Wars: Episode IV - A New Hope", "star wars episode 4 a new hope"),
        ("Monsters, Inc.", "monsters inc"),
        ("Schindler's List", "schindlers list"),
        ("The", "the"),  # a title that is only an article keeps it
    ],
)
def test_normalize_title_folds_case_accents_punctuation_articles_and_numerals(title, normalized):
    assert normalize_title(title) == normalized


def test_roman_numerals_are_optional_and_only_sequel_sized():
    assert normalize_title("Rocky II", roman_numerals=False) == "rocky ii"
    assert [roman_to_int(token) for token in ("i", "iv", "ix", "xiv", "xxxix")] == [1, 4, 9, 14, 39]
    assert roman_to_int("mix") is None and roman_to_int("civil") is None and roman_to_int("") is None


@pytest.mark.parametrize(
    ("left", "right", "at_least", "below"),
    [
        ("The Matrix", "Matrix, The", 1.0, None),
        ("Ghostbusters", "Ghost Busters", 0.95, None),
        ("Terminator 2: Judgment Day", "Terminator 2 - Judgement Day", 0.95, None),
        ("Se7en", "Seven", 0.6, 0.95),
        ("Star Wars: A New Hope", "Star Wars Episode IV A New Hope", 0.6, 0.95),
        ("Heat", "Gremlins", 0.0, 0.6),
    ],
)
def test_title_similarity_forgives_spelling_but_not_different_titles(left, right, at_least, below):
    score = title_similarity(left, right)
    assert score >= at_least
    if below is not None:
        assert score < below


def test_compare_ids_reports_shared_and_disagreeing_providers_and_ignores_plex_guids():
    shared, conflicting = compare_ids(
        frozenset({("tmdb", "11"), ("imdb", "tt0076759"), ("plex", "movie/5d1")}),
        frozenset({("tmdb", "11"), ("imdb", "tt9999999"), ("plex", "movie/5d2")}),
    )
    assert shared == ["tmdb://11"]
    assert conflicting == ["imdb: tt0076759 ≠ tt9999999"]


def test_shared_ids_link_whatever_the_titles_and_years_say():
    verdict = score_pair(
        Side("Se7en", 1995, frozenset({("tmdb", "807")})), Side("Seven", 1996, frozenset({("tmdb", "807")}))
    )
    assert verdict.ids_agree and verdict.confidence == 1.0
    assert classify(verdict, LIMITS) == "link"


def test_same_title_and_year_with_different_tmdb_ids_is_a_conflict_never_a_link():
    verdict = score_pair(
        Side("Hamlet", 1990, frozenset({("tmdb", "10264")})),
        Side("Hamlet", 1990, frozenset({("tmdb", "10549")})),
    )
    assert verdict.ids_conflict and verdict.title_score == 1.0 and verdict.confidence == 0.0
    assert classify(verdict, LIMITS) == "conflict"
    assert classify(verdict, Thresholds(link=0.5, candidate=0.1)) == "conflict"  # no threshold links it


def test_disagreeing_ids_with_merely_similar_titles_are_two_films_not_a_conflict():
    left = Side("Iron Harbor Valley", 1984, frozenset({("tmdb", "1")}))
    right = Side("Iron Harbor Valley Station", 1984, frozenset({("tmdb", "2")}))
    verdict = score_pair(left, right)
    assert verdict.ids_conflict and 0.6 <= verdict.likeness < 0.85
    assert classify(verdict, LIMITS) == "none"


def test_one_agreeing_and_one_disagreeing_id_is_still_a_conflict():
    left = Side("Dune", 1984, frozenset({("tmdb", "841"), ("imdb", "tt0087182")}))
    right = Side("Dune", 1984, frozenset({("tmdb", "841"), ("imdb", "tt1160419")}))
    assert classify(score_pair(left, right), LIMITS) == "conflict"


def test_remakes_years_apart_are_not_even_candidates():
    assert classify(score_pair(Side("The Thing", 1982), Side("The Thing", 2011)), LIMITS) == "none"
    different_ids = score_pair(
        Side("The Thing", 1982, frozenset({("tmdb", "1091")})),
        Side("The Thing", 2011, frozenset({("tmdb", "60935")})),
    )
    assert classify(different_ids, LIMITS) == "none"


def test_identical_titles_link_in_the_same_year_and_queue_when_a_year_slips():
    assert classify(score_pair(Side("The Matrix", 1999), Side("Matrix, The", 1999)), LIMITS) == "link"
    slipped = score_pair(Side("Blade Runner", 1982), Side("Blade Runner", 1983))
    assert slipped.year_delta == 1 and classify(slipped, LIMITS) == "conflict"
    unknown = score_pair(Side("Blade Runner", None), Side("Blade Runner", 1982))
    assert unknown.year_delta is None and classify(unknown, LIMITS) == "conflict"


def test_sequels_alike_as_strings_are_never_linked_on_the_title():
    for left, right in [("Jaws", "Jaws 2"), ("Halloween", "Halloween II")]:
        verdict = score_pair(Side(left, 1980), Side(right, 1980))
        assert classify(verdict, LIMITS) == "conflict", (left, right)
    for left, right in [
        ("Rocky III", "Rocky IV"),
        ("Kill Bill: Vol. 1", "Kill Bill: Vol. 2"),
        ("Film 1", "Film 11"),
    ]:
        assert classify(score_pair(Side(left, 2003), Side(right, 2003)), LIMITS) == "none", (left, right)


def test_the_link_threshold_is_a_setting():
    verdict = score_pair(Side("Raiders of the Lost Ark", 1981), Side("Raiders of the Lost Arc", 1981))
    assert classify(verdict, Thresholds(link=0.95)) == "link"
    assert classify(verdict, Thresholds(link=0.99)) == "conflict"
