"""The Plex webhook endpoint: Plex POSTs to /hooks/plex/<secret>/ when something happens on the server.

Plex can't sign its webhooks or send a CSRF token, so the URL itself is the credential: each source
has a random secret, and whoever knows the URL can ask for a sync (nothing more). A `library.new`
event queues an incremental sync of just the library it names; every other event is logged and
ignored. Every call is audited in `WebhookEvent` rows, the log staff see in the admin: one row per
call from a secret holder, but calls anyone can make without the secret (a wrong secret, a wrong
method) and a flood beyond the per-minute cap are counted on one row per source, outcome and
`AGGREGATE_WINDOW` (its `calls`), so strangers cannot grow the table by calling.

The body is read defensively: at most `MAX_BODY_BYTES`, a JSON payload of at most
`MAX_PAYLOAD_CHARS`, nested no deeper than Python's parser can take (a deeper one is a 400, not a
500); Plex sends a multipart form whose `payload` field is the JSON, tools may send bare JSON.

Plex sends one `library.new` per item it adds, so a season landing is a burst of calls. Three
things keep a burst to one sync: a per-library interval (at most one *triggering* call per library
every `RETROVUE_WEBHOOK_MIN_INTERVAL_SECONDS`), a per-source cap on calls per minute (floods), and
`request_sync`, which joins a sync already queued or running instead of starting another.

The secret never appears in a response, an audit row or a log line written here; Django's own
"Not Found: <path>" warning is suppressed for these responses because the path carries it, and the
log redaction (retrovue.log_redaction) blanks `/hooks/plex/<secret>` in every other line (a 500's
"Internal Server Error: <path>", the development server's access log, gunicorn's).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from catalog.choices import SourceKind, SyncKind
from catalog.models import Library, MediaSource, SyncRun, WebhookEvent, WebhookOutcome
from catalog.sync.triggers import request_sync
from retrovue.core.public_url import public_base_url

logger = logging.getLogger(__name__)

# Plex attaches a JPEG thumbnail to media.* events; payload plus thumbnail is far below this.
MAX_BODY_BYTES = 2 * 1024 * 1024
# Plex's JSON payload is a few kilobytes; the thumbnail travels in its own part.
MAX_PAYLOAD_CHARS = 256 * 1024
# Calls nobody needed the secret for, and floods, share one audit row per source and outcome
# within this window.
AGGREGATE_WINDOW = timedelta(minutes=10)
# Only these events mean "the catalog changed"; playback, on-deck and admin events do not.
TRIGGERING_EVENTS = frozenset({"library.new"})

DEFAULT_MIN_INTERVAL_SECONDS = 30
DEFAULT_MAX_CALLS_PER_MINUTE = 120

_EVENT_LEN = WebhookEvent._meta.get_field("event").max_length
_SECTION_LEN = WebhookEvent._meta.get_field("section_key").max_length
_TITLE_LEN = WebhookEvent._meta.get_field("item_title").max_length
_DETAIL_LEN = WebhookEvent._meta.get_field("detail").max_length


def min_interval() -> timedelta:
    return timedelta(
        seconds=getattr(settings, "RETROVUE_WEBHOOK_MIN_INTERVAL_SECONDS", DEFAULT_MIN_INTERVAL_SECONDS)
    )


def max_calls_per_minute() -> int:
    return getattr(settings, "RETROVUE_WEBHOOK_MAX_CALLS_PER_MINUTE", DEFAULT_MAX_CALLS_PER_MINUTE)


def webhook_url(request: HttpRequest, source: MediaSource) -> str:
    """The absolute URL staff paste into Plex (Settings → Webhooks) for this source: on the
    configured public URL, so a forged Host header cannot send Plex (and the secret) elsewhere."""
    return public_base_url(request) + reverse("hooks:plex", kwargs={"secret": source.webhook_secret})


def source_for_secret(secret: str) -> MediaSource | None:
    """The source whose webhook secret this is, compared in constant time.

    Every source's secret is compared (a station has a handful of sources), so how long the
    lookup takes says nothing about how much of a guess was right.
    """
    guess = secret.encode("utf-8", "surrogateescape")
    match = None
    for pk, known in MediaSource.objects.values_list("pk", "webhook_secret"):
        if hmac.compare_digest(known.encode(), guess) and known and match is None:
            match = pk
    return None if match is None else MediaSource.objects.filter(pk=match).first()


@dataclass
class Call:
    """What one webhook call said, as far as it could be read; fills the audit row."""

    source: MediaSource | None
    remote_address: str | None
    event: str = ""
    section_key: str = ""
    item_title: str = ""
    server_uuid: str = ""


@dataclass
class Outcome:
    outcome: str
    detail: str
    status: int
    sync_run: SyncRun | None = None


def _text(value: Any, limit: int) -> str:
    """A payload field as bounded text; Plex sends strings or numbers, anything else is ignored."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value).strip()[:limit]


