"""The "Set scheduling metadata…" bulk action: it sets the chosen fields on the chosen items, nothing more."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from catalog.choices import ContentKind, Daypart, Demographic, SeasonalPreference
from catalog.models import Episode, Movie, Playable, ShortFormItem
from tests.factories import EpisodeFactory, MovieFactory, ShortFormFactory, ShowFactory

pytestmark = pytest.mark.django_db

ACTION = "set_scheduling_metadata"
# What every item starts with, so "untouched" can be checked field by field.
BEFORE = {
    "daypart": Daypart.DAYTIME,
    "seasonal_preference": SeasonalPreference.CHRISTMAS,
    "target_demographic": Demographic.KIDS,
    "content_rating": "TV-Y",
    "category": "toys",
    "commercial_company": "Acme",
    "expires_on": date(2030, 1, 1),
    "content_warnings": "none",
    "notes": "keep me",
}
METADATA_FIELDS = tuple(BEFORE)


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def make_items(model, count, **overrides):
    fields = {**BEFORE, **overrides}
    if model is Episode:
        show = ShowFactory()
        return EpisodeFactory.create_batch(count, show=show, source=show.source, **fields)
    if model is Movie:
        return MovieFactory.create_batch(count, **fields)
    return ShortFormFactory.create_batch(count, **fields)


def metadata(pk) -> dict:
    return Playable.objects.values(*METADATA_FIELDS).get(pk=pk)


def open_action(client, url, pks, select_across=False):
    """The first POST: what the changelist's action bar sends."""
    return client.post(
        url,
        {
            "action": ACTION,
            ACTION_CHECKBOX_NAME: [str(pk) for pk in pks],
            "select_across": "1" if select_across else "0",
            "index": "0",
        },
    )


def apply_action(client, url, pks, fields, select_across=False):
    """The second POST: the intermediate form, as its hidden inputs and the chosen fields send it."""
    data = {
        "action": ACTION,
        ACTION_CHECKBOX_NAME: [str(pk) for pk in pks],
        "select_across": "1" if select_across else "0",
        "apply": "1",
        "daypart": "__unchanged__",
        "seasonal_preference": "__unchanged__",
        "target_demographic": "__unchanged__",
        **fields,
    }
    return client.post(url, data)


@pytest.mark.parametrize("model", [Episode, Movie, ShortFormItem, Playable], ids=lambda m: m.__name__)
def test_bulk_action_sets_only_the_chosen_fields_on_the_selected_items(model, staff_client):
    items = make_items(Movie if model is Playable else model, 5)
    chosen, others = [item.pk for item in items[:3]], [item.pk for item in items[3:]]
    url = changelist(model)

    form_page = open_action(staff_client, url, chosen)
    assert form_page.status_code == 200
    assert "Set scheduling metadata on <strong>3</strong> selected items" in form_page.content.decode()

    response = apply_action(
        staff_client,
        url,
        chosen,
        {
            "daypart": Daypart.PRIME_TIME,
            "set_category": "on",
            "category": "cereal",
            "notes": "ignored, box unticked",
        },
    )
    assert response.status_code == 302

    for pk in chosen:
        assert metadata(pk) == {**BEFORE, "daypart": Daypart.PRIME_TIME, "category": "cereal"}
    for pk in others:
        assert metadata(pk) == BEFORE
    messages = [str(m) for m in staff_client.get(url).context["messages"]]
    assert messages == ["Set daypart, category on 3 items."]


def test_ticked_blank_fields_clear_values(staff_client):
    items = make_items(ShortFormItem, 2)
    apply_action(
        staff_client,
        changelist(ShortFormItem),
        [items[0].pk],
        {
            "set_expires_on": "on",
            "expires_on": "",
            "set_notes": "on",
            "notes": "",
            "set_content_rating": "on",
        },
    )
    assert metadata(items[0].pk) == {**BEFORE, "expires_on": None, "notes": "", "content_rating": ""}
    assert metadata(items[1].pk) == BEFORE


def test_choice_fields_can_be_set_back_to_any(staff_client):
    (item,) = make_items(Episode, 1)
    apply_action(
        staff_client,
        changelist(Episode),
        [item.pk],
        {"seasonal_preference": SeasonalPreference.ANY, "target_demographic": Demographic.ADULTS},
    )
    assert metadata(item.pk) == {**BEFORE, "seasonal_preference": "", "target_demographic": "adults"}


def test_select_all_across_pages_applies_to_the_filtered_set_only(staff_client):
    commercials = make_items(ShortFormItem, 4, kind=ContentKind.COMMERCIAL)
    bumpers = make_items(ShortFormItem, 3, kind=ContentKind.BUMPER)
    url = changelist(ShortFormItem) + "?kind__exact=commercial"
    # The browser sends the ticked rows of the current page along with select_across=1.
    on_page = [commercials[0].pk]

    form_page = open_action(staff_client, url, on_page, select_across=True)
    assert "on <strong>4</strong> selected items" in form_page.content.decode()
    response = apply_action(staff_client, url, on_page, {"set_category": "on", "category": "soda"}, True)
    assert response.status_code == 302

    assert {metadata(item.pk)["category"] for item in commercials} == {"soda"}
    assert {metadata(item.pk)["category"] for item in bumpers} == {"toys"}


def test_select_all_across_pages_carries_the_filter_not_every_id(staff_client):
    # Thousands of hidden ids would exceed DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000) on the apply POST;
    # the filtered query is re-run on apply, so the form needs no more than one id.
    items = make_items(Movie, 12)
    html = open_action(staff_client, changelist(Movie), [items[0].pk], select_across=True).content.decode()
    assert "on <strong>12</strong> selected items" in html
    assert html.count(f'name="{ACTION_CHECKBOX_NAME}"') == 1
    assert 'name="select_across" value="1"' in html


def test_search_with_select_across_applies_to_the_matches_only(staff_client):
    matching = make_items(Movie, 2, title="Gremlins")
    other = make_items(Movie, 1, title="Ghostbusters")
    url = changelist(Movie) + "?q=gremlins"
    apply_action(staff_client, url, [matching[0].pk], {"daypart": Daypart.LATE_NIGHT}, select_across=True)
    assert [metadata(item.pk)["daypart"] for item in matching] == [Daypart.LATE_NIGHT] * 2
    assert metadata(other[0].pk)["daypart"] == Daypart.DAYTIME


def test_submitting_with_nothing_chosen_shows_an_error_and_changes_nothing(staff_client):
    items = make_items(Episode, 2)
    pks = [item.pk for item in items]
    response = apply_action(staff_client, changelist(Episode), pks, {"category": "typed but not ticked"})
    assert response.status_code == 200
    assert "Choose at least one field to set." in response.content.decode()
    # The form keeps the selection so staff can fix it and apply.
    assert response.content.decode().count(f'name="{ACTION_CHECKBOX_NAME}"') == 2
    for pk in pks:
        assert metadata(pk) == BEFORE


def test_invalid_value_shows_the_field_error_and_changes_nothing(staff_client):
    (item,) = make_items(Movie, 1)
    response = apply_action(
        staff_client, changelist(Movie), [item.pk], {"set_expires_on": "on", "expires_on": "not a date"}
    )
    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()
    assert metadata(item.pk) == BEFORE


def test_cancel_returns_to_the_filtered_list(staff_client):
    items = make_items(ShortFormItem, 1)
    url = changelist(ShortFormItem) + "?kind__exact=commercial"
    html = open_action(staff_client, url, [items[0].pk]).content.decode()
    assert 'href="/admin/catalog/shortformitem/?kind__exact=commercial"' in html
