"""Django's model permissions, enforced on every API operation the way the admin enforces them.

Each operation declares what it needs with `@requires("app.view_model", …)` (all of them, like
`User.has_perms`); `@requires()` means "any signed-in staff user". The API root applies
`refuse_before_parsing` and `enforce_declared_permissions` to every operation of every router, so the check lives in one
place, and an operation that declares nothing stops the API from loading instead of opening up:

    @router.get("/sources", response=list[SourceOut])
    @paginate(PageNumberPagination, page_size=50)
    @requires("catalog.view_mediasource")
    def list_sources(request): ...

The check runs right after authentication (a staff session or a staff API token), before the
request body is parsed, and answers 403 with the missing permission named. Handlers that decide more finely (change vs view of one row) still
call `request.user.has_perm` themselves; the declaration is the floor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from ninja.errors import HttpError
from pydantic import BaseModel

PERMISSIONS_ATTRIBUTE = "retrovue_required_permissions"


def requires(*permissions: str) -> Callable:
    """Declare the Django permissions (`app_label.codename`) an API operation needs."""
    for permission in permissions:
        if permission.count(".") != 1:
            raise ImproperlyConfigured(f"{permission!r} is not an app_label.codename permission")

    def mark(view_func: Callable) -> Callable:
        setattr(view_func, PERMISSIONS_ATTRIBUTE, tuple(permissions))
        return view_func

    return mark


def declared_permissions(view_func: Callable) -> tuple[str, ...] | None:
    """What `@requires` declared on an operation's function (through any functools.wraps layers)."""
    function = view_func
    while function is not None:
        found = getattr(function, PERMISSIONS_ATTRIBUTE, None)
        if found is not None:
            return found
        function = getattr(function, "__wrapped__", None)
    return None


def enforce_declared_permissions(view_func: Callable) -> Callable:
    """The API-wide decorator (`api.add_decorator`, operation mode): an operation that declares
    nothing stops the API loading; ids beyond 64 bits are refused before any query."""
    if declared_permissions(view_func) is None:
        raise ImproperlyConfigured(
            f"API operation {view_func.__module__}.{view_func.__qualname__} declares no permission: "
            "decorate it with @requires(...) from retrovue.core.api_permissions"
        )

    @functools.wraps(view_func)
    def checked(request, *args, **kwargs):
        if any(_beyond_64_bits(value) for value in kwargs.values()):
            raise HttpError(400, "A number in the request is out of range.")
        return view_func(request, *args, **kwargs)

    return checked


def refuse_before_parsing(run: Callable) -> Callable:
    """The API-wide decorator in view mode (`api.add_decorator(..., mode="view")`): the permission
    check joins the operation's authentication, so a user without the permission gets 403 before
    the request body is parsed (a malformed body must not tell them more than "no")."""
    operation = getattr(run, "__self__", None)
    if operation is None or not hasattr(operation, "auth_callbacks"):
        raise ImproperlyConfigured("refuse_before_parsing must be the API's only view-mode decorator")
    permissions = declared_permissions(operation.view_func) or ()
    operation.auth_callbacks = [_then_require(callback, permissions) for callback in operation.auth_callbacks]
    return run


def _then_require(authenticate: Callable, permissions: tuple[str, ...]) -> Callable:
    def authenticate_then_check(request):
        result = authenticate(request)
        if result:
            missing = [permission for permission in permissions if not request.user.has_perm(permission)]
            if missing:
                raise HttpError(403, f"You need the permission {', '.join(missing)} for this.")
        return result

    return authenticate_then_check


INT64 = range(-(2**63), 2**63)


def _beyond_64_bits(value) -> bool:
    """An id or filter no database row can have: SQLite cannot even bind it, and the error would
    surface only while the response is serialised, as a 500."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value not in INT64
    if isinstance(value, BaseModel):
        return any(_beyond_64_bits(getattr(value, name)) for name in type(value).model_fields)
    if isinstance(value, list | tuple):
        return any(_beyond_64_bits(item) for item in value)
    return False
