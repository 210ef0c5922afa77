"""CAP 1.2 as real senders write it: parsing, the alerts it issues, updates, cancels and refusals."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from alerts.cap import CapError, index_links, parse_cap
from alerts.cap_import import import_cap
from alerts.choices import Origin, Targeting
from alerts.interrupts import AlertInterrupts
from alerts.models import Alert, CapDocument, CapFeed, CapPriorityRule, ChannelAlertSettings
from scheduling.models import Channel

DOCUMENTS = Path(__file__).parent / "cap"
DURING_THE_WARNING = datetime(2026, 12, 5, 10, 45, tzinfo=UTC)
Outcome = CapDocument.Outcome


def _read(name: str) -> bytes:
    return (DOCUMENTS / name).read_bytes()


def test_an_nws_warning_parses_with_its_areas_geocodes_and_paragraphs():
    cap = parse_cap(_read("nws_tornado_warning.xml"))

    assert cap.identifier == "urn:oid:2.49.0.1.840.0.4f3a7c9e1b2d.001.1"
    assert cap.sent == datetime(2026, 12, 5, 10, 40, tzinfo=UTC)
    assert (cap.status, cap.msg_type, cap.scope) == ("Actual", "Alert", "Public")
    info = cap.infos[0]
    assert (info.urgency, info.severity, info.certainty) == ("Immediate", "Extreme", "Observed")
    assert info.event_code("SAME") == "TOR"
    assert info.expires == datetime(2026, 12, 5, 11, 15, tzinfo=UTC)
    assert [area.description for area in info.areas] == ["New York, NY", "Kings, NY"]
    assert ("SAME", "036061") in info.areas[0].geocodes and info.areas[0].polygons
    assert info.description.splitlines()[0].startswith("At 540 AM EST, a confirmed tornado")
    assert "  " not in info.description


def test_a_prefixed_bilingual_alert_picks_the_english_block():
    cap = parse_cap(_read("canada_bilingual_prefixed.xml"))

    assert [info.language for info in cap.infos] == ["fr-CA", "en-CA"]
    assert cap.info_for(("en",)).headline == "winter storm warning in effect"
    assert cap.info_for(("fr",)).description == "Jusqu'à 30 cm de neige & des vents forts."


def test_an_edxl_envelope_and_cap_1_1_with_z_dates_are_read():
    cap = parse_cap(_read("edxl_wrapped_expired.xml"))
    assert cap.identifier == "FLOOD-2020-1" and cap.sent == datetime(2020, 5, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"<alert><identifier>x</identifier>", "Not well-formed XML"),
        (b"<rss/>", "No CAP <alert>"),
        (
            b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><alert>&b;</alert>',
            "Refused XML",
        ),
        (
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><sender>s</sender><sent>2026-12-05T10:00:00-00:00'
            b"</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope></alert>",
            "no <identifier>",
        ),
        (
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>i</identifier><sender>s</sender>'
            b"<sent>2026-12-05T10:00:00-00:00</sent><status>Real</status><msgType>Alert</msgType>"
            b"<scope>Public</scope></alert>",
            "<status> 'Real' is not one of",
        ),
        (
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>i</identifier><sender>s</sender>'
            b"<sent>yesterday</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope></alert>",
            "<sent> 'yesterday' is not a CAP date",
        ),
        (b'<alert xmlns="urn:example:other"><identifier>i</identifier></alert>', "not CAP's"),
    ],
)
def test_malformed_documents_are_rejected_with_a_clear_reason(document, reason):
    with pytest.raises(CapError, match=reason.replace("(", r"\(").replace("[", r"\[")):
        parse_cap(document)


@pytest.mark.django_db
def test_a_malformed_document_is_recorded_as_rejected_and_changes_nothing():
    Alert.objects.create(headline="Existing", sender="staff")

    record = import_cap(b"<alert><oops></alert>")

    assert record.outcome == Outcome.REJECTED and "Not well-formed XML" in record.reason
    assert Alert.objects.count() == 1


@pytest.mark.django_db
def test_an_nws_warning_becomes_an_alert_for_the_channels_covering_its_counties():
    manhattan = Channel.objects.create(number="2", name="Manhattan")
    elsewhere = Channel.objects.create(number="4", name="Elsewhere")
    ChannelAlertSettings.objects.create(channel=manhattan, area_codes="036061")
    ChannelAlertSettings.objects.create(channel=elsewhere, area_codes="048201")

    record = import_cap(_read("nws_tornado_warning.xml"), now=DURING_THE_WARNING)

    assert record.outcome == Outcome.AIRED, record.reason
    alert = record.alert
    assert alert.origin == Origin.CAP and alert.targeting == Targeting.AREAS
    assert alert.area_codes == "036061 NYC061 036047 NYC047"
    assert alert.same_event_code == "TOR" and alert.priority == 100  # Extreme 90 + Immediate 8 + Observed 2
    assert alert.ends_at == datetime(2026, 12, 5, 11, 15, tzinfo=UTC)
    assert alert.instruction.startswith("TAKE COVER NOW!")
    source = AlertInterrupts(snapshot_seconds=0, clock=lambda: DURING_THE_WARNING)
    assert source._on_air(source.snapshot(), manhattan.pk, DURING_THE_WARNING) is not None
    assert source._on_air(source.snapshot(), elsewhere.pk, DURING_THE_WARNING) is None


@pytest.mark.django_db
def test_duplicates_are_ignored():
    import_cap(_read("nws_tornado_warning.xml"), now=DURING_THE_WARNING)

    again = import_cap(_read("nws_tornado_warning.xml"), now=DURING_THE_WARNING)

    assert again.outcome == Outcome.DUPLICATE and Alert.objects.count() == 1


@pytest.mark.django_db
def test_an_update_replaces_and_a_cancel_ends():
    first = import_cap(_read("nws_tornado_warning.xml"), now=DURING_THE_WARNING).alert

    update = import_cap(_read("nws_tornado_update.xml"), now=DURING_THE_WARNING)

    first.refresh_from_db()
    assert update.outcome == Outcome.UPDATED and first.cleared_at == DURING_THE_WARNING
    assert update.alert.area_codes == "036047" and update.alert.same_event_code == "SVS"
    assert update.alert.cleared_at is None

    cancel = import_cap(_read("nws_tornado_cancel.xml"), now=DURING_THE_WARNING)

    assert cancel.outcome == Outcome.CANCELLED and cancel.alert is None
    assert not Alert.objects.filter(cleared_at__isnull=True).exists()


@pytest.mark.django_db
def test_test_messages_are_issued_but_air_only_where_a_channel_opted_in():
    quiet = Channel.objects.create(number="2", name="Quiet")
    willing = Channel.objects.create(number="3", name="Willing")
    ChannelAlertSettings.objects.create(channel=quiet, area_codes="036061")
    ChannelAlertSettings.objects.create(channel=willing, area_codes="036061", airs_test_messages=True)

    record = import_cap(_read("required_monthly_test.xml"), now=DURING_THE_WARNING)

    assert record.outcome == Outcome.AIRED and record.alert.status == "Test"
    moment = datetime(2026, 12, 5, 11, 30, tzinfo=UTC)
    source = AlertInterrupts(snapshot_seconds=0, clock=lambda: moment)
    assert source._on_air(source.snapshot(), quiet.pk, moment) is None
    assert source._on_air(source.snapshot(), willing.pk, moment) is not None


@pytest.mark.django_db
def test_an_expired_alert_never_airs():
    record = import_cap(_read("edxl_wrapped_expired.xml"))

    assert record.outcome == Outcome.IGNORED and "Expired" in record.reason
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_an_alert_without_usable_geocodes_targets_the_feeds_areas():
    feed = CapFeed.objects.create(name="Canada", url="https://example.org/cap", area_codes="036061")

    record = import_cap(_read("canada_bilingual_prefixed.xml"), feed=feed)

    assert record.alert.headline == "winter storm warning in effect"
    assert record.alert.targeting == Targeting.AREAS and record.alert.area_codes == "036061"
    assert record.feed == feed


@pytest.mark.django_db
def test_staff_rules_set_the_priority_the_most_specific_winning():
    CapPriorityRule.objects.create(severity="Extreme", priority=60)
    CapPriorityRule.objects.create(severity="Extreme", urgency="Immediate", priority=75)

    record = import_cap(_read("nws_tornado_warning.xml"), now=DURING_THE_WARNING)

    assert record.alert.priority == 75


def test_index_feeds_list_their_cap_documents():
    atom = index_links(_read("nws_active_index.atom"), "application/atom+xml")
    assert atom == [
        "https://api.weather.gov/alerts/urn:oid:2.49.0.1.840.0.4f3a7c9e1b2d.001.1",
        "https://alerts.example.org/cap/42.xml",
    ]
    nws_json = index_links(_read("nws_active_index.json"), "application/geo+json")
    assert nws_json == ["https://api.weather.gov/alerts/urn:oid:2.49.0.1.840.0.4f3a7c9e1b2d.001.1"]
