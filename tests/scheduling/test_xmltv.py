"""XMLTV guide data: valid per xmltv.dtd, contiguous per channel, the ids and numbers clients match on."""

import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from django.test import override_settings

from scheduling.xmltv import escape, render_xmltv, xmltv_ns
from tests.scheduling.listings import fill, make_channel, program

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
BASE = "http://tv.example.com"
DTD_CANDIDATES = ("/usr/share/xmltv/xmltv.dtd", "/usr/local/share/xmltv/xmltv.dtd")


def render(channels, start=START, hours=3, **kwargs) -> bytes:
    return render_xmltv(channels, start, start + timedelta(hours=hours), BASE, **kwargs)


def parse(document: bytes) -> ET.Element:
    return ET.fromstring(document)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d%H%M%S %z")


def programmes(tree: ET.Element, channel_id: str) -> list[ET.Element]:
    return [element for element in tree.iter("programme") if element.get("channel") == channel_id]


def assert_contiguous(tree: ET.Element, start: datetime, stop: datetime) -> None:
    """Every channel's programmes follow each other without gap or overlap and cover [start, stop)."""
    for channel in tree.iter("channel"):
        listed = programmes(tree, channel.get("id"))
        assert listed, f"{channel.get('id')} has no programmes"
        spans = [(parse_time(element.get("start")), parse_time(element.get("stop"))) for element in listed]
        assert spans[0][0] <= start, f"{channel.get('id')} starts late"
        assert spans[-1][1] >= stop, f"{channel.get('id')} ends early"
        for (_, earlier_stop), (later_start, _) in pairwise(spans):
            assert earlier_stop == later_start, f"{channel.get('id')}: gap or overlap at {earlier_stop}"
        assert all(begin < end for begin, end in spans)


