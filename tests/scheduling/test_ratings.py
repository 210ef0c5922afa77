"""Content ratings from every system land on one ordered scale, and a channel limit respects it."""

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps as django_apps
from hypothesis import given
from hypothesis import strategies as st

from catalog.models import Episode, Playable, Show
from catalog.ratings import (
    ADULTS,
    AGE_16,
    BANDS,
    TV_14,
    TV_MA,
    TV_PG,
    TV_Y,
    TV_Y7,
    UNRATED_RANK,
    allowed,
    band_for_age,
    rank,
)
from scheduling.builder import build_channel
from scheduling.models import ProgramEntry
from tests.scheduling.station import channel_with_slot, short_form_library, sitcom

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)

KNOWN = {
    "TV-Y": TV_Y, "TV-Y7": TV_Y7, "TV-Y7-FV": TV_Y7, "G": TV_Y7, "TV-G": TV_Y7, "PG": TV_PG, "TV-PG": TV_PG,
    "PG-13": TV_14, "TV-14": TV_14, "R": TV_MA, "TV-MA": TV_MA, "NC-17": ADULTS, "us/TV-14": TV_14,
    "gb/U": TV_Y, "gb/PG": TV_PG, "gb/12": TV_14, "gb/12A": TV_14, "12A": TV_14, "gb/15": AGE_16,
    "gb/18": ADULTS, "gb/R18": ADULTS, "R18": ADULTS, "gb/0+": TV_Y, "gb/9+": TV_PG, "gb/14+": TV_14,
    "de/0": TV_Y, "de/6": TV_Y, "de/12": TV_14, "de/16": AGE_16, "de/18": ADULTS, "de/BPjM Restricted": ADULTS,
    "BPjM Restricted": ADULTS, "au/G": TV_Y7, "au/PG": TV_PG, "au/M": AGE_16, "au/MA15+": AGE_16,
    "au/MA 15+": AGE_16, "au/R 18+": ADULTS, "au/X 18+": ADULTS, "nl/6": TV_Y, "nl/12": TV_14, "nl/14": TV_14,
    "nl/16": AGE_16, "no/A": TV_Y, "no/05": TV_Y, "no/7": TV_Y7, "no/15": AGE_16, "no/18": ADULTS,
    "12+": TV_14, "TV-13": TV_14, "MA-17": TV_MA, "TVMA": TV_MA, "A-17": TV_MA, "M/PG": TV_PG, "X": ADULTS,
    "7": TV_Y7, "07": TV_Y7, "10": TV_PG, "13": TV_14, "17": TV_MA, "G - All Ages": TV_Y7, "PG - Children": TV_PG,
    "PG-13 - Teens 13 or older": TV_14, "R - 17+ (violence & profanity)": TV_MA, "R+ - Mild Nudity": TV_MA,
    "Rx - Hentai": ADULTS, " tv-pg ": TV_PG,
}  # fmt: skip
UNRATED = ["NR", "Not Rated", "Unrated", "None", "de/Unrated", "au/Not Rated", "gb/E", "Banana", "xx/???"]


@pytest.mark.parametrize(("rating", "expected"), KNOWN.items())
def test_known_ratings_map_to_their_minimum_age_band(rating, expected):
    assert rank(rating) == expected


@pytest.mark.parametrize("rating", UNRATED)
def test_unrated_and_unknown_ratings_rank_above_everything(rating):
    assert rank(rating) == UNRATED_RANK
    assert not allowed(rating, "TV-MA")


def test_an_empty_rating_has_no_rank_and_is_never_aired_under_a_limit():
    assert rank("") is None and rank("  ") is None and rank(None) is None
    assert not allowed("", "TV-MA") and allowed("", "")


def test_a_tv_pg_limit_refuses_gb_15_and_tv_14_and_admits_gb_pg():
    assert not allowed("gb/15", "TV-PG") and not allowed("TV-14", "TV-PG") and not allowed("de/12", "TV-PG")
    assert allowed("gb/PG", "TV-PG") and allowed("de/6", "TV-PG") and allowed("TV-Y7", "TV-PG")


