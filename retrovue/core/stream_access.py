"""Who may watch: stream tokens for the viewer-facing outputs (M3U, XMLTV, HLS, MPEG-TS).

With `RETROVUE_REQUIRE_STREAM_TOKEN` off (the default: a LAN station) everything viewer-facing is
anonymous. Turned on, each request must carry a valid, unrevoked StreamToken (of an active user,
when it belongs to one) as `?token=`; the M3U and the HLS playlist hand the same token on to every
URL they list, because players drop query strings they were not given. The guide page stays open
(it lists programmes, not streams). HDHomeRun clients keep no query string, so the tuner is also
reachable under `/hdhr/<token>/` (see playout.hdhomerun); an open stream re-checks its viewer.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.http import HttpResponseForbidden
from django.utils import timezone

from retrovue.core.models import StreamToken, hash_api_token

TOUCH_EVERY = timedelta(minutes=1)


def tokens_required() -> bool:
    return bool(getattr(settings, "RETROVUE_REQUIRE_STREAM_TOKEN", False))


def valid_token(token: str | None) -> bool:
    if not token or not token.startswith(StreamToken.TOKEN_PREFIX):
        return False
    row = (
        StreamToken.objects.filter(token_hash=hash_api_token(token), revoked=False)
        # A token that belongs to a user dies with the account (deactivated or deleted).
        .filter(Q(user__isnull=True) | Q(user__is_active=True))
        .only("pk", "last_used_at")
        .first()
    )
    if row is None:
        return False
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        StreamToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return True


def request_token(request) -> str | None:
    """The stream token a request carries: `?token=`, or the path segment of a tuner URL
    (`/hdhr/<token>/…`, for HDHomeRun clients that cannot keep a query string)."""
    return request.GET.get("token") or getattr(request, "stream_token", None)


def refuse_without_token(request) -> HttpResponseForbidden | None:
    """None when the request may go on; a 403 explaining why otherwise."""
    if not tokens_required() or valid_token(request_token(request)):
        return None
    return HttpResponseForbidden(
        "This station requires a stream token: add ?token=… from Admin → System → Stream tokens.",
        content_type="text/plain; charset=utf-8",
    )


def viewer_recheck(request, channel):
    """What an open stream asks every so often: may this viewer still watch this channel?

    The channel must still be enabled, and with tokens required the request's token must still be
    valid (not revoked, its user still active).
    """
    token = request_token(request)
    model = type(channel)

    def still_allowed() -> bool:
        if not model.objects.filter(pk=channel.pk, enabled=True).exists():
            return False
        return not tokens_required() or valid_token(token)

    return still_allowed
