"""Finding 4: API tokens are issued for oneself, and the API enforces model permissions like the admin.

A staff user allowed to add API tokens used to mint one for the superuser; any staff token read
`/api/catalog/sources/<id>`, `/api/system/task-runs` and `/metrics`.
"""

from __future__ import annotations

import pytest

from retrovue.core.models import ApiToken, TaskRun
from tests.factories import PlexSourceFactory
from tests.security.conftest import grant

pytestmark = pytest.mark.django_db

TOKEN_PERMISSIONS = ("core.add_apitoken", "core.view_apitoken", "core.change_apitoken")


def _add_token_form(caller, **fields):
    data = {"name": "mine", "expires_at_0": "", "expires_at_1": "", **fields}
    return caller.client.post("/admin/core/apitoken/add/", data)


def test_staff_user_cannot_issue_a_token_for_the_superuser(narrow_staff, superuser):
    narrow_staff.client.force_login(grant(narrow_staff.user, *TOKEN_PERMISSIONS))

    response = _add_token_form(narrow_staff, user=str(superuser.user.pk), name="escalation")

    assert response.status_code == 302, response.content[:500]
    token = ApiToken.objects.get(name="escalation")
    assert token.user == narrow_staff.user
    assert token.issued_by == narrow_staff.user
    assert not ApiToken.objects.filter(user=superuser.user).exclude(name="root script").exists()


def test_a_token_never_changes_hands_through_its_change_form(narrow_staff, superuser):
    narrow_staff.client.force_login(grant(narrow_staff.user, *TOKEN_PERMISSIONS))
    row = ApiToken.objects.get(user=narrow_staff.user)

    narrow_staff.client.post(
        f"/admin/core/apitoken/{row.pk}/change/",
        {"user": str(superuser.user.pk), "name": "renamed", "expires_at_0": "", "expires_at_1": ""},
    )

    row.refresh_from_db()
    assert row.user == narrow_staff.user
    assert row.name == "renamed"


def test_staff_user_sees_and_edits_only_their_own_tokens(narrow_staff, superuser):
    narrow_staff.client.force_login(grant(narrow_staff.user, *TOKEN_PERMISSIONS))
    theirs = ApiToken.objects.get(user=superuser.user)

    listing = narrow_staff.client.get("/admin/core/apitoken/")
    assert b"narrow script" in listing.content
    assert b"root script" not in listing.content
    assert narrow_staff.client.get(f"/admin/core/apitoken/{theirs.pk}/change/").status_code in (302, 404)
    narrow_staff.client.post(f"/admin/core/apitoken/{theirs.pk}/change/", {"name": "x", "revoked": "on"})
    theirs.refresh_from_db()
    assert not theirs.revoked


def test_a_revoked_token_cannot_be_revived(narrow_staff):
    narrow_staff.client.force_login(grant(narrow_staff.user, *TOKEN_PERMISSIONS))
    row = ApiToken.objects.get(user=narrow_staff.user)
    ApiToken.objects.filter(pk=row.pk).update(revoked=True)

    narrow_staff.client.post(
        f"/admin/core/apitoken/{row.pk}/change/",
        {"user": str(narrow_staff.user.pk), "name": row.name, "expires_at_0": "", "expires_at_1": ""},
    )  # the "revoked" box left unticked

    row.refresh_from_db()
    assert row.revoked


def test_superuser_may_issue_a_token_for_someone_else_and_it_is_recorded(superuser, narrow_staff):
    response = _add_token_form(superuser, user=str(narrow_staff.user.pk), name="for narrow")

    assert response.status_code == 302
    token = ApiToken.objects.get(name="for narrow")
    assert token.user == narrow_staff.user
    assert token.issued_by == superuser.user


@pytest.mark.parametrize(
    "path",
    ["/api/catalog/sources/{source}", "/api/catalog/sources", "/api/system/task-runs", "/api/catalog/shows"],
)
def test_api_refuses_a_staff_token_without_the_model_permission(narrow_staff, path):
    source = PlexSourceFactory()
    TaskRun.objects.create(task_id="t1", task_name="sync.plex")

    response = narrow_staff.api("get", path.format(source=source.pk))

    assert response.status_code == 403
    assert b"view_" in response.content  # the refusal names what is missing


def test_api_admits_the_same_token_once_the_permission_is_granted(narrow_staff):
    source = PlexSourceFactory()
    grant(narrow_staff.user, "catalog.view_mediasource")

    response = narrow_staff.api("get", f"/api/catalog/sources/{source.pk}")

    assert response.status_code == 200
    assert "token" not in response.json()


def test_connection_check_needs_change_permission_too(narrow_staff):
    source = PlexSourceFactory()
    grant(narrow_staff.user, "catalog.view_mediasource")

    response = narrow_staff.api("post", f"/api/catalog/sources/{source.pk}/test-connection")

    assert response.status_code == 403


def test_metrics_need_their_own_permission_not_just_staff(narrow_staff):
    assert narrow_staff.api("get", "/metrics").status_code == 403
    assert narrow_staff.client.get("/metrics").status_code == 403

    grant(narrow_staff.user, "core.view_metrics")

    assert narrow_staff.api("get", "/metrics").status_code == 200


def test_metrics_still_ask_anonymous_callers_to_authenticate(anonymous):
    response = anonymous.client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
