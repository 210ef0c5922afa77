"""API authentication: a staff session (the browser) or a bearer token (scripts)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuthIsStaff

from retrovue.core.models import ApiToken, hash_api_token


class StaffSession(SessionAuthIsStaff):
    """Django session of an active staff user; CSRF is enforced for unsafe methods."""


class StaffApiToken(HttpBearer):
    """`Authorization: Bearer rv_…` issued to a staff user; revoked or expired tokens fail."""

    def authenticate(self, request, token: str):
        if not token or not token.startswith(ApiToken.TOKEN_PREFIX):
            return None
        row = ApiToken.objects.select_related("user").filter(token_hash=hash_api_token(token)).first()
        if row is None or not row.is_usable:
            return None
        now = timezone.now()
        # Touch at most once a minute so a chatty script doesn't turn every read into a write.
        touch_after = timedelta(seconds=settings.RETROVUE_API_TOKEN_TOUCH_SECONDS)
        if row.last_used_at is None or now - row.last_used_at >= touch_after:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        return row.user


API_AUTH = [StaffApiToken(), StaffSession()]
