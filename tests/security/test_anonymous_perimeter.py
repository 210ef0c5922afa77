"""Suite-wide: every URL pattern, requested by a stranger (GET and POST, CSRF checks off so the view
itself answers), is refused unless it is one of the declared public endpoints (perimeter.PUBLIC).

The patterns come from Django's URL resolver, so a URL added tomorrow is covered tomorrow.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import resolve

from tests.security.perimeter import PUBLIC, SECRET_IN_PATH, api_operations, endpoints, is_public

pytestmark = pytest.mark.django_db

ALL = endpoints()
REFUSED = {401, 403, 404, 405}


def refused(response) -> bool:
    if response.status_code in REFUSED:
        return True
    return response.status_code == 302 and "/admin/login/" in response["Location"]


def test_every_pattern_gets_a_url_that_resolves_to_it():
    assert len(ALL) > 100
    for endpoint in ALL:
        match = resolve(endpoint.url.split("?")[0])
        assert match.route == endpoint.route or match.func == endpoint.pattern.callback, endpoint


def test_every_public_declaration_still_names_a_url():
    keys = {endpoint.key for endpoint in ALL}
    routes = [endpoint.route.lstrip("^") for endpoint in ALL]
    for declared in [*PUBLIC, *SECRET_IN_PATH]:
        assert declared in keys or any(route.startswith(declared) for route in routes), declared


@pytest.mark.parametrize("endpoint", [e for e in ALL if not is_public(e)], ids=lambda e: e.key)
def test_a_stranger_is_refused_everywhere_else(anonymous, endpoint):
    client = Client(raise_request_exception=False)
    for method in ("get", "post"):
        response = getattr(client, method)(endpoint.url)

        assert refused(response), (method, endpoint.url, response.status_code, response.get("Location"))


def test_a_signed_in_non_staff_account_is_refused_everywhere_a_stranger_is(non_staff):
    # The same walk as above with a viewer's session: an account without staff status is no
    # closer to the admin, the API or /metrics than nobody.
    non_staff.client.raise_request_exception = False
    wrong = []
    for endpoint in ALL:
        if is_public(endpoint):
            continue
        for method in ("get", "post"):
            response = getattr(non_staff.client, method)(endpoint.url)
            if not refused(response):
                wrong.append((method, endpoint.url, response.status_code))
    assert wrong == []


@pytest.mark.parametrize("endpoint", [e for e in ALL if is_public(e)], ids=lambda e: e.key)
def test_public_endpoints_never_fail_a_stranger(anonymous, endpoint):
    client = Client(raise_request_exception=False)
    for method in ("get", "post"):
        response = getattr(client, method)(endpoint.url)

        # 503 is healthz saying "not ready"; a 500 would be a crash.
        assert response.status_code != 500, (method, endpoint.url)


@pytest.mark.parametrize("operation", api_operations(), ids=lambda op: f"{op.method} {op.url}")
def test_a_stranger_gets_401_from_every_api_operation_with_its_own_method(anonymous, operation):
    # The resolver-wide test above asks with GET and POST, which a PATCH or DELETE route answers
    # with 405 before authentication: here each operation is asked the way it is meant to be.
    response = Client(raise_request_exception=False).generic(
        operation.method, operation.url, data=b"{}", content_type="application/json"
    )

    assert response.status_code == 401, (operation.method, operation.url, response.status_code)


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "path", ["/admin/", "/api/", "/api/openapi.json", "/metrics", "/api/system/task-runs"]
)
def test_a_signed_in_non_staff_account_is_a_stranger_too(non_staff, path, method):
    response = getattr(non_staff.client, method)(path)

    assert refused(response), (path, response.status_code)