def validate_with_xmltv_tools(document: bytes, tmp_path: Path) -> str:
    validator = shutil.which("tv_validate_file")
    dtd = next((path for path in DTD_CANDIDATES if Path(path).exists()), None)
    if not validator or not dtd:
        pytest.skip("tv_validate_file and xmltv.dtd are not installed (apt-get install xmltv-util)")
    path = tmp_path / "guide.xml"
    path.write_bytes(document)
    result = subprocess.run(
        [validator, "--dtd-file", dtd, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    return (result.stdout + result.stderr).strip()


def station():
    """Two channels with a bit of everything the guide writes."""
    seven = make_channel("7", "Classic TV", call_sign="WRTV", logo="logos/seven.png")
    fill(seven, START, 2)
    program(
        seven,
        START + timedelta(hours=2),
        60,
        title='Tom & Jerry <Holiday> "Special"',
        subtitle='A "Night" Before Christmas',
        description="Cats & mice < dogs > birds.\x0b",
        season_number=0,
        episode_number=3,
        content_rating="TV-G",
        is_rerun=False,
    )
    movies = make_channel("12", "Movie Palace", group="Movies")
    program(
        movies,
        START - timedelta(minutes=30),
        120,
        title="Back to the Future",
        description="Marty goes back to 1955.",
        category="Movie",
        content_rating="PG",
    )
    program(
        movies,
        START + timedelta(minutes=90),
        90,
        title="Ghostbusters",
        category="Movie",
        content_rating="us/PG",
    )
    return seven, movies


def test_guide_validates_against_the_xmltv_dtd(tmp_path):
    channels = station()
    assert validate_with_xmltv_tools(render(channels), tmp_path) == "Validated ok."


def test_an_empty_station_still_validates(tmp_path):
    make_channel("3", "Nothing Yet")
    from scheduling.models import Channel

    assert validate_with_xmltv_tools(render(Channel.objects.all()), tmp_path) == "Validated ok."


def test_channels_have_dotted_ids_and_the_bare_number_among_their_names():
    seven, movies = station()
    tree = parse(render([seven, movies]))
    channels = {element.get("id"): element for element in tree.iter("channel")}
    assert set(channels) == {"7.retrovue", "12.retrovue"}
    names = [name.text for name in channels["7.retrovue"].iter("display-name")]
    assert names == ["7 Classic TV", "7", "Classic TV", "WRTV"]
    assert [name.text for name in channels["12.retrovue"].iter("display-name")] == [
        "12 Movie Palace",
        "12",
        "Movie Palace",
    ]


def test_logo_is_an_absolute_icon_and_channels_without_one_have_none():
    seven, movies = station()
    tree = parse(render([seven, movies]))
    icons = {
        element.get("id"): [icon.get("src") for icon in element.iter("icon")]
        for element in tree.iter("channel")
    }
    assert icons["7.retrovue"] == ["http://tv.example.com/media/logos/seven.png"]
    assert icons["12.retrovue"] == []


def test_channels_and_programmes_come_in_channel_number_order():
    for number in ("10", "7.1", "2", "7"):
        fill(make_channel(number), START, 1)
    from scheduling.models import Channel

    tree = parse(render(Channel.objects.all(), hours=1))
    assert [element.get("id") for element in tree.iter("channel")] == [
        "2.retrovue",
        "7.retrovue",
        "7.1.retrovue",
        "10.retrovue",
    ]
    order = list(dict.fromkeys(element.get("channel") for element in tree.iter("programme")))
    assert order == ["2.retrovue", "7.retrovue", "7.1.retrovue", "10.retrovue"]


def test_programmes_cover_the_window_without_gaps_or_overlaps():
    channels = station()
    assert_contiguous(parse(render(channels)), START, START + timedelta(hours=3))


def test_holes_in_the_log_become_placeholders_named_for_the_channel():
    channel = make_channel("4", "Quiet Channel")
    program(channel, START + timedelta(minutes=30), 30, title="Lonely Show")
    tree = parse(render([channel], hours=2))
    listed = programmes(tree, "4.retrovue")
    assert [element.findtext("title") for element in listed] == [
        "Quiet Channel",
        "Lonely Show",
        "Quiet Channel",
    ]
    assert [element.get("start")[8:12] for element in listed] == ["1800", "1830", "1900"]
    assert_contiguous(tree, START, START + timedelta(hours=2))


def test_a_channel_with_no_programs_gets_one_placeholder_for_the_whole_window():
    channel = make_channel("5", "Nothing On")
    listed = programmes(parse(render([channel], hours=24)), "5.retrovue")
    assert len(listed) == 1
    assert (listed[0].get("start"), listed[0].get("stop")) == ("20261122180000 +0000", "20261123180000 +0000")


def test_placeholders_can_be_turned_off():
    channel = make_channel("5", "Nothing On")
    assert programmes(parse(render([channel], fill_gaps=False)), "5.retrovue") == []


def test_overlapping_rows_are_clipped_so_the_guide_stays_valid():
    channel = make_channel("6")
    program(channel, START, 60, title="Long")
    program(channel, START + timedelta(minutes=30), 60, title="Overlapping")
    program(channel, START + timedelta(minutes=35), 10, title="Swallowed")
    tree = parse(render([channel], hours=2))
    listed = programmes(tree, "6.retrovue")
    assert [element.findtext("title") for element in listed] == ["Long", "Overlapping", "Channel 6"]
    assert listed[1].get("start") == "20261122190000 +0000"
    assert_contiguous(tree, START, START + timedelta(hours=2))


def test_a_program_already_running_keeps_its_real_start():
    _, movies = station()
    first = programmes(parse(render([movies])), "12.retrovue")[0]
    assert first.get("start") == "20261122173000 +0000"


def test_times_are_utc_with_an_explicit_offset():
    channel = make_channel("8")
    eastern_evening = datetime.fromisoformat("2026-11-22T13:00:00-05:00")
    program(channel, eastern_evening, 30)
    listed = programmes(parse(render([channel], start=eastern_evening, hours=0.5)), "8.retrovue")
    assert (listed[0].get("start"), listed[0].get("stop")) == ("20261122180000 +0000", "20261122183000 +0000")


def test_episode_numbers_are_zero_based_in_xmltv_ns_and_one_based_on_screen():
    seven, _ = station()
    listed = programmes(parse(render([seven])), "7.retrovue")
    first, special = listed[0], listed[-1]
    assert first.find("episode-num[@system='xmltv_ns']").text == "0.0."
    assert first.find("episode-num[@system='onscreen']").text == "S01E01"
    assert listed[1].find("episode-num[@system='xmltv_ns']").text == "0.1."
    # A special (season 0): never "-1", and never "0" (that is season 1 in xmltv_ns).
    assert special.find("episode-num[@system='xmltv_ns']").text == ".2."
    assert special.find("episode-num[@system='onscreen']").text == "S00E03"


def test_xmltv_ns_edge_cases():
    assert xmltv_ns(3, 12) == "2.11."
    assert xmltv_ns(0, 1) == ".0."
    assert xmltv_ns(2, 0) == "1.."
    assert xmltv_ns(None, None) is None
    assert xmltv_ns(0, 0) is None


def test_movies_carry_no_episode_numbers():
    _, movies = station()
    first = programmes(parse(render([movies])), "12.retrovue")[0]
    assert first.findall("episode-num") == []
    assert first.findtext("category") == "Movie"


def test_reruns_are_previously_shown_and_premieres_are_new():
    seven, _ = station()
    listed = programmes(parse(render([seven])), "7.retrovue")
    assert listed[0].find("previously-shown") is not None and listed[0].find("new") is None
    assert listed[-1].find("new") is not None and listed[-1].find("previously-shown") is None


def test_ratings_name_their_system():
    seven, movies = station()
    tree = parse(render([seven, movies]))
    ratings = [
        (rating.get("system"), rating.findtext("value"))
        for element in tree.iter("programme")
        for rating in element.iter("rating")
    ]
    assert ("VCHIP", "TV-PG") in ratings
    assert ("VCHIP", "TV-G") in ratings
    assert ratings.count(("MPAA", "PG")) == 2  # "us/PG" is normalised


def test_text_is_escaped_and_forbidden_characters_dropped():
    seven, _ = station()
    seven.name = 'Kids & "Family" <TV>'
    document = render([seven])
    tree = parse(document)
    special = programmes(tree, "7.retrovue")[-1]
    assert special.findtext("title") == 'Tom & Jerry <Holiday> "Special"'
    assert special.findtext("sub-title") == 'A "Night" Before Christmas'
    assert special.findtext("desc") == "Cats & mice < dogs > birds."
    names = [name.text for name in tree.find("channel").iter("display-name")]
    assert names[0] == '7 Kids & "Family" <TV>'
    assert b"Tom &amp; Jerry &lt;Holiday&gt; &quot;Special&quot;" in document
    assert escape("a\x00b\x1fc\td") == "abc\td"


def test_programme_children_follow_the_dtd_order():
    seven, _ = station()
    dtd_order = ["title", "sub-title", "desc", "category", "episode-num", "previously-shown", "new", "rating"]
    for element in parse(render([seven])).iter("programme"):
        tags = [child.tag for child in element]
        assert tags == sorted(tags, key=dtd_order.index)


def test_render_reads_the_log_in_one_query(django_assert_num_queries):
    channels = [make_channel(str(number)) for number in range(1, 11)]
    for channel in channels:
        fill(channel, START, 24)
    with django_assert_num_queries(1):
        document = render(channels, hours=24)
    assert document.count(b"<programme ") == 10 * 48


def test_a_built_schedule_renders_as_a_valid_contiguous_guide(tmp_path):
    from datetime import time

    from scheduling.builder import build_channel
    from tests.scheduling.station import channel_with_slot, short_form_library, sitcom

    show, _ = sitcom()
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[show], start=time(18), end=time(20))
    day = datetime(2026, 11, 23, tzinfo=UTC)
    build_channel(channel, day, day + timedelta(days=1), fine_until=day + timedelta(hours=1))
    document = render_xmltv([channel], day, day + timedelta(days=1), BASE, fill_gaps=False)
    assert_contiguous(parse(document), day, day + timedelta(days=1))
    assert validate_with_xmltv_tools(document, tmp_path) == "Validated ok."


@override_settings(
    ALLOWED_HOSTS=["tv.example.com"],
    USE_X_FORWARDED_HOST=True,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
)
def test_xmltv_url_serves_enabled_channels_anonymously_for_a_week(client):
    from django.utils import timezone

    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    seven = make_channel("7", "Classic TV", logo="logos/seven.png")
    make_channel("9", "Hidden", enabled=False)
    fill(seven, hour, 2)
    response = client.get(
        "/iptv/xmltv.xml", HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_HOST="tv.example.com:8443"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    assert response["Cache-Control"] == "max-age=300"
    tree = parse(response.content)
    assert tree.get("generator-info-name") == "RetroVue"
    assert [element.get("id") for element in tree.iter("channel")] == ["7.retrovue"]
    assert tree.find("channel/icon").get("src") == "https://tv.example.com:8443/media/logos/seven.png"
    listed = programmes(tree, "7.retrovue")
    assert parse_time(listed[0].get("start")) == hour
    assert parse_time(listed[-1].get("stop")) == hour + timedelta(days=7)
    assert_contiguous(tree, hour, hour + timedelta(days=7))
