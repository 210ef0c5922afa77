from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from alerts.models import (
    Alert,
    AlertEvent,
    CapDocument,
    CapFeed,
    CapPriorityRule,
    ChannelAlertSettings,
    StationAlertSettings,
)
from retrovue.core.outbound import CAP_FEEDS, URLRefused


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    extra = 0
    can_delete = False
    fields = ("at", "kind", "channel", "user", "detail")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Alerts are sent and cleared from the console; here staff read them and their history."""

    list_display = ("headline", "status", "severity", "priority", "state", "targeting", "mode", "starts_at",
                    "ends_at", "cleared_at", "origin")  # fmt: skip
    list_filter = ("status", "severity", "origin", "mode", "targeting")
    search_fields = ("headline", "message", "sender", "cap_identifier")
    date_hierarchy = "starts_at"
    autocomplete_fields = ("channels",)
    readonly_fields = ("state", "origin", "created_by", "created_at", "cleared_at", "cleared_by",
                       "cap_identifier", "cap_sent", "console_link")  # fmt: skip
    inlines = [AlertEventInline]

    @admin.display(description="Console")
    def console_link(self, alert):
        return format_html(
            '<a href="{}">Compose, preview, send and clear</a>', reverse("admin:alerts_console")
        )

    def has_add_permission(self, request):
        return False  # the console composes, previews and records who sent it


@admin.register(StationAlertSettings)
class StationAlertSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "attention_signal", "eas_originator", "eas_station_id", "crawls_at_once")
    readonly_fields = ("crawls_at_once",)

    @admin.display(description="crawls at once")
    def crawls_at_once(self, obj) -> str:
        from alerts.crawl import crawl_capacity

        if obj is None or obj.crawl_capacity is None:
            return f"{crawl_capacity(obj) if obj else '—'} (measured default for this box)"
        return f"{obj.crawl_capacity} (set here)"

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not StationAlertSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ChannelAlertSettings)
class ChannelAlertSettingsAdmin(admin.ModelAdmin):
    list_display = ("channel", "area_codes", "airs_test_messages", "on_clear")
    list_filter = ("on_clear", "airs_test_messages")
    list_select_related = ("channel",)
    search_fields = ("channel__number", "channel__name", "area_codes")
    autocomplete_fields = ("channel",)


class CapFeedForm(forms.ModelForm):
    """The feed's address passes the station's URL policy for CAP feeds when it is saved (and again
    at every fetch, redirects included)."""

    class Meta:
        model = CapFeed
        fields = ("name", "url", "poll_seconds", "area_codes", "enabled")

    def clean_url(self):
        try:
            return CAP_FEEDS.check(self.cleaned_data["url"])
        except URLRefused as refusal:
            raise forms.ValidationError(str(refusal)) from None


@admin.register(CapFeed)
class CapFeedAdmin(admin.ModelAdmin):
    form = CapFeedForm
    list_display = ("name", "url", "poll_seconds", "enabled", "last_polled_at", "last_error")
    list_filter = ("enabled",)
    search_fields = ("name", "url")
    readonly_fields = ("last_polled_at", "last_error")


@admin.register(CapDocument)
class CapDocumentAdmin(admin.ModelAdmin):
    """What each received CAP document became; read-only, it is the record."""

    list_display = ("received_at", "identifier", "sender", "msg_type", "status", "outcome", "reason", "feed")
    list_filter = ("outcome", "msg_type", "status", "feed")
    search_fields = ("identifier", "sender", "reason")
    list_select_related = ("feed",)
    date_hierarchy = "received_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CapPriorityRule)
class CapPriorityRuleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "severity", "urgency", "certainty", "priority")
    list_editable = ("priority",)
