from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from retrovue.core.formatting import format_duration_ms
from retrovue.core.models import ApiToken, StaffNotice, StreamToken, TaskRun, WorkerHeartbeat


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


class IssuedTokenAdmin(admin.ModelAdmin):
    """Tokens whose plaintext exists only at creation: the add form issues one and shows it once."""

    list_filter = ("revoked",)
    search_fields = ("name", "user__username")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    readonly_fields = ("token_hint", "created_at", "last_used_at")
    reveal_text = "Copy this token now, it will not be shown again: <code>{token}</code>"

    def issue(self, obj):
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        row, plaintext = self.issue(obj)
        # The admin goes on with `obj` (change page redirect, log entry): give it the issued row's identity.
        obj.pk, obj.token_hash, obj.token_hint, obj.created_at = (
            row.pk,
            row.token_hash,
            row.token_hint,
            row.created_at,
        )
        messages.warning(request, format_html(self.reveal_text, token=plaintext))


@admin.register(ApiToken)
class ApiTokenAdmin(IssuedTokenAdmin):
    """API tokens act as their user, so a staff user issues and sees only their own; a superuser
    may issue for anyone (recorded in `issued_by`). A token never changes hands, and a revoked one
    stays revoked: either would turn "may add tokens" into "may act as someone else"."""

    list_display = (
        "name", "user", "token_hint", "created_at", "last_used_at", "expires_at", "revoked", "issued_by",
    )  # fmt: skip
    fields = (
        "user",
        "name",
        "expires_at",
        "revoked",
        "token_hint",
        "created_at",
        "last_used_at",
        "issued_by",
    )
    list_select_related = ("user", "issued_by")

    def get_queryset(self, request):
        tokens = super().get_queryset(request)
        return tokens if request.user.is_superuser else tokens.filter(user=request.user)

    def get_readonly_fields(self, request, obj=None):
        readonly = [*super().get_readonly_fields(request, obj), "issued_by"]
        if obj is not None or not request.user.is_superuser:
            readonly.append("user")
        if obj is not None and obj.revoked:
            readonly += ["name", "expires_at", "revoked"]
        return readonly

    def get_autocomplete_fields(self, request):
        return ("user",) if request.user.is_superuser else ()

    def save_model(self, request, obj, form, change):
        if not change:
            if not request.user.is_superuser:
                obj.user = request.user
            obj.issued_by = request.user
        super().save_model(request, obj, form, change)

    def issue(self, obj):
        return ApiToken.issue(obj.user, obj.name, expires_at=obj.expires_at, issued_by=obj.issued_by)


@admin.register(StreamToken)
class StreamTokenAdmin(IssuedTokenAdmin):
    """Tokens viewers' players put in stream URLs when RETROVUE_REQUIRE_STREAM_TOKEN is on."""

    list_display = ("name", "user", "token_hint", "created_at", "last_used_at", "revoked")
    fields = ("name", "user", "revoked", "token_hint", "created_at", "last_used_at")
    reveal_text = (
        "Copy this stream token now, it will not be shown again: <code>{token}</code> "
        "(players use <code>/iptv/channels.m3u?token={token}</code>)"
    )

    def issue(self, obj):
        return StreamToken.issue(obj.name, user=obj.user)


@admin.register(StaffNotice)
class StaffNoticeAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "level",
        "occurrences",
        "raised_at",
        "last_raised_at",
        "cleared_at",
        "acknowledged_at",
    )
    list_filter = (
        "level",
        ("cleared_at", admin.EmptyFieldListFilter),
        ("acknowledged_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("title", "key", "message")
    list_select_related = ("acknowledged_by",)
    readonly_fields = (
        "key", "level", "title", "message", "occurrences", "raised_at", "last_raised_at", "cleared_at",
        "acknowledged_at", "acknowledged_by",
    )  # fmt: skip
    actions = ["acknowledge"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Acknowledge (hide from the banner)")
    def acknowledge(self, request, queryset):
        count = queryset.filter(acknowledged_at__isnull=True).update(
            acknowledged_at=timezone.now(), acknowledged_by=request.user
        )
        self.message_user(request, f"Acknowledged {count} notice(s).")


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Celery workers as of their last heartbeat (/healthz reads these)."""

    list_display = ("hostname", "queue_list", "pid", "started_at", "last_seen_at")
    search_fields = ("hostname",)
    readonly_fields = [field.name for field in WorkerHeartbeat._meta.fields]

    @admin.display(description="queues")
    def queue_list(self, row):
        return ", ".join(row.queues)
