"""Nothing in the admin or the API is reachable anonymously; staff get through by session or token."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from retrovue.core.models import ApiToken, hash_api_token

pytestmark = pytest.mark.django_db

API_PATHS = [
    "/api/",
    "/api/catalog/sources",
    "/api/catalog/shows",
    "/api/catalog/episodes",
    "/api/catalog/movies",
    "/api/catalog/short-form",
    "/api/catalog/media-files",
    "/api/catalog/sync-runs",
    "/api/system/task-runs",
]


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/catalog/episode/", "/admin/core/taskrun/", "/api/docs", "/api/openapi.json"]
)
def test_anonymous_browser_is_sent_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("path", API_PATHS)
def test_anonymous_api_request_gets_401(client, path):
    assert client.get(path).status_code == 401


@pytest.mark.parametrize("path", API_PATHS)
def test_staff_session_reaches_the_api(staff_client, path):
    assert staff_client.get(path).status_code == 200


def test_staff_session_reaches_admin_and_docs(staff_client):
    assert staff_client.get("/admin/").status_code == 200
    assert staff_client.get("/api/docs").status_code == 200


def test_logged_in_non_staff_user_is_refused():
    user = get_user_model().objects.create_user("viewer", password="pw-viewer-123")
    client = Client()
    client.force_login(user)
    assert client.get("/api/catalog/shows").status_code == 401
    assert client.get("/admin/").status_code == 302


def test_login_form_admits_staff_with_password(staff_user):
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "staff", "password": "correct horse battery", "next": "/admin/"},
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_bearer_token_reaches_the_api(staff_user, client):
    _, token = ApiToken.issue(staff_user, "script")
    response = client.get("/api/catalog/shows", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert client.get("/api/", HTTP_AUTHORIZATION=f"Bearer {token}").json()["user"] == "staff"


def test_only_the_hash_of_an_api_token_is_stored(staff_user):
    row, token = ApiToken.issue(staff_user, "script")
    row.refresh_from_db()
    assert row.token_hash == hash_api_token(token)
    assert token not in (row.token_hash, row.token_hint)
    assert token.startswith(row.token_hint)


def test_wrong_revoked_or_expired_tokens_are_refused(staff_user, client):
    revoked, revoked_token = ApiToken.issue(staff_user, "old")
    revoked.revoked = True
    revoked.save()
    _, expired_token = ApiToken.issue(staff_user, "temp", expires_at=timezone.now() - timedelta(minutes=1))
    for token in ("rv_not-a-real-token", revoked_token, expired_token, "garbage"):
        assert client.get("/api/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_token_of_a_user_who_lost_staff_status_stops_working(staff_user, client):
    _, token = ApiToken.issue(staff_user, "script")
    staff_user.is_staff = False
    staff_user.save()
    assert client.get("/api/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_token_use_is_recorded(staff_user, client):
    row, token = ApiToken.issue(staff_user, "script")
    client.get("/api/", HTTP_AUTHORIZATION=f"Bearer {token}")
    row.refresh_from_db()
    assert row.last_used_at is not None


def test_healthz_answers_anonymously_and_reveals_nothing(client):
    response = client.get("/healthz?check=database")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert [(check["name"], check["detail"]) for check in body["checks"]] == [("database", "reachable")]
