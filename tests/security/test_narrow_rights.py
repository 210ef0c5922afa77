"""Suite-wide: a staff account reaches only what its Django permissions allow, in the admin and the
API alike. The narrow account holds exactly "view channel"; every admin page and API operation
is enumerated (ModelAdmins from the admin site, custom pages from the URL resolver, operations
from the API's routers), so a new one is covered without anyone remembering to add it here.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.test import Client

from scheduling.models import Channel
from tests.security.conftest import NARROW_PERMISSION, grant
from tests.security.perimeter import (
    ADMIN_CUSTOM_VIEWS,
    ADMIN_SITE_VIEWS,
    MODEL_ADMIN_VIEW,
    api_operations,
    endpoints,
)

pytestmark = pytest.mark.django_db

ADMIN_ACTIONS = {"changelist": "view", "add": "add", "change": "view", "delete": "delete", "history": "view"}


ADMIN_PAGES = (
    ("changelist", ""),
    ("add", "add/"),
    ("change", "{pk}/change/"),
    ("delete", "{pk}/delete/"),
    ("history", "{pk}/history/"),
)


def _allowed(user, model, action: str) -> bool:
    opts = model._meta
    needed = ADMIN_ACTIONS[action]
    if needed == "view":
        return user.has_perm(f"{opts.app_label}.view_{opts.model_name}") or user.has_perm(
            f"{opts.app_label}.change_{opts.model_name}"
        )
    return user.has_perm(f"{opts.app_label}.{needed}_{opts.model_name}")


@pytest.fixture
def channel(db):
    return Channel.objects.create(number="7", name="Seven")


@pytest.fixture
def some_rows(channel, superuser):
    """Rows for the object pages to be about: a channel, users, tokens, a task run."""
    from retrovue.core.models import TaskRun

    TaskRun.objects.create(task_id="t-1", task_name="sync.plex")


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda model: model._meta.label_lower)
def test_admin_pages_follow_model_permissions(narrow_staff, some_rows, model):
    client = narrow_staff.client
    client.raise_request_exception = False
    opts = model._meta
    existing = model.objects.order_by("pk").values_list("pk", flat=True).first()
    wrong = []
    for action, suffix in ADMIN_PAGES:
        url = f"/admin/{opts.app_label}/{opts.model_name}/" + suffix.format(pk=existing or 1)
        for method in ("get", "post"):
            status = getattr(client, method)(url).status_code
            if existing is None and action in ("change", "delete", "history") and status == 302:
                continue  # Django says "no such object" before asking about permissions: nothing shown
            if _allowed(narrow_staff.user, model, action) and (method == "get" or action != "change"):
                expected = 200  # viewing; a POST to a list or history page only shows it again
            else:
                expected = 403
            if status != expected:
                wrong.append((method, url, status, expected))
    assert wrong == []


def test_the_narrow_account_sees_only_channels_on_the_admin_index(narrow_staff):
    page = narrow_staff.client.get("/admin/").content.decode()

    assert "/admin/scheduling/channel/" in page
    linked_models = set(re.findall(r'href="/admin/(\w+/\w+)/"', page))
    assert linked_models == {"scheduling/channel"}


def test_every_custom_admin_page_declares_its_permission():
    undeclared = [
        endpoint.key
        for endpoint in endpoints()
        if endpoint.key.startswith("admin:")
        and endpoint.key not in ADMIN_SITE_VIEWS
        and not MODEL_ADMIN_VIEW.match(endpoint.key)
        and endpoint.key not in ADMIN_CUSTOM_VIEWS
    ]
    assert undeclared == [], "declare the permission of these pages in tests/security/perimeter.py"


CUSTOM = [endpoint for endpoint in endpoints() if endpoint.key in ADMIN_CUSTOM_VIEWS]


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("endpoint", CUSTOM, ids=lambda endpoint: endpoint.key)
def test_custom_admin_pages_refuse_staff_without_their_permission(narrow_staff, endpoint, method):
    client = narrow_staff.client
    client.raise_request_exception = False

    response = getattr(client, method)(endpoint.url)

    assert response.status_code in (403, 404, 405), (endpoint.url, response.status_code)


@pytest.mark.parametrize("endpoint", CUSTOM, ids=lambda endpoint: endpoint.key)
def test_custom_admin_pages_admit_staff_once_granted(narrow_staff, endpoint):
    needed = ADMIN_CUSTOM_VIEWS[endpoint.key]
    user = grant(narrow_staff.user, *((needed,) if isinstance(needed, str) else needed))
    client = Client(raise_request_exception=False)
    client.force_login(user)

    response = client.get(endpoint.url)

    assert response.status_code != 403, endpoint.url
    assert response.status_code < 500, endpoint.url


API_OPERATIONS = [
    pytest.param(op.method, op.url, op.permissions, id=f"{op.method} {op.url}") for op in api_operations()
]


def test_every_api_operation_declares_its_permissions():
    assert len(API_OPERATIONS) > 40
    assert all(permissions is not None for _, _, permissions in (p.values for p in API_OPERATIONS))


def test_api_operations_follow_model_permissions(narrow_staff, channel):
    wrong = []
    for method, url, permissions in (param.values for param in API_OPERATIONS):
        status = narrow_staff.api(method, url.replace("/channels/1", f"/channels/{channel.pk}")).status_code
        allowed = set(permissions) <= {NARROW_PERMISSION}
        if (allowed and status in (401, 403, 500)) or (not allowed and status != 403):
            wrong.append((method, url, status, "allowed" if allowed else "refused"))
    assert wrong == []


def test_api_operations_admit_a_superuser(superuser):
    wrong = []
    for method, url, _ in (param.values for param in API_OPERATIONS):
        status = superuser.api(method, url).status_code
        if status in (401, 403, 500):
            wrong.append((method, url, status))
    assert wrong == []


def test_a_non_staff_account_has_no_usable_api_token(non_staff):
    from retrovue.core.models import ApiToken

    _, token = ApiToken.issue(non_staff.user, "should not work")
    response = Client().get("/api/scheduling/channels", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
