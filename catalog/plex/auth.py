"""Signing in to Plex and keeping track of whether a source's token still works.

* The PIN sign-in (`start_sign_in`, `poll_sign_in`): plex.tv issues a code, staff approve it on
  app.plex.tv, RetroVue polls until the account token arrives and keeps it, encrypted, only until
  a server is chosen (`server_choices`, `adopt_server`). The token a source stores is the chosen
  server's own `accessToken` from the account's resources.
* The connection check (`check_connection`): one `GET /` (timed: the round trip) and one
  `GET /library/sections`. It is what the "Test connection" button and API run; the sync does the
  same two requests first anyway, and both record the outcome on the source.
* Auth state: a 401 from the server marks the source "needs sign-in"; syncs then stop at the
  door (`catalog.sync.triggers`) until a new token is stored, which resets the state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from catalog.choices import AuthState, SignInState, SourceKind
from catalog.models import MediaSource, PlexDevice, PlexSignIn
from catalog.plex import gdm
from catalog.plex.client import PlexClient, RetryPolicy
from catalog.plex.errors import PlexAuthError, PlexError, PlexUnreachable
from catalog.plex.plextv import PinExpired, PlexTvClient, ServerResource
from retrovue.log_redaction import redact

logger = logging.getLogger(__name__)

NEEDS_SIGN_IN = "Needs sign-in"
SIGN_IN_KEEP = timedelta(hours=1)  # an approved sign-in waits this long for a server to be chosen


# --- auth state of a source -------------------------------------------------------------------


def mark_signed_in(source: MediaSource) -> None:
    now = timezone.now()
    MediaSource.objects.filter(pk=source.pk).update(
        auth_state=AuthState.OK, auth_checked_at=now, auth_error=""
    )
    source.auth_state, source.auth_checked_at, source.auth_error = AuthState.OK, now, ""


def mark_needs_sign_in(source: MediaSource, error: str) -> None:
    now = timezone.now()
    error = redact(error)
    MediaSource.objects.filter(pk=source.pk).update(
        auth_state=AuthState.NEEDS_SIGN_IN, auth_checked_at=now, auth_error=error
    )
    source.auth_state, source.auth_checked_at, source.auth_error = AuthState.NEEDS_SIGN_IN, now, error
    logger.warning("Plex source %s needs sign-in: %s", source, error)


def needs_sign_in_message(source: MediaSource) -> str:
    return (
        f"{NEEDS_SIGN_IN}: the Plex server refused {source.name}'s token"
        f"{f' ({source.auth_error})' if source.auth_error else ''}. Syncs are paused until someone signs in "
        "to Plex again or enters a new token on the source."
    )


# --- connection check -------------------------------------------------------------------------


@dataclass
class ConnectionCheck:
    reachable: bool = False
    token_valid: bool | None = None  # None: could not tell (server unreachable)
    server_name: str = ""
    version: str = ""
    machine_identifier: str = ""
    libraries: list[str] = field(default_factory=list)
    round_trip_ms: float | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.reachable and bool(self.token_valid) and not self.error

    def summary(self) -> str:
        if not self.reachable:
            return f"Not reachable: {self.error}"
        if self.token_valid is False:
            return f"Reachable, but the token was refused ({NEEDS_SIGN_IN.lower()})."
        if self.error:
            return f"Reachable, but: {self.error}"
        return (
            f"Connected to {self.server_name} (Plex {self.version}) in {self.round_trip_ms:.0f} ms; "
            f"token valid; {len(self.libraries)} libraries: {', '.join(self.libraries) or 'none'}."
        )

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "reachable": self.reachable,
            "token_valid": self.token_valid,
            "server_name": self.server_name,
            "version": self.version,
            "machine_identifier": self.machine_identifier,
            "libraries": self.libraries,
            "round_trip_ms": self.round_trip_ms,
            "error": self.error,
            "summary": self.summary(),
        }


def quick_client(source: MediaSource) -> PlexClient:
    # One attempt, short timeouts: staff are waiting on the button.
    return PlexClient(
        source.base_url,
        source.token,
        client_identifier=source.client_identifier,
        timeout=(3.0, 10.0),
        retry=RetryPolicy(max_attempts=1),
    )


def check_connection(
    source: MediaSource, client_factory: Callable[[MediaSource], PlexClient] = quick_client
) -> ConnectionCheck:
    """Reach the server, try the token, read its name, version and libraries; record the auth state."""
    if source.kind != SourceKind.PLEX:
        raise ValueError(f"{source} is not a Plex source")
    check = ConnectionCheck()
    client = client_factory(source)
    started = time.perf_counter()
    try:
        info = client.server_info()
        check.round_trip_ms = round((time.perf_counter() - started) * 1000, 1)
        check.reachable = check.token_valid = True
        check.server_name, check.version = info["name"], info["version"]
        check.machine_identifier = info["machine_identifier"]
        check.libraries = [directory.get("title", "") for directory in client.sections()]
    except PlexAuthError as error:
        check.reachable, check.token_valid, check.error = True, False, str(error)
        mark_needs_sign_in(source, str(error))
        return check
    except PlexUnreachable as error:
        check.error = redact(str(error))
        return check
    except PlexError as error:  # it answered, but not with what a Plex server should
        check.reachable, check.error = True, redact(str(error))
        return check
    from catalog.sync.engine import remember_server

    remember_server(source, info)
    mark_signed_in(source)
    return check


# --- the PIN sign-in --------------------------------------------------------------------------


def plex_tv_client() -> PlexTvClient:
    return PlexTvClient(PlexDevice.identifier())


def forget_stale_sign_ins(now=None) -> int:
    """Close sign-ins nobody finished within SIGN_IN_KEEP, wiping any account token they hold."""
    now = now or timezone.now()
    return PlexSignIn.objects.filter(
        created_at__lt=now - SIGN_IN_KEEP, state__in=[SignInState.WAITING, SignInState.SIGNED_IN]
    ).update(account_token="", state=SignInState.EXPIRED)


def start_sign_in(
    user=None, source: MediaSource | None = None, client: PlexTvClient | None = None
) -> PlexSignIn:
    forget_stale_sign_ins()
    client = client or plex_tv_client()
    pin = client.create_pin(strong=True)
    return PlexSignIn.objects.create(
        pin_id=pin.id,
        code=pin.code,
        client_identifier=client.headers["X-Plex-Client-Identifier"],
        expires_at=pin.expires_at,
        started_by=user if user is not None and user.is_authenticated else None,
        source=source,
    )


def poll_sign_in(sign_in: PlexSignIn, client: PlexTvClient | None = None) -> PlexSignIn:
    """Ask plex.tv once whether the PIN was approved; store the account token when it was."""
    if sign_in.state != SignInState.WAITING:
        return sign_in
    if sign_in.expired:
        sign_in.state = SignInState.EXPIRED
        sign_in.save(update_fields=["state"])
        return sign_in
    client = client or PlexTvClient(sign_in.client_identifier)
    try:
        token = client.check_pin(sign_in.pin_id)
    except PinExpired:
        sign_in.state = SignInState.EXPIRED
        sign_in.save(update_fields=["state"])
        return sign_in
    if token:
        account = client.account(token)
        sign_in.account_token = token
        sign_in.account_name = (account.title or account.username or account.email)[:200]
        sign_in.state = SignInState.SIGNED_IN
        sign_in.signed_in_at = timezone.now()
        sign_in.save(update_fields=["account_token", "account_name", "state", "signed_in_at"])
    return sign_in


@dataclass(frozen=True)
class ServerChoice:
    """One way to reach one server, as offered on the "choose a server" page."""

    key: str
    server_name: str
    machine_identifier: str
    url: str
    kind: str  # local, remote, relay (plex.tv) or lan (GDM)
    origin: str  # "plex.tv" or "LAN discovery"
    access_token: str = field(default="", repr=False)

    @property
    def available(self) -> bool:
        return bool(self.access_token)

    @property
    def label(self) -> str:
        return f"{self.server_name} — {self.kind} — {self.url}"


@dataclass
class ServerChoices:
    choices: list[ServerChoice]
    problems: list[str]

    def get(self, key: str) -> ServerChoice | None:
        return next((choice for choice in self.choices if choice.key == key), None)


def server_choices(
    sign_in: PlexSignIn,
    *,
    client: PlexTvClient | None = None,
    discover: Callable[[], list[gdm.DiscoveredServer]] = gdm.discover,
) -> ServerChoices:
    """Every connection of every server of the account, then every server GDM found on the LAN.

    A LAN server gets the access token of the account's resource with the same machine identifier;
    one the account can't reach is listed but can't be chosen (there is no token for it).
    """
    problems: list[str] = []
    resources: list[ServerResource] = []
    client = client or PlexTvClient(sign_in.client_identifier)
    try:
        resources = client.servers(sign_in.account_token)
    except PlexError as error:
        problems.append(f"Could not list the account's servers on plex.tv: {redact(str(error))}")
    choices = []
    for resource in resources:
        for index, connection in enumerate(resource.connections):
            choices.append(
                ServerChoice(
                    key=f"plextv:{resource.machine_identifier}:{index}",
                    server_name=resource.name,
                    machine_identifier=resource.machine_identifier,
                    url=connection.uri,
                    kind=connection.kind,
                    origin="plex.tv",
                    access_token=resource.access_token,
                )
            )
    tokens = {resource.machine_identifier: resource.access_token for resource in resources}
    try:
        found = discover()
    except OSError as error:
        problems.append(f"LAN discovery (GDM) failed: {error}")
        found = []
    for server in found:
        choices.append(
            ServerChoice(
                key=f"gdm:{server.machine_identifier}",
                server_name=server.name,
                machine_identifier=server.machine_identifier,
                url=server.url,
                kind="lan",
                origin="LAN discovery",
                access_token=tokens.get(server.machine_identifier, ""),
            )
        )
    return ServerChoices(choices, problems)


def _free_name(wanted: str, exclude_pk: int | None) -> str:
    name, number = wanted[:110], 2
    while MediaSource.objects.filter(name=name).exclude(pk=exclude_pk).exists():
        name, number = f"{wanted[:100]} ({number})", number + 1
    return name


def adopt_server(sign_in: PlexSignIn, choice: ServerChoice, name: str = "") -> MediaSource:
    """Create or update the Plex source for the chosen server; the sign-in's account token is wiped."""
    if not choice.available:
        raise ValueError("That server is not linked to the signed-in Plex account.")
    with transaction.atomic():
        source = sign_in.source or (
            MediaSource.objects.filter(kind=SourceKind.PLEX, machine_identifier=choice.machine_identifier)
            .order_by("pk")
            .first()
        )
        if source is None:
            source = MediaSource(kind=SourceKind.PLEX)
        if name or not source.name:
            source.name = _free_name(name or choice.server_name, source.pk)
        source.base_url = choice.url
        source.machine_identifier = choice.machine_identifier[:100]
        source.token = choice.access_token
        source.client_identifier = sign_in.client_identifier
        source.auth_state, source.auth_error, source.auth_checked_at = AuthState.UNKNOWN, "", None
        source.save()
        sign_in.account_token = ""
        sign_in.state = SignInState.USED
        sign_in.source = source
        sign_in.save(update_fields=["account_token", "state", "source"])
    return source