@given(st.integers(0, 25), st.integers(0, 25))
def test_older_ages_never_rank_lower(younger, older):
    younger, older = sorted((younger, older))
    assert rank(str(younger)) <= rank(str(older))


@given(st.integers(0, 25))
def test_an_age_rounds_up_to_a_band_that_admits_it(age):
    band = band_for_age(age)
    assert band in BANDS
    assert band >= age or band == ADULTS or (band == TV_Y and age <= 6)


@given(st.sampled_from(["gb", "de", "nl", "no", "au", "dk", "fi"]), st.integers(0, 21))
def test_a_country_prefix_does_not_change_what_an_age_means(country, age):
    assert rank(f"{country}/{age}") == rank(str(age))


@given(st.text(max_size=30))
def test_every_string_gets_a_rank_on_the_scale(text):
    found = rank(text)
    assert found is None or found in (*BANDS, UNRATED_RANK)
    assert allowed(text, "TV-MA") == (found is not None and found <= TV_MA)


# --- stored ranks, and the builder -------------------------------------------------------------------


@pytest.mark.django_db
def test_saving_an_item_stores_its_rank_and_updates_it_with_the_rating():
    show, (episode, *_) = sitcom("Cracker", episodes=1, rating="gb/15")
    assert Show.objects.get(pk=show.pk).rating_rank == AGE_16
    episode.content_rating = "TV-Y7"
    episode.save(update_fields=["content_rating"])
    assert Playable.objects.get(pk=episode.pk).rating_rank == TV_Y7


@pytest.mark.django_db
def test_the_data_migration_backfills_ranks_of_existing_rows():
    _, (episode, *_) = sitcom("Cracker", episodes=1, rating="au/MA15+")
    Playable.objects.update(rating_rank=None)
    migration = importlib.import_module("catalog.migrations.0010_rating_rank")
    migration.backfill_ranks(django_apps, None)
    assert Playable.objects.get(pk=episode.pk).rating_rank == AGE_16


@pytest.mark.django_db
def test_a_tv_pg_channel_never_schedules_gb_15_or_tv_14_from_a_mixed_pool():
    pool = [
        sitcom("Rentaghost", rating="gb/PG", episodes=3)[0],
        sitcom("Byker Grove", rating="de/6", episodes=3)[0],
        sitcom("Cracker", rating="gb/15", episodes=3)[0],
        sitcom("NYPD Blue", rating="TV-14", episodes=3)[0],
        sitcom("Prime Suspect", rating="NR", episodes=3)[0],
        sitcom("Tutti Frutti", rating="nl/16", episodes=3)[0],
    ]
    # An episode rated milder than its show still airs; one without a rating takes its show's.
    inherits = sitcom("Blackadder", rating="gb/PG", episodes=2)[0]
    Episode.objects.filter(show=inherits, episode_number=1).update(content_rating="", rating_rank=None)
    milder = sitcom("Grange Hill", rating="gb/15", episodes=2)[0]
    for episode in Episode.objects.filter(show=milder, episode_number=1):
        episode.content_rating = "TV-PG"
        episode.save()
    short_form_library()
    channel, _, _ = channel_with_slot(
        shows=[*pool, inherits, milder], start=datetime.min.time(), end=datetime.max.time().replace(second=0,
        microsecond=0), content_rating_limit="TV-PG",
    )  # fmt: skip
    build_channel(channel, MONDAY, MONDAY + timedelta(days=2), fine_until=MONDAY + timedelta(hours=2))
    aired = set(
        ProgramEntry.objects.filter(channel=channel, slot__isnull=False).values_list(
            "playable__title", flat=True
        )
    )
    assert aired  # the pool was not emptied altogether
    shows_aired = {title.rsplit(" ", 1)[0] for title in aired}
    assert shows_aired == {"Rentaghost", "Byker Grove", "Grange Hill", "Blackadder"}
    assert "Grange Hill 1" in aired and "Grange Hill 2" not in aired
    assert "Blackadder 1" in aired
