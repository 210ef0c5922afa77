"""Staff notices: raised once, counted while open, cleared when the condition goes away, shown on
every admin page until acknowledged."""

from __future__ import annotations

import pytest

from retrovue.core.models import StaffNotice
from retrovue.core.notices import clear_notice, raise_notice

pytestmark = pytest.mark.django_db


def test_raising_an_open_notice_again_counts_it_and_mails_once(settings, mailoutbox):
    settings.ADMINS = [("Ops", "ops@example.com")]
    raise_notice("playout:channel:1:crash-loop", "Channel 3 is crash-looping", "exit 1")
    raise_notice("playout:channel:1:crash-loop", "Channel 3 is crash-looping", "exit 137")

    notice = StaffNotice.objects.get()
    assert (notice.occurrences, notice.message) == (2, "exit 137")
    assert [mail.subject for mail in mailoutbox] == [
        f"{settings.EMAIL_SUBJECT_PREFIX}Channel 3 is crash-looping"
    ]


def test_a_cleared_notice_raised_again_is_a_new_one(settings, mailoutbox):
    settings.ADMINS = [("Ops", "ops@example.com")]
    raise_notice("k", "First loop")
    assert clear_notice("k") == 1
    raise_notice("k", "Second loop")

    assert StaffNotice.objects.count() == 2
    assert StaffNotice.objects.filter(cleared_at__isnull=True).get().title == "Second loop"
    assert len(mailoutbox) == 2


def test_no_admins_means_no_mail_but_the_notice_stands(settings, mailoutbox):
    settings.ADMINS = []
    raise_notice("k", "Source needs sign-in")
    assert StaffNotice.objects.filter(title="Source needs sign-in").exists() and mailoutbox == []


def test_a_failing_mail_server_does_not_break_the_caller(settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    assert raise_notice("k", "Channel 5 is crash-looping").pk


def test_open_notices_show_on_admin_pages_until_acknowledged(admin_client):
    raise_notice("k", "Channel 9 is crash-looping")
    page = admin_client.get("/admin/")
    assert b"Channel 9 is crash-looping" in page.content

    notice = StaffNotice.objects.get()
    admin_client.post(
        "/admin/core/staffnotice/", {"action": "acknowledge", "_selected_action": [notice.pk]}, follow=True
    )
    assert StaffNotice.objects.get().acknowledged_at is not None
    assert b"Channel 9 is crash-looping" not in admin_client.get("/admin/").content


def test_the_banner_is_not_shown_to_anonymous_visitors(client):
    raise_notice("k", "Channel 9 is crash-looping")
    assert b"crash-looping" not in client.get("/admin/login/").content
