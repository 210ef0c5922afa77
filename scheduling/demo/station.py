"""The demo station: `build_demo_station(folder)` over the media `make_demo_media` wrote.

It scans the set into a TMM source and a folder source and creates the channels, templates,
slots, break rules and fallback items (get-or-create by stable names, so a second run changes
nothing), gives each channel nobody has dressed a drawn logo and bug (scheduling.graphics), then
rolls the schedule forward.
"""

from __future__ import annotations

import inspect
import time
from datetime import datetime
from datetime import time as clock_time
from pathlib import Path

from django.conf import settings
from django.db import transaction

from catalog.choices import ContentKind, SourceKind, SyncStatus
from catalog.models import MediaSource, Movie, ShortFormItem, Show
from catalog.sync.folders import sync_folder_source
from scheduling.demo.contents import (
    CHANNELS,
    CLIPS,
    CLIPS_FOLDER,
    CLIPS_SOURCE_NAME,
    LIBRARY_FOLDER,
    LIBRARY_SOURCE_NAME,
    SHOWS,
    DemoChannel,
)
from scheduling.demo.media import Log, _quiet
from scheduling.graphics import channel_bug_png, channel_logo_png, store_channel_image
from scheduling.models import BreakRule, Channel, ScheduleTemplate, TimeSlot


class DemoSetupError(Exception):
    """The demo media could not be brought into the catalog (the message says what went wrong)."""


def build_demo_station(
    media_folder: str | Path, *, now: datetime | None = None, build: bool = True, log: Log = _quiet
) -> dict:
    """Scan the demo media into two sources, set up the demo channels, and roll the schedule forward.

    Everything is found again by a stable name (source names, channel numbers, template names, slot
    titles and times), and only missing rows are created: a second run leaves every row as it was,
    including anything staff changed since (it only records its two scans as sync runs, as every
    scan does; a channel left with neither logo nor bug is given drawn ones again). `now` is for tests. Returns what was scanned, created and scheduled.
    """
    began = time.monotonic()
    folder = Path(media_folder).expanduser().resolve()
    missing = [name for name in (LIBRARY_FOLDER, CLIPS_FOLDER) if not (folder / name).is_dir()]
    if missing:
        raise DemoSetupError(f"{folder} holds no demo media ({', '.join(missing)} missing); make it first.")
    summary: dict = {"media_folder": str(folder), "sources": {}, "created": {}, "channels": []}
    library = _source(LIBRARY_SOURCE_NAME, SourceKind.TMM, folder / LIBRARY_FOLDER)
    clips = _source(CLIPS_SOURCE_NAME, SourceKind.FOLDER, folder / CLIPS_FOLDER)
    for source in (library, clips):
        summary["sources"][source.name] = _scan(source, log)
    created: dict[str, int] = {}
    with transaction.atomic():
        created["promo links"] = _link_promos(library, clips)
        channels = [_channel(spec, library, clips, created) for spec in CHANNELS]
    summary["created"] = created
    summary["channels"] = [str(channel) for channel in channels]
    made = ", ".join(f"{count} {name}" for name, count in created.items() if count) or "nothing new"
    log(f"Channels {', '.join(summary['channels'])}: created {made}.")
    summary["schedule"] = _roll_forward(channels, now, log) if build else None
    summary["seconds"] = round(time.monotonic() - began, 1)
    return summary


def _source(name: str, kind: str, path: Path):
    source, created = MediaSource.objects.get_or_create(name=name, defaults={"kind": kind, "path": str(path)})
    if source.kind != kind:
        raise DemoSetupError(f"A source named {name!r} already exists and is not a {kind} source.")
    if not created and source.path != str(path):
        source.path = str(path)  # the media folder moved (--media-dir): follow it
        source.save(update_fields=["path", "updated_at"])
    return source


def _scan(source, log: Log) -> dict:
    run = sync_folder_source(source)
    counts = {name: getattr(run, name) for name in ("processed", "added", "updated", "removed", "failed")}
    log(
        f"Scanned {source.name}: {counts['added']} added, {counts['updated']} updated, "
        f"{counts['processed']} looked at ({run.get_status_display().lower()})."
    )
    if run.status not in (SyncStatus.SUCCEEDED, SyncStatus.PARTIAL):
        raise DemoSetupError(f"Scanning {source.name} failed: {run.error or run.get_status_display()}")
    return {**counts, "status": run.status, "sync_run": run.pk}


def _link_promos(library, clips) -> int:
    """Promos advertise their show (no .nfo tag says which); set once, never overriding staff."""
    shows = {show.title: show for show in Show.objects.filter(source=library)}
    linked = 0
    for clip in CLIPS:
        if not clip.promotes:
            continue
        show = shows.get(next(demo.title for demo in SHOWS if demo.key == clip.promotes))
        linked += ShortFormItem.objects.filter(
            source=clips, kind=ContentKind.PROMO, title=clip.title, promotes_show__isnull=True
        ).update(promotes_show=show)
    return linked


