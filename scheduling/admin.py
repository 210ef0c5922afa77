"""Scheduling in the admin: channels, their templates with inline slots, break rules, and the logs."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone
from django.utils.html import format_html

from retrovue.core.admin import ReadOnlyAdminMixin
from retrovue.core.formatting import format_duration_ms, format_local_short
from scheduling.forms import TimeSlotForm
from scheduling.models import (
    BreakRule,
    Channel,
    DeskEdit,
    DeskEntry,
    Piece,
    ProgramEntry,
    ScheduleTemplate,
    ScheduleWarning,
    StreamProfile,
    TimeSlot,
)


class BreakRuleInline(admin.TabularInline):
    model = BreakRule
    extra = 0


class TemplateInline(admin.TabularInline):
    model = ScheduleTemplate
    extra = 0
    fields = ("name", "priority", "enabled", "from_month_day", "until_month_day")
    show_change_link = True


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    # Few, short columns so the list fits a 1366-px screen (group and the switches are filters).
    list_display = ("number", "name_and_call_sign", "on_air", "limit", "on_now", "open_warnings")
    list_filter = ("enabled", "group", "always_on")
    search_fields = ("number", "name", "call_sign")
    autocomplete_fields = ("fallback_items",)
    inlines = (TemplateInline, BreakRuleInline)
    actions = ("rebuild_schedule",)
    fieldsets = (
        (None, {"fields": ("number", "name", "call_sign", "group", "logo", "enabled", "always_on")}),
        ("Audience", {"fields": ("target_demographic", "content_rating_limit")}),
        ("Look and stream", {"fields": ("stream_profile", "bug_image", "bug_corner", "bug_opacity")}),
        ("Schedule", {"fields": ("time_zone", "seed", "sign_off_at", "sign_on_at", "fallback_items")}),
    )

    def get_queryset(self, request):
        # What is on now and the open warnings come as subqueries: one query for the whole page.
        now = timezone.now()
        on_now = ProgramEntry.objects.filter(channel=OuterRef("pk"), start__lte=now, stop__gt=now).values(
            "title"
        )[:1]
        warnings = (
            ScheduleWarning.objects.filter(channel=OuterRef("pk"), at__gte=now)
            .order_by()
            .values("channel")
            .annotate(total=Count("pk"))
            .values("total")
        )
        return (
            super()
            .get_queryset(request)
            .select_related("stream_profile")
            .annotate(on_now_title=Subquery(on_now), warnings_total=Subquery(warnings))
        )

    @admin.display(description="name", ordering="name")
    def name_and_call_sign(self, channel):
        return f"{channel.name} ({channel.call_sign})" if channel.call_sign else channel.name

    @admin.display(description="on air")
    def on_air(self, channel):
        if not channel.enabled:
            return "off"
        return "always" if channel.always_on else "on demand"

    @admin.display(description="limit", ordering="content_rating_limit")
    def limit(self, channel):
        return channel.content_rating_limit or "–"

    @admin.display(description="on now")
    def on_now(self, channel):
        title = channel.on_now_title or "–"
        return title if len(title) <= 40 else title[:39] + "…"  # the list fits a 1366-px screen

    @admin.display(description="warnings")
    def open_warnings(self, channel):
        if not channel.warnings_total:
            return "–"
        return format_html(
            '<a href="../schedulewarning/?channel__id__exact={}">⚠ {}</a>', channel.pk, channel.warnings_total
        )

    @admin.action(description="Rebuild schedule from the next safe point", permissions=["change"])
    def rebuild_schedule(self, request, queryset):
        from scheduling.builder import rebuild_from_safe_point

        for channel in queryset:
            totals = rebuild_from_safe_point(channel)
            self.message_user(
                request,
                f"{channel}: {totals['programs']} programs, {totals['pieces']} pieces rebuilt.",
                messages.SUCCESS,
            )


class TimeSlotInline(admin.StackedInline):
    model = TimeSlot
    form = TimeSlotForm
    extra = 0
    autocomplete_fields = ("shows", "movies", "collection")
    fields = (
        ("title", "daypart"),
        "days",
        ("start_time", "end_time"),
        ("content", "order"),
        "shows",
        "movies",
        "collection",
        "repeat_spacing_days",
    )


@admin.register(ScheduleTemplate)
class ScheduleTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "priority", "enabled", "season", "slot_count")
    list_filter = ("enabled", "channel")
    search_fields = ("name", "channel__name", "channel__number")
    list_select_related = ("channel",)
    autocomplete_fields = ("channel",)
    inlines = (TimeSlotInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(slots_total=Count("slots"))

    @admin.display(description="season")
    def season(self, template):
        return (
            f"{template.from_month_day} – {template.until_month_day}"
            if template.from_month_day
            else "all year"
        )

    @admin.display(description="slots", ordering="slots_total")
    def slot_count(self, template):
        return template.slots_total


@admin.register(StreamProfile)
class StreamProfileAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "width",
        "height",
        "frame_rate",
        "video_bitrate_kbps",
        "audio_bitrate_kbps",
        "segment_seconds",
        "video_codec",
        "video_mode",
        "preferred_audio_language",
        "burn_forced_subtitles",
    )
    list_filter = ("video_mode", "video_codec")


class PieceInline(admin.TabularInline):
    model = Piece
    extra = 0
    fields = ("sequence", "start", "kind", "playable", "in_point", "out_point", "length")
    readonly_fields = fields
    can_delete = False
    ordering = ("sequence",)

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("playable")

    @admin.display(description="in")
    def in_point(self, piece):
        return format_duration_ms(piece.in_ms)

    @admin.display(description="out")
    def out_point(self, piece):
        return format_duration_ms(piece.out_ms)

    @admin.display(description="length")
    def length(self, piece):
        return format_duration_ms(piece.duration_ms)


@admin.register(ProgramEntry)
class ProgramEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("starts", "until", "channel_number", "title", "subtitle", "category", "rating", "length")
    list_filter = ("channel", "category")
    search_fields = ("title", "subtitle")
    list_select_related = ("channel",)
    date_hierarchy = "start"
    show_full_result_count = False
    inlines = (PieceInline,)

    @admin.display(description="length")
    def length(self, program):
        return format_duration_ms(program.duration_ms)

    @admin.display(description="start", ordering="start")
    def starts(self, program):
        return format_local_short(program.start)

    @admin.display(description="rating", ordering="content_rating")
    def rating(self, program):
        return program.content_rating or "–"

    @admin.display(description="ch.", ordering="channel__number")
    def channel_number(self, program):
        return program.channel.number

    @admin.display(description="until", ordering="stop")
    def until(self, program):
        return f"{timezone.localtime(program.stop):%H:%M}"


@admin.register(ScheduleWarning)
class ScheduleWarningAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "channel", "message", "created_at")
    list_filter = ("channel",)
    search_fields = ("message",)
    list_select_related = ("channel",)
    date_hierarchy = "at"


@admin.register(DeskEntry)
class DeskEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Hand-placed blocks, read-only here: they are made and changed on the programming desk, where
    every edit is checked and rebuilds the logs (a change here would do neither)."""

    list_display = ("start", "channel", "kind", "mode", "title", "special", "stop", "resume_at", "created_by")
    list_filter = ("kind", "mode", "special", "channel")
    search_fields = ("title",)
    list_select_related = ("channel", "created_by")
    date_hierarchy = "start"

    def has_delete_permission(self, request, obj=None):
        return False  # delete on the desk (or the API), which rebuilds the logs


@admin.register(DeskEdit)
class DeskEditAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "user", "summary", "undone")
    list_filter = ("undone",)
    search_fields = ("summary",)
    list_select_related = ("user",)
