"""Who the security suite attacks as: nobody, a signed-in non-staff user, a staff user with one
narrow right, and a superuser, each with a browser client and (for staff) an API token.

Add a test beside these with the fixture for the caller you need; `perimeter.py` holds the
declarations (public endpoints, permissions of custom admin pages) the enumerating tests read.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from retrovue.core.models import ApiToken

PASSWORD = "a long enough password 1"
NARROW_PERMISSION = "scheduling.view_channel"


@dataclass
class Caller:
    """A user as an attacker would use them: a signed-in browser and, for staff, an API token."""

    user: object | None
    client: Client
    token: str | None = None

    def api(self, method: str, path: str, **extra):
        """The request through the API token (the browser session when there is none)."""
        if self.token:
            return getattr(Client(), method.lower())(path, HTTP_AUTHORIZATION=f"Bearer {self.token}", **extra)
        return getattr(self.client, method.lower())(path, **extra)


def _user(username: str, *, staff: bool, superuser: bool = False, permissions: tuple[str, ...] = ()):
    user = get_user_model().objects.create_user(
        username, password=PASSWORD, is_staff=staff, is_superuser=superuser
    )
    for label in permissions:
        app_label, codename = label.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return get_user_model().objects.get(pk=user.pk)  # fresh: no stale permission cache


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def anonymous(db) -> Caller:
    return Caller(user=None, client=Client())


@pytest.fixture
def non_staff(db) -> Caller:
    """A signed-in account without staff status (a viewer's account)."""
    user = _user("viewer", staff=False)
    return Caller(user=user, client=_signed_in(user))


@pytest.fixture
def narrow_staff(db) -> Caller:
    """Staff with exactly one permission, "view channel": the careless or curious colleague."""
    user = _user("narrow", staff=True, permissions=(NARROW_PERMISSION,))
    _, token = ApiToken.issue(user, "narrow script")
    return Caller(user=user, client=_signed_in(user), token=token)


@pytest.fixture
def superuser(db) -> Caller:
    user = _user("root", staff=True, superuser=True)
    _, token = ApiToken.issue(user, "root script")
    return Caller(user=user, client=_signed_in(user), token=token)


def grant(user, *labels: str):
    """Give `user` more permissions and return a fresh copy (Django caches permissions per instance)."""
    for label in labels:
        app_label, codename = label.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return get_user_model().objects.get(pk=user.pk)