def _channel(spec: DemoChannel, library, clips, created: dict[str, int]):
    """One demo channel with its templates, slots and break rules; only missing rows are added.

    Rows are added with bulk_create on purpose: saving them one by one would queue a background
    rebuild per row (scheduling.signals), and the roll-forward that follows builds once.
    """
    channel, made = Channel.objects.get_or_create(
        number=spec.number,
        defaults={
            "name": spec.name,
            "call_sign": spec.call_sign,
            "time_zone": _time_zone(),
            "content_rating_limit": spec.content_rating_limit,
            "target_demographic": spec.target_demographic,
            "sign_off_at": _time(spec.sign_off) if spec.sign_off else None,
            "sign_on_at": _time(spec.sign_on) if spec.sign_on else None,
            "seed": int(spec.number.split(".")[0]),
        },
    )
    _count(created, "channels", made)
    _count(created, "logos and bugs", _dress(channel))
    if made:
        channel.fallback_items.set(ShortFormItem.objects.filter(source=clips, title__in=spec.fallback))

    templates = {template.name: template for template in ScheduleTemplate.objects.filter(channel=channel)}
    new_templates = [
        ScheduleTemplate(
            channel=channel,
            name=template.name,
            priority=template.priority,
            from_month_day=template.from_month_day,
            until_month_day=template.until_month_day,
        )
        for template in spec.templates
        if template.name not in templates
    ]
    for template in new_templates:
        template.full_clean()
    templates.update(
        (template.name, template) for template in ScheduleTemplate.objects.bulk_create(new_templates)
    )
    created["templates"] = created.get("templates", 0) + len(new_templates)

    show_titles = {demo.key: demo.title for demo in SHOWS}
    shows = {show.title: show.pk for show in Show.objects.filter(source=library)}
    movies = {movie.title: movie.pk for movie in Movie.objects.filter(source=library)}
    existing = set(
        TimeSlot.objects.filter(template__channel=channel).values_list("template_id", "title", "start_time")
    )
    new_slots, contents = [], []
    for template_spec in spec.templates:
        template = templates[template_spec.name]
        for slot_spec in template_spec.slots:
            if (template.pk, slot_spec.title, _time(slot_spec.start)) in existing:
                continue
            slot = TimeSlot(
                template=template,
                title=slot_spec.title,
                days=list(slot_spec.days),
                start_time=_time(slot_spec.start),
                end_time=_time(slot_spec.end),
                content=slot_spec.content,
                order=slot_spec.order,
            )
            slot.full_clean()
            new_slots.append(slot)
            contents.append(slot_spec)
    TimeSlot.objects.bulk_create(new_slots)
    TimeSlot.shows.through.objects.bulk_create(
        TimeSlot.shows.through(timeslot_id=slot.pk, show_id=shows[show_titles[key]])
        for slot, slot_spec in zip(new_slots, contents, strict=True)
        for key in slot_spec.shows
        if show_titles[key] in shows
    )
    TimeSlot.movies.through.objects.bulk_create(
        TimeSlot.movies.through(timeslot_id=slot.pk, movie_id=movies[title])
        for slot, slot_spec in zip(new_slots, contents, strict=True)
        for title in slot_spec.movies
        if title in movies
    )
    created["slots"] = created.get("slots", 0) + len(new_slots)

    dayparts = set(BreakRule.objects.filter(channel=channel).values_list("daypart", flat=True))
    new_rules = [
        BreakRule(
            channel=channel,
            daypart=rule.daypart,
            min_spacing_minutes=rule.min_spacing_minutes,
            edge_minutes=rule.edge_minutes,
            breaks_per_half_hour=rule.breaks_per_half_hour,
            max_break_seconds=rule.max_break_seconds,
            use_bumpers=rule.use_bumpers,
        )
        for rule in spec.break_rules
        if rule.daypart not in dayparts
    ]
    BreakRule.objects.bulk_create(new_rules)
    created["break rules"] = created.get("break rules", 0) + len(new_rules)
    return channel


def _dress(channel) -> bool:
    """Give a channel nobody has dressed (no logo, no bug) a drawn logo and bug, so the M3U
    carries a `tvg-logo` and every piece airs with the bug. A channel with either is left alone.

    Written with a queryset update: saving the channel would queue a schedule rebuild
    (scheduling.signals) for a change that does not touch the schedule.
    """
    if channel.logo or channel.bug_image:
        return False
    logo = store_channel_image(
        Channel._meta.get_field("logo"), channel_logo_png(channel.number, channel.call_sign, channel.name)
    )
    bug = store_channel_image(
        Channel._meta.get_field("bug_image"), channel_bug_png(channel.number, channel.call_sign)
    )
    Channel.objects.filter(pk=channel.pk, logo="", bug_image="").update(logo=logo, bug_image=bug)
    channel.logo.name, channel.bug_image.name = logo, bug
    return True


def _roll_forward(channels, now: datetime | None, log: Log) -> dict | None:
    try:
        from scheduling.builder import roll_forward
    except ImportError:
        log("The schedule builder is not installed yet; channels are set up without a schedule.")
        return None
    began = time.monotonic()
    if "channels" in inspect.signature(roll_forward).parameters:
        totals = roll_forward(now, channels=channels)
    else:
        totals = roll_forward(now)
    totals = dict(totals or {})
    log(
        f"Scheduled {totals.get('programs', 0)} programs and {totals.get('pieces', 0)} pieces "
        f"in {time.monotonic() - began:.1f} s."
    )
    return totals


def _count(created: dict[str, int], name: str, made: bool) -> None:
    created[name] = created.get(name, 0) + int(made)


def _time(value: str) -> clock_time:
    hours, minutes = (int(part) for part in value.split(":"))
    return clock_time(hours, minutes)


def _time_zone() -> str:
    """The station's zone when one is set (RETROVUE_TIME_ZONE), else the channels' usual default."""
    zone = settings.TIME_ZONE
    return zone if zone and zone != "UTC" else Channel._meta.get_field("time_zone").default