def _object(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def item_title_of(metadata: dict) -> str:
    """The item as staff recognise it: "Show – Episode", "Show – Season 2", or just the title."""
    title = _text(metadata.get("title"), _TITLE_LEN)
    parent = _text(metadata.get("grandparentTitle"), _TITLE_LEN) or _text(
        metadata.get("parentTitle"), _TITLE_LEN
    )
    return " – ".join(part for part in (parent, title) if part)[:_TITLE_LEN]


def read_payload(call: Call, payload: dict) -> None:
    metadata = _object(payload.get("Metadata"))
    call.event = _text(payload.get("event"), _EVENT_LEN)
    call.section_key = _text(metadata.get("librarySectionID"), _SECTION_LEN)
    call.item_title = item_title_of(metadata)
    call.server_uuid = _text(_object(payload.get("Server")).get("uuid"), 100)


def _remote_address(request: HttpRequest) -> str | None:
    address = request.META.get("REMOTE_ADDR", "").split("%")[0]  # drop an IPv6 zone id
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _payload_text(request: HttpRequest) -> str | None:
    """The JSON text Plex sent: the `payload` form field (Plex), or a bare JSON body (tools, curl)."""
    if request.content_type == "application/json":
        return request.body.decode("utf-8", "replace")
    payload = request.POST.get("payload")
    return payload if isinstance(payload, str) else None


def _calls_in_last_minute(source: MediaSource, now: datetime) -> int:
    # Counting stops at the cap: a flood can't make each further call slower than the last.
    recent = WebhookEvent.objects.filter(source=source, received_at__gte=now - timedelta(minutes=1))
    return recent.values("pk")[: max_calls_per_minute()].count()


def decide(call: Call, now: datetime) -> Outcome:
    """What to do with a well-formed call to a known source (everything after parsing)."""
    source = call.source
    assert source is not None
    if call.server_uuid and source.machine_identifier and call.server_uuid != source.machine_identifier:
        return Outcome(
            WebhookOutcome.REJECTED,
            f"Sent by Plex server {call.server_uuid}, but this source is server "
            f"{source.machine_identifier}: the webhook URL belongs to another source.",
            403,
        )
    if call.event not in TRIGGERING_EVENTS:
        return Outcome(WebhookOutcome.IGNORED, f"Event {call.event} does not change the catalog.", 200)
    if not source.enabled:
        return Outcome(WebhookOutcome.IGNORED, "The source is disabled.", 200)
    if source.kind != SourceKind.PLEX:
        return Outcome(WebhookOutcome.IGNORED, "The source is not a Plex server.", 200)
    if source.needs_sign_in:
        return Outcome(WebhookOutcome.IGNORED, "The source needs sign-in; syncs are paused until then.", 200)
    if not call.section_key:
        return Outcome(WebhookOutcome.IGNORED, "The event names no library section.", 200)
    library = Library.objects.filter(source=source, section_key=call.section_key).first()
    if library is None:
        return Outcome(
            WebhookOutcome.IGNORED,
            f"Library section {call.section_key} is not known to RetroVue (a full sync discovers it).",
            200,
        )
    if not library.sync_enabled:
        return Outcome(WebhookOutcome.IGNORED, f"Sync is turned off for {library.title}.", 200)

    interval = min_interval()
    last_trigger = (
        WebhookEvent.objects.filter(
            source=source,
            section_key=call.section_key,
            outcome=WebhookOutcome.TRIGGERED,
            received_at__gte=now - interval,
        )
        .order_by("-received_at")
        .first()
    )
    if last_trigger is not None:
        earlier = last_trigger.sync_run
        if earlier is not None and not earlier.is_active:
            # The earlier sync already ran, so this item would wait for the next scheduled sync:
            # queue one follow-up for the end of the window instead (later calls join it).
            wait = max(1.0, (last_trigger.received_at + interval - now).total_seconds())
            follow_up, _ = request_sync(
                source, SyncKind.INCREMENTAL, library=library, trigger="webhook", countdown=wait
            )
            return Outcome(
                WebhookOutcome.RATE_LIMITED,
                f"A sync of {library.title} ran less than {interval.total_seconds():g} s ago; "
                f"a follow-up sync starts in {wait:.0f} s.",
                202,
                sync_run=follow_up,
            )
        return Outcome(
            WebhookOutcome.RATE_LIMITED,
            f"A sync of {library.title} was triggered less than {interval.total_seconds():g} s ago.",
            202,
            sync_run=earlier,
        )

    run, newly_queued = request_sync(source, SyncKind.INCREMENTAL, library=library, trigger="webhook")
    if newly_queued:
        return Outcome(WebhookOutcome.TRIGGERED, f"Queued an incremental sync of {library.title}.", 202, run)
    return Outcome(
        WebhookOutcome.DEDUPLICATED, f"Joined sync #{run.pk}, already queued or running.", 202, run
    )


def handle(request: HttpRequest, secret: str, now: datetime) -> tuple[Call, Outcome]:
    call = Call(source=None, remote_address=_remote_address(request))
    if request.method != "POST":
        call.source = source_for_secret(secret)
        method = (request.method or "")[:10]
        return call, Outcome(WebhookOutcome.REJECTED, f"Method {method} not allowed; Plex sends POST.", 405)

    call.source = source_for_secret(secret)
    if call.source is None:
        return call, Outcome(WebhookOutcome.REJECTED, "Unknown webhook secret.", 404)

    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return call, Outcome(WebhookOutcome.REJECTED, "The Content-Length header is not a number.", 400)
    if length > MAX_BODY_BYTES:
        return call, Outcome(
            WebhookOutcome.REJECTED, f"Body of {length} bytes is over the {MAX_BODY_BYTES} byte limit.", 413
        )

    try:
        text = _payload_text(request)
    except RequestDataTooBig:
        return call, Outcome(WebhookOutcome.REJECTED, "The body is too big.", 413)
    except (MultiPartParserError, SuspiciousOperation) as error:
        return call, Outcome(WebhookOutcome.REJECTED, f"Unreadable body: {type(error).__name__}.", 400)
    if not text:
        return call, Outcome(WebhookOutcome.REJECTED, "No payload: Plex sends a `payload` form field.", 400)
    if len(text) > MAX_PAYLOAD_CHARS:
        return call, Outcome(
            WebhookOutcome.REJECTED, f"The payload is over the {MAX_PAYLOAD_CHARS} character limit.", 413
        )
    try:
        payload = json.loads(text)
    except RecursionError:
        return call, Outcome(WebhookOutcome.REJECTED, "The payload is nested too deeply.", 400)
    except ValueError:
        return call, Outcome(WebhookOutcome.REJECTED, "The payload is not valid JSON.", 400)
    if not isinstance(payload, dict):
        return call, Outcome(WebhookOutcome.REJECTED, "The payload is not a JSON object.", 400)
    read_payload(call, payload)
    if not call.event:
        return call, Outcome(WebhookOutcome.REJECTED, "The payload names no event.", 400)
    limit = max_calls_per_minute()
    if _calls_in_last_minute(call.source, now) >= limit:
        return call, Outcome(
            WebhookOutcome.RATE_LIMITED, f"More than {limit} webhook calls in the last minute.", 429
        )

    return call, decide(call, now)


def _respond(outcome: Outcome) -> JsonResponse:
    if outcome.status == 404:
        body: dict[str, Any] = {"ok": False}  # an unknown secret learns nothing, not even why
    else:
        body = {
            "ok": outcome.status < 400,
            "outcome": outcome.outcome,
            "detail": outcome.detail,
            "sync_run": outcome.sync_run.pk if outcome.sync_run else None,
        }
    response = JsonResponse(body, status=outcome.status)
    if outcome.status == 405:
        response["Allow"] = "POST"
    # Django would log "Not Found: /hooks/plex/<secret>/"; the audit row (and the line below) is the log.
    response._has_been_logged = True
    return response


def _counted_on_an_earlier_row(call: Call, outcome: Outcome, now: datetime) -> bool:
    """Add this call to the window's row for repeats (a stranger's call or a flood), if there is one."""
    if call.source is not None and outcome.status != 429:
        return False  # a secret holder's call within the cap: one row each, as before
    with transaction.atomic():
        row = (
            WebhookEvent.objects.select_for_update()
            .filter(
                source=call.source,
                outcome=outcome.outcome,
                detail=outcome.detail[:_DETAIL_LEN],
                received_at__gte=now - AGGREGATE_WINDOW,
            )
            .order_by("-received_at")
            .first()
        )
        if row is None:
            return False
        WebhookEvent.objects.filter(pk=row.pk).update(
            calls=F("calls") + 1, remote_address=call.remote_address
        )
    return True


@csrf_exempt
def plex_webhook(request: HttpRequest, secret: str) -> JsonResponse:
    now = timezone.now()
    call, outcome = handle(request, secret, now)
    if _counted_on_an_earlier_row(call, outcome, now):
        return _respond(outcome)  # the first call of the window was logged; the row counts the rest
    WebhookEvent.objects.create(
        source=call.source,
        received_at=now,
        event=call.event,
        section_key=call.section_key,
        item_title=call.item_title,
        remote_address=call.remote_address,
        outcome=outcome.outcome,
        detail=outcome.detail[:_DETAIL_LEN],
        sync_run=outcome.sync_run,
    )
    logger.log(
        logging.WARNING if outcome.outcome == WebhookOutcome.REJECTED else logging.INFO,
        "Plex webhook for %s from %s: %s %s (%s)",
        call.source or "an unknown source",
        call.remote_address or "?",
        call.event or "-",
        outcome.outcome,
        outcome.detail,
    )
    return _respond(outcome)
