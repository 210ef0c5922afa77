"""Reading Plex notification frames: which library items changed, and nothing else.

A frame is `{"NotificationContainer": {"type": …, "size": n, "<Child>": [entries]}}`
(PLEX_LIVE_AND_AUTH_NOTES.md §1). Only two kinds say that the catalog may have changed:

* `timeline` entries of the library (`identifier` "com.plexapp.plugins.library", a real `type`:
  1 movie, 2 show, 3 season, 4 episode) in state 0 + `metadataState` "created" (new; Plex may
  still be fetching its metadata, so the listener waits a moment before reading it), state 5
  (done: metadata ready or changed) or state 9 + "deleted";
* `activity` `library.refresh.items` that `ended`, on `Context.key` `/library/metadata/N`
  (an item's metadata refresh; `…/children` is skipped, as PlexTraktSync does).

Everything else is noise for the catalog and ignored: playback, status, DVR entries
(`tv.plex…`), `type` -1, progress states 1–4, other activities, started/updated activities.
Parsing never raises: a malformed frame yields no events.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

LIBRARY_IDENTIFIER = "com.plexapp.plugins.library"
ITEM_TYPES = {1: "movie", 2: "show", 3: "season", 4: "episode"}
CREATED, CHANGED, DELETED = "created", "changed", "deleted"
METADATA_KEY = re.compile(r"/library/metadata/(\d+)")


@dataclass(frozen=True)
class LibraryEvent:
    """One library item that Plex says was created, changed or deleted."""

    action: str  # CREATED, CHANGED or DELETED
    rating_key: str
    section_key: str = ""
    plex_type: str = ""
    title: str = ""

    def summary(self) -> str:
        what = " ".join(part for part in (self.plex_type, repr(self.title) if self.title else "") if part)
        return f"{self.action} {what or 'item'} {self.rating_key}".strip()


@dataclass
class Frame:
    """What one frame said: its type (for the counters) and the library events in it."""

    kind: str
    events: list[LibraryEvent]


def _text(value) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value).strip()


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def timeline_event(entry: dict) -> LibraryEvent | None:
    if not isinstance(entry, dict) or entry.get("identifier") != LIBRARY_IDENTIFIER:
        return None
    plex_type = ITEM_TYPES.get(_int(entry.get("type")))
    rating_key = _text(entry.get("itemID"))
    if plex_type is None or not rating_key.isdigit():
        return None
    state, metadata_state = _int(entry.get("state")), entry.get("metadataState")
    if state == 0 and metadata_state == "created":
        action = CREATED
    elif state == 9:
        action = DELETED
    elif state == 5:
        action = CHANGED
    else:
        return None
    section = _text(entry.get("sectionID"))
    return LibraryEvent(
        action, rating_key, "" if section == "-1" else section, plex_type, _text(entry.get("title"))
    )


def activity_event(notification: dict) -> LibraryEvent | None:
    if not isinstance(notification, dict) or notification.get("event") != "ended":
        return None
    activity = notification.get("Activity")
    if not isinstance(activity, dict) or activity.get("type") != "library.refresh.items":
        return None
    context = activity.get("Context")
    if not isinstance(context, dict):
        return None
    match = METADATA_KEY.fullmatch(_text(context.get("key")))
    if match is None:  # "…/children" and anything else that isn't one item
        return None
    section = _text(context.get("librarySectionID"))
    return LibraryEvent(CHANGED, match.group(1), section, "", _text(activity.get("subtitle")))


def parse_frame(text: str | bytes) -> Frame:
    """The library events in one frame; a frame that isn't a notification gives none."""
    try:
        message = json.loads(text)
    except (TypeError, ValueError):
        return Frame("malformed", [])
    container = message.get("NotificationContainer") if isinstance(message, dict) else None
    if not isinstance(container, dict):
        return Frame("unknown", [])
    kind = _text(container.get("type")) or "unknown"
    events: list[LibraryEvent] = []
    if kind == "timeline":
        entries = container.get("TimelineEntry")
        events = (
            [event for entry in entries or [] if (event := timeline_event(entry))]
            if isinstance(entries, list)
            else []
        )
    elif kind == "activity":
        entries = container.get("ActivityNotification")
        events = (
            [event for entry in entries or [] if (event := activity_event(entry))]
            if isinstance(entries, list)
            else []
        )
    return Frame(kind, events)
