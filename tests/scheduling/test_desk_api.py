"""The programming desk through the API: place, move, resize, delete, undo/redo, refusals with a
reason, version conflicts, permissions; after each edit the program log, the break log and XMLTV agree."""

import itertools
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from retrovue.core.models import ApiToken
from scheduling.builder import build_channel, roll_forward
from scheduling.models import DeskEntry, Piece, ProgramEntry
from scheduling.xmltv import render_xmltv
from tests.factories import StaffUserFactory
from tests.scheduling.station import channel_with_slot, movie, short_form_library, sitcom
from tests.scheduling.test_xmltv import parse_time, validate_with_xmltv_tools

pytestmark = pytest.mark.django_db

API = "/api/scheduling/desk"


def next_weekday(weekday: int, hour: int, minute: int = 0) -> datetime:
    """The next such day at least a day from now (UTC), at hour:minute."""
    today = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day = today + timedelta(days=1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day + timedelta(hours=hour, minutes=minute)


@pytest.fixture
def station():
    show, episodes = sitcom(episodes=30)
    short_form_library()
    three, _, _ = channel_with_slot(number="3", shows=[show], start=time(12), end=time(23))
    other, _ = sitcom(title="Taxi", episodes=30)
    five, _, _ = channel_with_slot(number="5", shows=[other], start=time(12), end=time(23))
    film = movie("The Late Show", 100)
    roll_forward(channels=[three, five])
    return {"three": three, "five": five, "episodes": episodes, "film": film}


def versions(client) -> dict:
    today = timezone.now().astimezone(UTC)
    body = client.get(
        f"{API}/timeline", {"start": today.isoformat(), "stop": (today + timedelta(days=1)).isoformat()}
    )
    assert body.status_code == 200
    return {str(channel["id"]): channel["version"] for channel in body.json()["channels"]}


def assert_logs_and_guide_agree(channel, tmp_path=None):
    """No gap or overlap in either log; every program's pieces add up to it; XMLTV lists the same programs."""
    rows = list(ProgramEntry.objects.filter(channel=channel).order_by("start"))
    for earlier, later in itertools.pairwise(rows):
        assert earlier.stop == later.start, f"program log gap or overlap at {earlier.stop}"
    horizon = timezone.now() + timedelta(hours=40)
    for row in rows:
        if row.start >= horizon:
            break
        parts = list(Piece.objects.filter(program=row).order_by("sequence"))
        if row.stop <= timezone.now():
            continue
        assert parts, f"{row} has no pieces"
        assert parts[0].start == row.start and parts[-1].stop == row.stop
        for earlier, later in itertools.pairwise(parts):
            assert earlier.stop == later.start
    start, stop = rows[0].start, rows[-1].stop
    document = render_xmltv([channel], start, stop, "http://testserver", fill_gaps=False)
    listed = [
        (parse_time(element.get("start")), parse_time(element.get("stop")), element.findtext("title"))
        for element in ET.fromstring(document).iter("programme")
    ]
    assert listed == [(row.start, row.stop, row.title) for row in rows]
    if tmp_path is not None:
        assert validate_with_xmltv_tools(document, tmp_path) == "Validated ok."


def test_the_timeline_shows_each_programs_breaks_as_runs_of_adjacent_break_pieces(staff_client, station):
    start = timezone.now().astimezone(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    if start < timezone.now():
        start += timedelta(days=1)  # the next afternoon's sitcoms (with their breaks' pieces built)
    stop = start + timedelta(hours=11)
    body = staff_client.get(f"{API}/timeline", {"start": start.isoformat(), "stop": stop.isoformat()})
    assert body.status_code == 200
    shown = {program["id"]: program["breaks"] for program in body.json()["programs"]}
    expected = {}
    for program_id in shown:
        runs = []
        pieces = Piece.objects.filter(program_id=program_id, start__lt=stop, stop__gt=start).order_by("start")
        for piece in pieces:
            if piece.kind == "content":
                continue
            if runs and runs[-1][1] == piece.start:
                runs[-1][1] = piece.stop
            else:
                runs.append([piece.start, piece.stop])
        expected[program_id] = [[begins.isoformat(), ends.isoformat()] for begins, ends in runs]
    assert shown == expected
    merged = [
        run for runs in shown.values() for run in runs
        if Piece.objects.filter(start__gte=run[0], stop__lte=run[1]).exclude(kind="content").count() > 2
    ]  # fmt: skip
    assert merged, "no break of several pieces in the window: the test shows nothing"
    without = staff_client.get(
        f"{API}/timeline", {"start": start.isoformat(), "stop": stop.isoformat(), "breaks": "false"}
    ).json()
    assert all(program["breaks"] == [] for program in without["programs"])


def test_an_empty_stretch_of_the_timeline_answers_with_no_programs(staff_client, db):
    start = timezone.now().astimezone(UTC).replace(microsecond=0) + timedelta(days=30)
    body = staff_client.get(
        f"{API}/timeline", {"start": start.isoformat(), "stop": (start + timedelta(hours=2)).isoformat()}
    )
    assert body.status_code == 200
    assert body.json()["programs"] == []


def test_a_movie_placed_at_eight_replaces_what_it_overlaps_and_the_guide_follows(
    staff_client, station, tmp_path
):
    three, film = station["three"], station["film"]
    eight = next_weekday(2, 20)
    response = staff_client.post(
        f"{API}/entries",
        {
            "channel_ids": [three.pk],
            "start": eight.isoformat(),
            "item_ids": [film.pk],
            "versions": versions(staff_client),
        },
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["versions"] == {str(three.pk): 1}
    placed = ProgramEntry.objects.get(channel=three, start=eight)
    assert placed.playable_id == film.pk and placed.stop == eight + timedelta(hours=2)
    assert placed.desk_entry is not None
    assert_logs_and_guide_agree(three, tmp_path)


def test_an_edit_off_the_grid_is_refused_with_the_reason(staff_client, station):
    response = staff_client.post(
        f"{API}/entries",
        {
            "channel_ids": [station["three"].pk],
            "start": next_weekday(2, 20, 10).isoformat(),
            "item_ids": [station["film"].pk],
        },
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "30-minute grid" in response.json()["detail"]
    assert not DeskEntry.objects.exists()


def test_an_interruption_cannot_be_placed_by_hand(staff_client, station):
    response = staff_client.post(
        f"{API}/entries",
        {"channel_ids": [station["three"].pk], "start": next_weekday(2, 20).isoformat(), "kind": "interrupt",
         "mode": "ripple", "resume_at": next_weekday(2, 23).isoformat()},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 422
    assert "placed by emergency alerts" in response.json()["detail"]
    assert not DeskEntry.objects.exists()


def test_an_edit_made_on_a_stale_timeline_is_refused_as_a_conflict(staff_client, station):
    three, film = station["three"], station["film"]
    seen = versions(staff_client)
    first = staff_client.post(f"{API}/entries", {"channel_ids": [three.pk], "start": next_weekday(2, 20).isoformat(),
                                                 "item_ids": [film.pk], "versions": seen}, content_type="application/json")  # fmt: skip
    assert first.status_code == 200
    second = staff_client.post(f"{API}/entries", {"channel_ids": [three.pk], "start": next_weekday(3, 20).isoformat(),
                                                  "item_ids": [film.pk], "versions": seen}, content_type="application/json")  # fmt: skip
    assert second.status_code == 409
    assert "was changed by staff" in second.json()["detail"]
    assert DeskEntry.objects.count() == 1


def test_moving_an_episode_to_another_channel_clears_its_old_time_and_undo_puts_it_back(
    staff_client, station
):
    three, five = station["three"], station["five"]
    episode = ProgramEntry.objects.filter(channel=three, start=next_weekday(3, 19)).get()
    target = next_weekday(3, 21)
    moved = staff_client.post(f"{API}/programs/{episode.pk}/move", {"channel_id": five.pk, "start": target.isoformat()},
                              content_type="application/json")  # fmt: skip
    assert moved.status_code == 200, moved.content
    assert ProgramEntry.objects.get(channel=five, start=target).playable_id == episode.playable_id
    cleared = ProgramEntry.objects.get(channel=three, start=episode.start)
    assert cleared.playable_id is None and cleared.category == "Filler"
    for channel in (three, five):
        assert_logs_and_guide_agree(channel)

    assert staff_client.post(f"{API}/undo").status_code == 200
    back = ProgramEntry.objects.get(channel=three, start=episode.start)
    assert back.playable_id == episode.playable_id and not DeskEntry.objects.exists()
    assert ProgramEntry.objects.get(channel=five, start=target).desk_entry_id is None
    assert staff_client.post(f"{API}/redo").status_code == 200
    assert ProgramEntry.objects.get(channel=five, start=target).playable_id == episode.playable_id


def test_a_program_cannot_extend_over_another_but_can_into_fallback(staff_client, station):
    three = station["three"]
    episode = ProgramEntry.objects.get(channel=three, start=next_weekday(3, 19))
    refused = staff_client.post(f"{API}/programs/{episode.pk}/resize",
                                {"stop": (episode.stop + timedelta(minutes=30)).isoformat()}, content_type="application/json")  # fmt: skip
    assert refused.status_code == 422 and "only fallback time" in refused.json()["detail"]
    last = ProgramEntry.objects.get(channel=three, stop=next_weekday(3, 23))
    extended = staff_client.post(f"{API}/programs/{last.pk}/resize",
                                 {"stop": (last.stop + timedelta(minutes=30)).isoformat()}, content_type="application/json")  # fmt: skip
    assert extended.status_code == 200, extended.content
    grown = ProgramEntry.objects.get(channel=three, start=last.start)
    assert grown.stop == last.stop + timedelta(minutes=30) and grown.playable_id == last.playable_id
    assert_logs_and_guide_agree(three)


def test_a_six_episode_marathon_ripples_the_afternoon_and_the_template_takes_over_at_six(
    staff_client, station, tmp_path
):
    three, episodes = station["three"], station["episodes"]
    saturday = next_weekday(5, 14)
    template = {row.start: row.playable_id for row in ProgramEntry.objects.filter(channel=three)}
    response = staff_client.post(
        f"{API}/entries",
        {"channel_ids": [three.pk], "start": saturday.isoformat(), "show_id": episodes[0].show_id,
         "from_episode_id": episodes[20].pk, "episode_count": 6, "mode": "ripple",
         "resume_at": (saturday + timedelta(hours=4)).isoformat(), "title": "Cheers Marathon", "special": True},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 200, response.content
    day = list(ProgramEntry.objects.filter(channel=three, start__gte=saturday - timedelta(hours=2),
                                           start__lt=saturday + timedelta(hours=6)).order_by("start"))  # fmt: skip
    marathon = [row for row in day if row.desk_entry_id]
    assert [row.playable_id for row in marathon] == [episode.pk for episode in episodes[20:26]]
    assert marathon[0].start == saturday and marathon[-1].stop == saturday + timedelta(hours=3)
    pushed = [
        ProgramEntry.objects.get(channel=three, start=saturday + timedelta(hours=3, minutes=30 * n))
        for n in (0, 1)
    ]
    assert [row.playable_id for row in pushed] == [
        template[saturday],
        template[saturday + timedelta(minutes=30)],
    ]
    resumed = ProgramEntry.objects.get(channel=three, start=saturday + timedelta(hours=4))
    assert resumed.playable_id == template[saturday + timedelta(hours=4)] and resumed.joined_from is None
    guide = render_xmltv(
        [three], saturday - timedelta(hours=2), saturday + timedelta(hours=8), "http://testserver"
    )
    assert validate_with_xmltv_tools(guide, tmp_path) == "Validated ok."
    programmes = list(ET.fromstring(guide).iter("programme"))
    for earlier, later in itertools.pairwise(programmes):
        assert earlier.get("stop") == later.get("start")
    specials = [element for element in programmes if element.find("premiere") is not None]
    assert len(specials) == 6 and all(element.findtext("title") == "Cheers Marathon" for element in specials)
    assert_logs_and_guide_agree(three)


def test_a_staff_token_without_desk_permissions_can_read_nothing_and_edit_nothing(station):
    narrow = StaffUserFactory(username="narrow", is_superuser=False)
    _, token = ApiToken.issue(narrow, "script")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get(f"{API}/timeline").status_code == 403
    narrow.user_permissions.add(Permission.objects.get(codename="view_deskentry"))
    assert client.get(f"{API}/timeline").status_code == 200
    placed = client.post(f"{API}/entries", {"channel_ids": [station["three"].pk], "start": next_weekday(2, 20).isoformat(),
                                            "item_ids": [station["film"].pk]}, content_type="application/json")  # fmt: skip
    assert placed.status_code == 403
    narrow.user_permissions.add(Permission.objects.get(codename="add_deskentry"))
    narrow = type(narrow).objects.get(pk=narrow.pk)  # permissions are cached per user object
    placed = client.post(f"{API}/entries", {"channel_ids": [station["three"].pk], "start": next_weekday(2, 20).isoformat(),
                                            "item_ids": [station["film"].pk]}, content_type="application/json")  # fmt: skip
    assert placed.status_code == 200, placed.content


def test_a_live_event_on_the_air_can_be_ended_early_and_the_template_takes_over_in_progress(
    staff_client, station, settings
):
    settings.RETROVUE_LIVE_SOURCE_HOSTS = ["encoder.example"]
    three = station["three"]
    now = timezone.now()
    began = now.astimezone(UTC).replace(minute=0 if now.minute < 30 else 30, second=0, microsecond=0)
    entry = DeskEntry.objects.create(channel=three, kind="live", start=began, stop=began + timedelta(hours=2),
                                     title="Election night", live_url="srt://encoder.example:9000")  # fmt: skip
    # The log airs it already (built from its start, as the desk had it placed an hour ago).
    build_channel(
        three,
        began,
        ProgramEntry.objects.order_by("-stop").first().stop,
        fine_until=now + timedelta(hours=40),
    )
    on_air = ProgramEntry.objects.get(channel=three, start__lte=now, stop__gt=now)
    assert on_air.desk_entry_id == entry.pk and on_air.category == "Live"

    end = (now + timedelta(minutes=10)).replace(second=0, microsecond=0)
    ended = staff_client.patch(
        f"{API}/entries/{entry.pk}", {"stop": end.isoformat()}, content_type="application/json"
    )
    assert ended.status_code == 200, ended.content
    live = ProgramEntry.objects.get(channel=three, desk_entry=entry)
    assert live.start == began and live.stop == end
    following = ProgramEntry.objects.get(channel=three, start=end)
    assert following.category != "Live"
    assert_logs_and_guide_agree(three)
