"""The chapter editor: one item's break marks, edited while watching it, and its content kind.

Pages under the admin (`chapter_editor_urls`), staff only; changing anything also needs the
`catalog.change_chaptermark` permission:

* `catalog/item/<pk>/chapters/` — GET the editor; POST the final list of marks (JSON or a form).
* `catalog/item/<pk>/chapters/generate/` — POST runs black-frame detection: inline for short files,
  queued (`chapters.generate`) for long ones, whose state GET `?task=<id>` reports.
* `catalog/item/<pk>/media/` — the item's file for the page's `<video>`. MP4/WebM files the browser
  can decode are sent as they are, with byte ranges so the player can seek; anything else is
  transcoded live to fragmented MP4 from `?start=<seconds>` (the page reloads at that offset to
  seek), and ffmpeg is killed when the browser lets go of the response. The file's path comes
  only from its MediaFile row; the request never names one (catalog.chapters.player).

What the marks mean and which ones count: `catalog.chapters.marks`.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseNotFound, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from catalog.chapters.marks import (
    ChapterToolError,
    FileNotLocal,
    NoMediaFile,
    allowed_kinds,
    concrete_item,
    effective_origin,
    generate_chapter_marks,
    item_duration_ms,
    local_media_file,
    save_marks,
    set_kind,
)
from catalog.chapters.player import direct_content_type, requested_start, serve_file, serve_transcode
from catalog.choices import ChapterOrigin, ContentKind
from catalog.models import ChapterMark, Episode, MediaFile, Movie, Playable, ShortFormItem
from retrovue.core.formatting import format_bytes, format_duration_ms
from retrovue.core.media_roots import OutsideMediaRoots, require_inside_media_roots
from retrovue.core.models import TaskRun, TaskRunState

TEMPLATE = "admin/catalog/chapter_editor.html"
CHANGE_PERMISSION = "catalog.change_chaptermark"
VIEW_PERMISSION = "catalog.view_chaptermark"
DETECTION_TASK_NAME = "chapters.generate"
# Longer files are scanned by a worker: a 5-minute file scans in seconds, an episode may take a
# minute or more, longer than a proxy waits for a response.
INLINE_DETECTION_LIMIT_MS = 5 * 60 * 1000


# --- The page --------------------------------------------------------------------------------------


@staff_member_required
@never_cache
def chapter_editor(request, pk: int, admin_site=admin.site):
    item = _item_or_404(pk)
    if request.method == "POST":
        return _save(request, item)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "POST"])
    if not _may_view(request.user):
        raise PermissionDenied
    return TemplateResponse(request, TEMPLATE, _page_context(request, item, admin_site))


def _page_context(request, item: Playable, admin_site) -> dict:
    media_file = item.files.order_by("position").first()
    try:
        local_media_file(item)
        media_problem = ""
    except ChapterToolError as error:
        media_problem = str(error)
    kinds = allowed_kinds(item)
    can_change = request.user.has_perm(CHANGE_PERMISSION)
    editor = {
        **marks_state(item),
        "duration_ms": item_duration_ms(item),
        "frame_rate": float(media_file.frame_rate) if media_file and media_file.frame_rate else None,
        "media_url": "" if media_problem else reverse("admin:catalog_item_media", args=[item.pk]),
        "transcode": bool(media_file) and direct_content_type(media_file) is None,
        "save_url": reverse("admin:catalog_item_chapters", args=[item.pk]),
        "generate_url": reverse("admin:catalog_item_chapters_generate", args=[item.pk]),
        "cancel_url": _change_url(item),
        "can_change": can_change,
        "kind": item.kind,
        "kinds": [[value, ContentKind(value).label] for value in kinds],
        "can_change_kind": can_change and len(kinds) > 1 and _may_change_item(request.user, item),
        "plex_markers": [
            {"kind": marker.get_kind_display(), "start_ms": marker.start_ms, "end_ms": marker.end_ms}
            for marker in item.markers.order_by("start_ms")
        ],
    }
    return {
        **admin_site.each_context(request),
        "title": f"Chapters: {item}",
        "item": item,
        "opts": type(item)._meta,
        "change_url": editor["cancel_url"],
        "editor": editor,
        "media_problem": media_problem,
        "item_details": _item_details(item),
        "file_details": _file_details(media_file, playable_here=not media_problem),
    }


def marks_state(item: Playable) -> dict:
    """The marks in use (each noting other origins at the same time) and the others on file."""
    marks = list(item.chapter_marks.order_by("time_ms", "origin"))
    origin = effective_origin(marks)
    origins_at: dict[int, list[str]] = defaultdict(list)
    for mark in marks:
        origins_at[mark.time_ms].append(mark.origin)
    in_use = [
        {**_mark_json(mark), "also": [other for other in origins_at[mark.time_ms] if other != mark.origin]}
        for mark in marks
        if mark.origin == origin
    ]
    in_use_times = {mark["time_ms"] for mark in in_use}
    return {
        "origin": origin or "",
        "marks": in_use,
        # A mark at the same time as one in use is already listed there (as "also").
        "others": [_mark_json(mark) for mark in marks if mark.time_ms not in in_use_times],
    }


def _mark_json(mark: ChapterMark) -> dict:
    return {"time_ms": mark.time_ms, "title": mark.title, "origin": mark.origin}


# --- Saving ----------------------------------------------------------------------------------------


def _save(request, item: Playable):
    wants_json = request.content_type == "application/json"
    if not request.user.has_perm(CHANGE_PERMISSION):
        return _refuse(wants_json, 403, "You may not change chapter marks.")
    try:
        marks, kind = _read_submission(request, wants_json)
        with transaction.atomic():
            kind_changed = False
            if kind and kind != item.kind:
                if not _may_change_item(request.user, item):
                    return _refuse(
                        wants_json, 403, f"You may not change the kind of this {item._meta.verbose_name}."
                    )
                kind_changed = set_kind(item, kind)
            saved = save_marks(item, marks)
    except ChapterToolError as error:
        return _refuse(wants_json, 400, str(error))
    message = f"Saved {len(saved)} mark{'s' if len(saved) != 1 else ''}."
    if not saved:
        message = "Saved: no marks set by staff; the item uses the marks from its source, if any."
    if kind_changed:
        message += f" It is now a {item.get_kind_display().lower()}."
    if wants_json:
        return JsonResponse({"message": message, "kind": item.kind, **marks_state(item)})
    messages.success(request, message)
    return redirect(reverse("admin:catalog_item_chapters", args=[item.pk]))


def _read_submission(request, wants_json: bool) -> tuple[list[tuple], str]:
    """(marks, kind) from a JSON body `{"marks": [{"time_ms", "title"}], "kind"}` or a form.

    A form sends either `marks` as that JSON list, or `time_ms` and `title` fields in pairs.
    """
    if wants_json:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError as error:
            raise ChapterToolError("The request is not valid JSON.") from error
        if not isinstance(body, dict):
            raise ChapterToolError("Send an object with a list of marks.")
        raw_marks, kind = body.get("marks", []), body.get("kind") or ""
    else:
        kind = request.POST.get("kind", "")
        if "marks" in request.POST:
            try:
                raw_marks = json.loads(request.POST["marks"])
            except ValueError as error:
                raise ChapterToolError("The marks field is not valid JSON.") from error
        else:
            times, titles = request.POST.getlist("time_ms"), request.POST.getlist("title")
            if len(titles) != len(times):
                raise ChapterToolError("Each mark needs a time and a title (the title may be blank).")
            raw_marks = [
                {"time_ms": _form_number(time), "title": title}
                for time, title in zip(times, titles, strict=True)
            ]
    if not isinstance(raw_marks, list) or not all(isinstance(mark, dict) for mark in raw_marks):
        raise ChapterToolError("Marks must be a list of {time_ms, title} objects.")
    if not isinstance(kind, str):
        raise ChapterToolError("The kind must be text.")
    return [(mark.get("time_ms"), mark.get("title") or "") for mark in raw_marks], kind


def _form_number(text: str):
    try:
        return float(text)
    except ValueError:
        return text  # clean_marks names the mark whose time is not a number


# --- Detection -------------------------------------------------------------------------------------


@staff_member_required
@never_cache
def generate_marks(request, pk: int, admin_site=admin.site):
    item = _item_or_404(pk)
    if request.method == "GET":
        return _detection_status(item, request.GET.get("task", ""))
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    if not request.user.has_perm(CHANGE_PERMISSION):
        return JsonResponse({"error": "You may not change chapter marks."}, status=403)
    try:
        local_media_file(item)
    except ChapterToolError as error:
        return JsonResponse({"error": str(error)}, status=409)
    duration_ms = item_duration_ms(item)
    if duration_ms and duration_ms <= INLINE_DETECTION_LIMIT_MS:
        try:
            marks = generate_chapter_marks(item)
        except ChapterToolError as error:
            return JsonResponse({"error": str(error)}, status=422)
        return JsonResponse(_detection_result(item, marks))
    task = _detection_task()
    if task is None:
        return JsonResponse(
            {"error": "This file is too long to scan while you wait, and background scanning is not set up."},
            status=503,
        )
    queued = task.apply_async(args=[item.pk])
    status_url = reverse("admin:catalog_item_chapters_generate", args=[item.pk]) + f"?task={queued.id}"
    return JsonResponse({"state": "queued", "task": queued.id, "status_url": status_url}, status=202)


def _detection_task():
    from catalog import tasks

    return getattr(tasks, "generate_chapters", None)


def _detection_status(item: Playable, task_id: str) -> JsonResponse:
    run = TaskRun.objects.filter(task_id=task_id[:64], task_name=DETECTION_TASK_NAME).first()
    if run is None:
        return JsonResponse({"state": "queued"})
    if run.state == TaskRunState.SUCCEEDED:
        marks = list(item.chapter_marks.filter(origin=ChapterOrigin.DETECTED).order_by("time_ms"))
        return JsonResponse(_detection_result(item, marks))
    if run.state == TaskRunState.FAILED:
        # The row reads "ChapterToolError: <message for staff>".
        return JsonResponse(
            {"state": "failed", "error": re.sub(r"^\w+: ", "", run.error) or "Detection failed."}
        )
    return JsonResponse({"state": "running"})


def _detection_result(item: Playable, marks: list[ChapterMark]) -> dict:
    count = len(marks)
    message = (
        f"Found {count} plausible break{'s' if count != 1 else ''}."
        if count
        else "No plausible breaks found."
    )
    return {
        "state": "succeeded",
        "message": message,
        "detected": [_mark_json(mark) for mark in marks],
        **marks_state(item),
    }


# --- Media for the player --------------------------------------------------------------------------


@staff_member_required
@require_safe
def item_media(request, pk: int, admin_site=admin.site):
    item = get_object_or_404(Playable, pk=pk)
    if not _may_view(request.user):
        raise PermissionDenied
    try:
        media_file = local_media_file(item)
    except NoMediaFile as error:
        return HttpResponseNotFound(str(error), content_type="text/plain; charset=utf-8")
    except FileNotLocal as error:
        return HttpResponse(str(error), status=409, content_type="text/plain; charset=utf-8")
    try:
        # A path outside the operator's media roots (a Plex path mapped onto the data folder, a
        # symbolic link planted in a library) is never read, directly or through ffmpeg; the
        # resolved path is what gets opened, so a link swapped in afterwards changes nothing.
        real_path = require_inside_media_roots(media_file.local_path, "This file")
    except OutsideMediaRoots:
        return HttpResponse(
            "This file is outside the media roots the operator set (RETROVUE_LIBRARY_ROOTS).",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    content_type = direct_content_type(media_file)
    if content_type and request.GET.get("transcode") != "1":
        return serve_file(request, real_path, content_type)
    return serve_transcode(request, media_file, requested_start(request.GET.get("start"), media_file))


# --- Helpers ---------------------------------------------------------------------------------------


def _item_or_404(pk: int) -> Playable:
    playable = get_object_or_404(
        Playable.objects.select_related(
            "source", "library", "episode__show", "episode__season", "movie", "shortformitem__promotes_show"
        ),
        pk=pk,
    )
    return concrete_item(playable)


def _may_view(user) -> bool:
    return user.has_perm(VIEW_PERMISSION) or user.has_perm(CHANGE_PERMISSION)


def _may_change_item(user, item: Playable) -> bool:
    return user.has_perm(f"{item._meta.app_label}.change_{item._meta.model_name}")


def _refuse(wants_json: bool, status: int, message: str):
    if wants_json:
        return JsonResponse({"error": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _change_url(item: Playable) -> str:
    try:
        return reverse(f"admin:{item._meta.app_label}_{item._meta.model_name}_change", args=[item.pk])
    except NoReverseMatch:
        return reverse("admin:index")


def _item_details(item: Playable) -> list[tuple[str, str]]:
    rows = [("Title", item.title), ("Kind", item.get_kind_display())]
    if isinstance(item, Episode):
        rows += [
            ("Show", str(item.show)),
            ("Season", str(item.season_number)),
            ("Episode", item.code),
            ("Originally aired", _text(item.originally_aired)),
            ("Audience rating", _text(item.audience_rating)),
        ]
    elif isinstance(item, Movie):
        rows += [
            ("Year", _text(item.year)),
            ("Studio", item.studio),
            ("Genres", ", ".join(str(genre) for genre in item.genres or [])),
            ("Originally released", _text(item.originally_released)),
            ("Audience rating", _text(item.audience_rating)),
        ]
    elif isinstance(item, ShortFormItem):
        rows += [
            ("Year", _text(item.year)),
            ("Promotes", _text(item.promotes_show)),
            ("Company", item.commercial_company),
            ("Category", item.category),
        ]
    rows += [
        ("Length", format_duration_ms(item.duration_ms)),
        ("Content rating", item.content_rating),
        ("Summary", item.summary),
        ("Source", str(item.source)),
        ("Library", _text(item.library)),
        ("Rating key", item.rating_key),
        ("Primary GUID", item.primary_guid),
        ("Updated in Plex", _text(item.updated_at_plex)),
        ("State", item.get_state_display()),
    ]
    markers = [
        f"{marker.get_kind_display()} {format_duration_ms(marker.start_ms)}–{format_duration_ms(marker.end_ms)}"
        for marker in item.markers.order_by("start_ms")
    ]
    if markers:
        rows.append(("Plex markers", "; ".join(markers)))
    return [(label, value if value not in ("", None) else "–") for label, value in rows]


def _file_details(media_file: MediaFile | None, *, playable_here: bool) -> list[tuple[str, str]]:
    if media_file is None:
        return [("File", "No media file")]
    resolution = f"{media_file.width}×{media_file.height}" if media_file.width and media_file.height else ""
    rows = [
        ("Local path", media_file.local_path),
        ("Plex path", media_file.plex_path),
        ("State", media_file.get_state_display()),
        ("Decodes", "yes" if media_file.playable_ok else "no" if media_file.probed_at else "not probed yet"),
        ("Container", media_file.container),
        ("Video codec", media_file.video_codec),
        ("Audio codec", media_file.audio_codec),
        ("Resolution", resolution),
        ("Frame rate", _text(media_file.frame_rate)),
        ("Length", format_duration_ms(media_file.duration_ms)),
        ("Size", format_bytes(media_file.size_bytes)),
        ("Probed", _text(media_file.probed_at)),
        ("Probe error", media_file.probe_error),
        ("In the player", _player_mode(media_file) if playable_here else "cannot play here"),
    ]
    return [(label, value if value not in ("", None) else "–") for label, value in rows]


def _player_mode(media_file: MediaFile) -> str:
    return "as it is" if direct_content_type(media_file) else "transcoded while you watch"


def _text(value) -> str:
    return "" if value is None else str(value)


def chapter_editor_urls(admin_site) -> list:
    """The editor's URLs, relative to the admin's root; they belong in the admin's URL namespace."""
    options = {"admin_site": admin_site}
    return [
        path(
            "catalog/item/<int:pk>/chapters/",
            admin_site.admin_view(chapter_editor),
            options,
            name="catalog_item_chapters",
        ),
        path(
            "catalog/item/<int:pk>/chapters/generate/",
            admin_site.admin_view(generate_marks),
            options,
            name="catalog_item_chapters_generate",
        ),
        path(
            "catalog/item/<int:pk>/media/",
            admin_site.admin_view(item_media, cacheable=True),
            options,
            name="catalog_item_media",
        ),
    ]
