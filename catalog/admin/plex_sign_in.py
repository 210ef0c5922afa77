"""Admin pages for Plex sign-in: "Add Plex server", the PIN page, choosing a server, "Test connection".

Flow: "Add Plex server" (or "Sign in again" on a source) asks plex.tv for a PIN and shows its code
with the app.plex.tv link; the page polls a small JSON view, which asks plex.tv once per poll
whether the code was approved. Once it was, the next page lists the account's servers (each
connection: local, remote, relay) and the servers GDM finds on the LAN; choosing one creates or
updates the Plex source with that server's own access token. Tokens never reach a page, a form
field or a JSON answer: the choice is re-resolved on the server when the form comes back.

Every view is staff-only (admin_view) and needs the "change media source" permission.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from catalog.choices import SignInState, SourceKind
from catalog.models import MediaSource, PlexDevice, PlexSignIn
from catalog.plex.auth import adopt_server, check_connection, poll_sign_in, server_choices, start_sign_in
from catalog.plex.errors import PlexError
from catalog.plex.plextv import auth_app_url
from retrovue.core.admin import ReadOnlyAdminMixin
from retrovue.log_redaction import redact

POLL_SECONDS = 2


def _require_change(request) -> None:
    if not request.user.has_perm("catalog.change_mediasource") or not request.user.has_perm(
        "catalog.add_mediasource"
    ):
        raise PermissionDenied


def _context(request, admin_site, title: str, **extra) -> dict:
    return {**admin_site.each_context(request), "title": title, "opts": MediaSource._meta, **extra}


def _sign_in_for(request, sign_in_id: int) -> PlexSignIn:
    # Only the staff member who started a sign-in may continue it (superusers may too).
    sign_in = get_object_or_404(PlexSignIn.objects.select_related("source"), pk=sign_in_id)
    if sign_in.started_by_id not in (None, request.user.pk) and not request.user.is_superuser:
        raise PermissionDenied
    return sign_in


def add_plex_server(request, admin_site):
    """GET: what will happen; POST: ask plex.tv for a PIN and go to the page that shows it."""
    _require_change(request)
    source = None
    source_id = request.GET.get("source") or request.POST.get("source")
    if source_id and str(source_id).isdigit():
        source = get_object_or_404(MediaSource, pk=int(source_id), kind=SourceKind.PLEX)
    if request.method == "POST":
        try:
            sign_in = start_sign_in(request.user, source=source)
        except PlexError as error:
            messages.error(request, f"Could not start the Plex sign-in: {redact(str(error))}")
        else:
            return redirect(reverse("admin:catalog_plex_sign_in", args=[sign_in.pk]))
    title = f"Sign in to Plex again for {source}" if source else "Add Plex server"
    return TemplateResponse(
        request, "admin/catalog/plex/add.html", _context(request, admin_site, title, source=source)
    )


def _state(sign_in: PlexSignIn) -> dict:
    next_url = (
        reverse("admin:catalog_plex_choose_server", args=[sign_in.pk])
        if sign_in.state == SignInState.SIGNED_IN
        else None
    )
    remaining = max(0, int((sign_in.expires_at - timezone.now()).total_seconds()))
    return {
        "state": sign_in.state,
        "state_display": sign_in.get_state_display(),
        "account": sign_in.account_name,
        "expires_in": remaining,
        "next": next_url,
    }


@never_cache
def sign_in_page(request, admin_site, sign_in_id: int):
    _require_change(request)
    sign_in = _sign_in_for(request, sign_in_id)
    if sign_in.state == SignInState.SIGNED_IN:
        return redirect(reverse("admin:catalog_plex_choose_server", args=[sign_in.pk]))
    context = _context(
        request,
        admin_site,
        "Sign in with Plex",
        sign_in=sign_in,
        state=_state(sign_in),
        auth_url=auth_app_url(sign_in.client_identifier, sign_in.code),
        state_url=reverse("admin:catalog_plex_sign_in_state", args=[sign_in.pk]),
        poll_seconds=POLL_SECONDS,
        restart_url=reverse("admin:catalog_plex_add")
        + (f"?source={sign_in.source_id}" if sign_in.source_id else ""),
    )
    return TemplateResponse(request, "admin/catalog/plex/sign_in.html", context)


@never_cache
def sign_in_state(request, admin_site, sign_in_id: int):
    """One poll: asks plex.tv once, answers the state (never the token)."""
    _require_change(request)
    sign_in = _sign_in_for(request, sign_in_id)
    problem = ""
    try:
        poll_sign_in(sign_in)
    except PlexError as error:  # plex.tv hiccup: the page keeps polling
        problem = redact(str(error))
    return JsonResponse({**_state(sign_in), "problem": problem})


@never_cache
def choose_server(request, admin_site, sign_in_id: int):
    _require_change(request)
    sign_in = _sign_in_for(request, sign_in_id)
    if sign_in.state != SignInState.SIGNED_IN:
        messages.info(request, "That sign-in is finished or not approved yet.")
        return redirect(reverse("admin:catalog_plex_sign_in", args=[sign_in.pk]))
    found = server_choices(sign_in)
    error = ""
    if request.method == "POST":
        choice = found.get(request.POST.get("choice", ""))
        if choice is None or not choice.available:
            error = "Choose one of the servers listed."
        else:
            source = adopt_server(sign_in, choice, request.POST.get("name", "").strip())
            check = check_connection(source)
            level = messages.SUCCESS if check.ok else messages.WARNING
            messages.add_message(request, level, f"{source}: signed in to Plex. {check.summary()}")
            return redirect(reverse("admin:catalog_mediasource_change", args=[source.pk]))
    context = _context(
        request,
        admin_site,
        "Choose a Plex server",
        sign_in=sign_in,
        choices=found.choices,
        problems=found.problems,
        error=error,
        default_name=sign_in.source.name if sign_in.source else "",
    )
    return TemplateResponse(request, "admin/catalog/plex/choose_server.html", context)


def test_connection(request, admin_site, source_id: int):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not request.user.has_perm("catalog.change_mediasource"):
        raise PermissionDenied
    source = get_object_or_404(MediaSource, pk=source_id, kind=SourceKind.PLEX)
    check = check_connection(source)
    messages.add_message(
        request, messages.SUCCESS if check.ok else messages.ERROR, f"{source}: {check.summary()}"
    )
    return redirect(reverse("admin:catalog_mediasource_change", args=[source.pk]))


def source_urls(admin_site) -> list:
    def view(function):
        def wrapped(request, *args, **kwargs):
            return function(request, admin_site, *args, **kwargs)

        return admin_site.admin_view(wrapped)

    return [
        path("plex/add/", view(add_plex_server), name="catalog_plex_add"),
        path("plex/sign-in/<int:sign_in_id>/", view(sign_in_page), name="catalog_plex_sign_in"),
        path(
            "plex/sign-in/<int:sign_in_id>/state.json", view(sign_in_state), name="catalog_plex_sign_in_state"
        ),
        path(
            "plex/sign-in/<int:sign_in_id>/servers/", view(choose_server), name="catalog_plex_choose_server"
        ),
        path(
            "<int:source_id>/test-connection/",
            view(test_connection),
            name="catalog_mediasource_test_connection",
        ),
    ]


@admin.register(PlexDevice)
class PlexDeviceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("client_identifier", "created_at")


@admin.register(PlexSignIn)
class PlexSignInAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The sign-ins started from "Add Plex server"; the account token is never shown."""

    list_display = ("created_at", "state", "account_name", "source", "started_by", "expires_at")
    list_filter = ("state",)
    list_select_related = ("source", "started_by")
    search_fields = ("account_name", "source__name")
    exclude = ("account_token",)
