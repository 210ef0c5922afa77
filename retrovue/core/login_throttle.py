"""Sign-in throttling (django-axes), per account and per address, without locking the real user out.

Each failed sign-in is recorded (a row in *Axes → Access attempts* and a log line with the
address), and after `RETROVUE_LOGIN_FAILURE_LIMIT` failures within `RETROVUE_LOGIN_COOLOFF_MINUTES`:

* per address: that address may not try any account until the cool-off ends;
* per account: nobody may try that account, except from a browser that has signed in to it
  before: a "known device" cookie (signed, HttpOnly, set at each successful sign-in) takes the
  account's own count out of the reckoning for that browser (OWASP's device-cookie defence), so a
  guessing attack spread over many addresses cannot keep the real user out of the admin.

A refused attempt is answered before the password is checked, so it costs a few queries instead
of a password hash (bench/login_throttle.py measures both).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core import signing
from django.dispatch import receiver
from django.http import HttpRequest

DEVICE_COOKIE = "rv_known_device"
DEVICE_SALT = "retrovue.login.known-device"
DEVICE_MAX_AGE = 365 * 24 * 3600


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: nginx's X-Real-IP (it overwrites whatever the client sent) when the
    station runs behind it, else the connection's address. Never X-Forwarded-For, which a client
    writes itself."""
    if getattr(settings, "BEHIND_PROXY", False) and request.META.get("HTTP_X_REAL_IP"):
        return request.META["HTTP_X_REAL_IP"]
    return request.META.get("REMOTE_ADDR")


def known_device_user(request: HttpRequest) -> str | None:
    """The username this browser signed in as before, from its known-device cookie."""
    value = request.COOKIES.get(DEVICE_COOKIE)
    if not value:
        return None
    try:
        return signing.loads(value, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)
    except signing.BadSignature:
        return None


def lockout_parameters(request_or_attempt, credentials=None) -> list:
    """axes' AXES_LOCKOUT_PARAMETERS: what failures are counted against (the largest count wins)."""
    if not isinstance(request_or_attempt, HttpRequest):
        return ["ip_address", "username"]
    username = (credentials or {}).get("username") or request_or_attempt.POST.get("username")
    if username and known_device_user(request_or_attempt) == username:
        return ["ip_address"]
    return ["ip_address", "username"]


@receiver(user_logged_in)
def remember_device(sender, request, user, **kwargs):
    if request is not None:
        request.retrovue_known_device = user.get_username()


class KnownDeviceMiddleware:
    """Sets the known-device cookie on the response to a successful sign-in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        username = getattr(request, "retrovue_known_device", None)
        if username:
            response.set_cookie(
                DEVICE_COOKIE,
                signing.dumps(username, salt=DEVICE_SALT),
                max_age=DEVICE_MAX_AGE,
                path="/admin/",
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Strict",
            )
        return response
