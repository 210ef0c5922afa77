"""Scheduling read endpoints: authentication, channels, templates, the program log, now/next, warnings."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from retrovue.core.models import ApiToken
from scheduling.models import Piece, ScheduleTemplate, ScheduleWarning, TimeSlot
from tests.factories import ShortFormFactory, ShowFactory
from tests.scheduling.listings import fill, make_channel, program

pytestmark = pytest.mark.django_db

EVENING = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)


def at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    "path",
    [
        "/api/scheduling/channels",
        "/api/scheduling/channels/1",
        "/api/scheduling/channels/1/templates",
        "/api/scheduling/channels/1/programs",
        "/api/scheduling/channels/1/now",
        "/api/scheduling/channels/1/warnings",
    ],
)
def test_every_endpoint_requires_authentication(client, path):
    make_channel("7")
    assert client.get(path).status_code == 401


def test_a_bearer_token_is_enough(client, staff_user):
    make_channel("7")
    _, token = ApiToken.issue(staff_user, "script")
    response = client.get("/api/scheduling/channels", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_channels_come_in_channel_number_order_with_absolute_urls(staff_client):
    for number in ("10", "7.1", "2", "7"):
        make_channel(number)
    make_channel("3", enabled=False, logo="logos/three.png")
    body = staff_client.get("/api/scheduling/channels").json()
    assert [channel["number"] for channel in body["items"]] == ["2", "3", "7", "7.1", "10"]
    three = body["items"][1]
    assert three["xmltv_id"] == "3.retrovue"
    assert three["stream_url"] == "http://testserver/hls/3/index.m3u8"
    assert three["logo_url"] == "http://testserver/media/logos/three.png"
    assert body["items"][0]["logo_url"] is None
    enabled = staff_client.get("/api/scheduling/channels?enabled=true").json()
    assert [channel["number"] for channel in enabled["items"]] == ["2", "7", "7.1", "10"]


def test_channel_detail_and_a_missing_channel(staff_client):
    channel = make_channel("7", "Classic TV", call_sign="WRTV")
    body = staff_client.get(f"/api/scheduling/channels/{channel.pk}").json()
    assert (body["number"], body["name"], body["call_sign"]) == ("7", "Classic TV", "WRTV")
    assert not {key for key in body if "token" in key or "secret" in key}
    assert staff_client.get("/api/scheduling/channels/999999").status_code == 404


def test_templates_come_with_their_slots_in_priority_order(staff_client):
    channel = make_channel("7")
    cheers = ShowFactory(title="Cheers")
    regular = ScheduleTemplate.objects.create(channel=channel, name="Regular week", priority=0)
    ScheduleTemplate.objects.create(
        channel=channel, name="Holidays", priority=10, from_month_day="12-01", until_month_day="12-31"
    )
    late = TimeSlot.objects.create(template=regular, days=[0, 1], start_time=time(20), end_time=time(21))
    early = TimeSlot.objects.create(
        template=regular, days=[0], start_time=time(18), end_time=time(18, 30), title="Sitcoms"
    )
    early.shows.set([cheers])
    body = staff_client.get(f"/api/scheduling/channels/{channel.pk}/templates").json()
    assert [template["name"] for template in body] == ["Holidays", "Regular week"]
    assert body[0]["from_month_day"] == "12-01" and body[0]["slots"] == []
    slots = body[1]["slots"]
    assert [slot["id"] for slot in slots] == [early.pk, late.pk]
    assert slots[0]["show_ids"] == [cheers.pk]
    assert (slots[0]["start_time"], slots[0]["end_time"], slots[0]["days"]) == ("18:00:00", "18:30:00", [0])


def test_programs_in_a_window_are_paged(staff_client):
    channel = make_channel("7")
    fill(channel, EVENING, 24)  # 48 half hours
    fill(make_channel("8"), EVENING, 24)
    url = f"/api/scheduling/channels/{channel.pk}/programs"
    window = staff_client.get(
        url, {"start": at(EVENING + timedelta(minutes=45)), "stop": at(EVENING + timedelta(hours=2))}
    )
    body = window.json()
    assert body["count"] == 3
    assert [item["start"] for item in body["items"]] == [
        "2026-11-22T18:30:00Z",
        "2026-11-22T19:00:00Z",
        "2026-11-22T19:30:00Z",
    ]
    first = body["items"][0]
    assert (first["episode"], first["duration_ms"], first["channel_id"]) == ("S01E02", 1_800_000, channel.pk)
    day = {"start": at(EVENING), "stop": at(EVENING + timedelta(days=1)), "page_size": 20}
    pages = [staff_client.get(url, day | {"page": page}).json() for page in (1, 2, 3)]
    assert pages[0]["count"] == 48
    assert [len(page["items"]) for page in pages] == [20, 20, 8]
    assert len({item["id"] for page in pages for item in page["items"]}) == 48


def test_a_window_that_ends_before_it_starts_is_refused(staff_client):
    channel = make_channel("7")
    response = staff_client.get(
        f"/api/scheduling/channels/{channel.pk}/programs", {"start": at(EVENING), "stop": at(EVENING)}
    )
    assert response.status_code == 422


def test_now_gives_the_current_and_next_program_and_the_piece_airing(staff_client):
    channel = make_channel("7")
    first, second, _ = fill(channel, EVENING, 1.5)
    spot = ShortFormFactory(title="Hot Wheels 30s")
    Piece.objects.create(
        channel=channel, program=first, sequence=0, start=EVENING, stop=EVENING + timedelta(minutes=7),
        kind="content", playable=None, in_ms=0, out_ms=420_000,
    )  # fmt: skip
    Piece.objects.create(
        channel=channel, program=first, sequence=1, start=EVENING + timedelta(minutes=7),
        stop=EVENING + timedelta(minutes=7, seconds=30), kind="commercial", playable=spot, in_ms=0, out_ms=30_000,
    )  # fmt: skip
    url = f"/api/scheduling/channels/{channel.pk}/now"
    body = staff_client.get(url, {"at": at(EVENING + timedelta(minutes=7, seconds=10))}).json()
    assert body["now"]["id"] == first.pk and body["next"]["id"] == second.pk
    assert body["piece"]["kind"] == "commercial" and body["piece"]["playable_title"] == "Hot Wheels 30s"
    # At a boundary the program starting is the one on now.
    boundary = staff_client.get(url, {"at": at(EVENING + timedelta(minutes=30))}).json()
    assert boundary["now"]["id"] == second.pk and boundary["piece"] is None


def test_now_across_a_hole_and_past_the_end_of_the_log(staff_client):
    channel = make_channel("7")
    early = program(channel, EVENING, 30, title="Early")
    late = program(channel, EVENING + timedelta(hours=1), 30, title="Late")
    url = f"/api/scheduling/channels/{channel.pk}/now"
    in_hole = staff_client.get(url, {"at": at(EVENING + timedelta(minutes=40))}).json()
    assert in_hole["now"] is None and in_hole["next"]["id"] == late.pk
    before = staff_client.get(url, {"at": at(EVENING + timedelta(minutes=10))}).json()
    assert before["now"]["id"] == early.pk and before["next"]["id"] == late.pk
    after = staff_client.get(url, {"at": at(EVENING + timedelta(hours=3))}).json()
    assert after["now"] is None and after["next"] is None


def test_now_defaults_to_the_current_time(staff_client):
    channel = make_channel("7")
    current = program(channel, timezone.now() - timedelta(minutes=5), 30, title="On Now")
    body = staff_client.get(f"/api/scheduling/channels/{channel.pk}/now").json()
    assert body["now"]["id"] == current.pk and body["now"]["title"] == "On Now"


def test_warnings_of_a_channel(staff_client):
    channel = make_channel("7")
    other = make_channel("8")
    ScheduleWarning.objects.create(
        channel=channel, at=EVENING + timedelta(hours=1), message="Slot 19:00 had nothing to air"
    )
    ScheduleWarning.objects.create(channel=channel, at=EVENING, message="No commercials for the break")
    ScheduleWarning.objects.create(channel=other, at=EVENING, message="Elsewhere")
    url = f"/api/scheduling/channels/{channel.pk}/warnings"
    body = staff_client.get(url).json()
    assert [item["message"] for item in body["items"]] == [
        "No commercials for the break",
        "Slot 19:00 had nothing to air",
    ]
    later = staff_client.get(url, {"since": at(EVENING + timedelta(minutes=30))}).json()
    assert [item["message"] for item in later["items"]] == ["Slot 19:00 had nothing to air"]
