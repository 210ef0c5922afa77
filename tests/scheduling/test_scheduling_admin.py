"""The scheduling admin: pages render, slot validation explains itself, warnings are visible."""

from datetime import UTC, datetime, time, timedelta

import pytest

from scheduling.builder import build_channel
from scheduling.models import Channel, Piece, ProgramEntry, ScheduleTemplate, ScheduleWarning, TimeSlot
from tests.scheduling.station import channel_with_slot, short_form_library, sitcom

pytestmark = pytest.mark.django_db


@pytest.fixture
def built_channel():
    show, _ = sitcom()
    short_form_library()
    channel, template, slot = channel_with_slot(shows=[show])
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    build_channel(channel, day, day + timedelta(days=1), fine_until=day + timedelta(days=1))
    ScheduleWarning.objects.create(channel=channel, at=day + timedelta(days=1), message="Nothing fits")
    return channel, template, slot


def test_scheduling_pages_render_for_staff(staff_client, built_channel):
    channel, template, _ = built_channel
    program = ProgramEntry.objects.filter(channel=channel).first()
    for url in (
        "/admin/scheduling/channel/",
        f"/admin/scheduling/channel/{channel.pk}/change/",
        "/admin/scheduling/scheduletemplate/",
        f"/admin/scheduling/scheduletemplate/{template.pk}/change/",
        "/admin/scheduling/programentry/",
        f"/admin/scheduling/programentry/{program.pk}/change/",
        "/admin/scheduling/schedulewarning/",
        "/admin/scheduling/streamprofile/",
    ):
        assert staff_client.get(url).status_code == 200, url


def test_channel_list_shows_what_is_on_and_warnings(staff_client, built_channel):
    html = staff_client.get("/admin/scheduling/channel/").content.decode()
    assert "⚠ 1" in html


def test_program_page_lists_its_pieces(staff_client, built_channel):
    channel, _, _ = built_channel
    program = ProgramEntry.objects.filter(channel=channel, slot__isnull=False).first()
    html = staff_client.get(f"/admin/scheduling/programentry/{program.pk}/change/").content.decode()
    assert Piece.objects.filter(program=program).count() > 3
    assert "We&#x27;ll be right back" in html or "We'll be right back" in html


def test_slot_times_off_the_half_hour_are_refused_with_a_reason(staff_client, built_channel):
    _, _template, slot = built_channel
    slot.start_time = time(18, 15)
    with pytest.raises(Exception, match="hour or half hour"):
        slot.full_clean()


def test_slot_needs_a_weekday():
    channel = Channel.objects.create(number="9", name="Nine", time_zone="UTC")
    template = ScheduleTemplate.objects.create(channel=channel, name="Week")
    slot = TimeSlot(template=template, days=[], start_time=time(18), end_time=time(19))
    with pytest.raises(Exception, match="at least one weekday"):
        slot.full_clean()


def test_bad_channel_number_and_time_zone_are_refused():
    channel = Channel(number="seven", name="X", time_zone="Mars/Olympus")
    with pytest.raises(Exception) as caught:
        channel.full_clean()
    assert "not a channel number" in str(caught.value) and "time zone" in str(caught.value)


def test_staff_set_a_profile_to_pass_through_in_hevc_and_its_pieces_become_out_of_date(staff_client):
    from scheduling.choices import VideoCodec, VideoMode
    from scheduling.models import StreamProfile

    profile = StreamProfile.objects.create(name="Pass", width=1280, height=720)
    assert (profile.video_mode, profile.video_codec) == (VideoMode.SMART_COPY, VideoCodec.H264)
    page = staff_client.get(f"/admin/scheduling/streamprofile/{profile.pk}/change/").content.decode()
    assert 'name="video_mode"' in page and "Air sources at their own size" in page

    form = {
        "name": "Pass", "width": 1280, "height": 720, "frame_rate": "29.970", "video_bitrate_kbps": 3000,
        "audio_bitrate_kbps": 128, "segment_seconds": 2, "video_mode": VideoMode.PASS_THROUGH,
        "video_codec": VideoCodec.HEVC, "preferred_audio_language": "", "burn_forced_subtitles": "on",
    }  # fmt: skip
    response = staff_client.post(f"/admin/scheduling/streamprofile/{profile.pk}/change/", form)

    assert response.status_code == 302, response.content.decode()[:2000]
    profile.refresh_from_db()
    assert (profile.video_mode, profile.video_codec) == (VideoMode.PASS_THROUGH, VideoCodec.HEVC)
    assert profile.tracks_changed_at is not None  # pieces encoded before are encoded again
    listing = staff_client.get("/admin/scheduling/streamprofile/?video_mode=pass_through").content.decode()
    assert "Pass" in listing
