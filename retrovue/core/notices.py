"""Raising and clearing staff notices from background processes (see `StaffNotice`).

A new notice is logged at ERROR and, when `ADMINS` is configured, e-mailed once; repeats of an
open notice only count. Failing to send mail never breaks the caller: the notice row and the
admin banner still tell staff.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import mail_admins
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from retrovue.core.models import NoticeLevel, StaffNotice

logger = logging.getLogger(__name__)


def raise_notice(key: str, title: str, message: str = "", level: str = NoticeLevel.ERROR) -> StaffNotice:
    """Open a notice for `key`, or count another occurrence of the open one."""
    now = timezone.now()
    updated = StaffNotice.objects.filter(key=key, cleared_at__isnull=True).update(
        occurrences=F("occurrences") + 1, last_raised_at=now, message=message, title=title
    )
    if updated:
        return StaffNotice.objects.get(key=key, cleared_at__isnull=True)
    try:
        with transaction.atomic():
            notice = StaffNotice.objects.create(
                key=key, title=title, message=message, level=level, raised_at=now, last_raised_at=now
            )
    except IntegrityError:  # another process opened it a moment ago
        return raise_notice(key, title, message, level)
    logger.error("Staff notice: %s. %s", title, message)
    _mail(notice)
    return notice


def clear_notice(key: str) -> int:
    """Close the open notice for `key`, if any (the condition it reported went away)."""
    return StaffNotice.objects.filter(key=key, cleared_at__isnull=True).update(cleared_at=timezone.now())


def open_notices():
    return StaffNotice.objects.filter(cleared_at__isnull=True, acknowledged_at__isnull=True)


def _mail(notice: StaffNotice) -> None:
    if not settings.ADMINS:
        return
    try:
        mail_admins(notice.title, f"{notice.message}\n\nRaised at {notice.raised_at:%Y-%m-%d %H:%M:%S %Z}.")
    except Exception as error:
        logger.warning("Could not e-mail staff notice %r: %s", notice.title, error)
