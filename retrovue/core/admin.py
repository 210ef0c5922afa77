from django.contrib import admin, messages
from django.utils.html import format_html

from retrovue.core.formatting import format_duration_ms
from retrovue.core.models import ApiToken, StreamToken, TaskRun


class ReadOnlyAdminMixin:
    """Records written by the system: staff read them, nobody edits them by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TaskRun)
class TaskRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("task_name", "queue", "state", "started_at", "took", "counts_summary", "short_error")
    list_filter = ("state", "queue", "task_name")
    search_fields = ("task_name", "task_id", "error")
    date_hierarchy = "started_at"
    show_full_result_count = False
    readonly_fields = [field.name for field in TaskRun._meta.fields]

    @admin.display(description="took")
    def took(self, run):
        seconds = run.duration_seconds
        return "running" if seconds is None else format_duration_ms(int(seconds * 1000))

    @admin.display(description="counts")
    def counts_summary(self, run):
        return ", ".join(f"{key} {value}" for key, value in run.counts.items()) or "–"

    @admin.display(description="error")
    def short_error(self, run):
        return (run.error[:80] + "…") if len(run.error) > 80 else run.error


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "token_hint", "created_at", "last_used_at", "expires_at", "revoked")
    list_filter = ("revoked",)
    search_fields = ("name", "user__username")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    fields = ("user", "name", "expires_at", "revoked", "token_hint", "created_at", "last_used_at")
    readonly_fields = ("token_hint", "created_at", "last_used_at")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        row, plaintext = ApiToken.issue(obj.user, obj.name, expires_at=obj.expires_at)
        obj.pk = row.pk
        obj.token_hash, obj.token_hint, obj.created_at = row.token_hash, row.token_hint, row.created_at
        messages.warning(
            request,
            format_html("Copy this token now, it will not be shown again: <code>{}</code>", plaintext),
        )


@admin.register(StreamToken)
class StreamTokenAdmin(admin.ModelAdmin):
    """Tokens viewers' players put in stream URLs when RETROVUE_REQUIRE_STREAM_TOKEN is on."""

    list_display = ("name", "user", "token_hint", "created_at", "last_used_at", "revoked")
    list_filter = ("revoked",)
    search_fields = ("name", "user__username")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    fields = ("name", "user", "revoked", "token_hint", "created_at", "last_used_at")
    readonly_fields = ("token_hint", "created_at", "last_used_at")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        row, plaintext = StreamToken.issue(obj.name, user=obj.user)
        obj.pk, obj.token_hash, obj.token_hint, obj.created_at = (
            row.pk,
            row.token_hash,
            row.token_hint,
            row.created_at,
        )
        messages.warning(
            request,
            format_html(
                "Copy this stream token now, it will not be shown again: <code>{}</code> "
                "(players use <code>/iptv/channels.m3u?token={}</code>)",
                plaintext,
                plaintext,
            ),
        )
