"""Cross-source matching in the admin: the conflict queue, a side-by-side pair page, linked works.

Staff resolve a conflict with "Link" or "Keep apart" (on the queue as bulk actions, on the pair
page as buttons); either records a MatchDecision that later syncs obey. A linked work can be
split again ("Keep apart"), which records the same kind of decision. "Re-run matching" queues
a full matching pass on the sync queue.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from catalog.choices import MatchStatus, MatchVerdict
from catalog.matching.service import keep_work_apart, resolve
from catalog.models import (
    MatchCandidate,
    MatchDecision,
    MatchedItem,
    MatchingTurn,
    MediaFile,
    Movie,
    Work,
    WorkMember,
)
from retrovue.core.admin import ReadOnlyAdminMixin

PAIR_RELATED = ("left_movie", "right_movie", "left_show", "right_show", "left_source", "right_source")


class QueueStatusFilter(admin.SimpleListFilter):
    """The queue opens on what needs a decision; resolved pairs are one click away."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            (MatchStatus.OPEN, "Open"),
            (MatchStatus.LINKED, "Linked"),
            (MatchStatus.KEPT_APART, "Kept apart"),
            ("all", "All"),
        ]

    def choices(self, changelist):
        value = self.value() or MatchStatus.OPEN
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or MatchStatus.OPEN
        return queryset if value == "all" else queryset.filter(status=value)


def _item_label(item) -> str:
    if item is None:
        return "—"
    return f"{item.title} ({item.year})" if item.year else item.title


def _resolve_many(request, queryset, verdict: str) -> None:
    done = 0
    for candidate in queryset.select_related(*PAIR_RELATED):
        resolve(candidate, verdict, request.user)
        done += 1
    label = "linked" if verdict == MatchVerdict.LINK else "kept apart"
    messages.success(
        request, f"{done} pair{'s' if done != 1 else ''} {label}; later syncs keep this decision."
    )


@admin.action(description="Link the selected pairs (one work)", permissions=["change"])
def link_pairs(modeladmin, request, queryset):
    _resolve_many(request, queryset, MatchVerdict.LINK)


@admin.action(description="Keep the selected pairs apart", permissions=["change"])
def keep_pairs_apart(modeladmin, request, queryset):
    _resolve_many(request, queryset, MatchVerdict.APART)


@admin.register(MatchCandidate)
class MatchCandidateAdmin(admin.ModelAdmin):
    list_display = (
        "left_item",
        "right_item",
        "confidence_percent",
        "year_delta",
        "ids_column",
        "reason",
        "status",
    )
    list_display_links = ("left_item",)
    list_filter = (QueueStatusFilter, "kind", "ids_conflict", "left_source", "right_source")
    list_select_related = PAIR_RELATED
    search_fields = ("left_movie__title", "right_movie__title", "left_show__title", "right_show__title")
    actions = [link_pairs, keep_pairs_apart]
    show_full_result_count = False
    change_form_template = "admin/catalog/matchcandidate/change_form.html"
    change_list_template = "admin/catalog/matchcandidate/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in MatchCandidate._meta.fields]

    @admin.display(description="left", ordering="left_movie__title")
    def left_item(self, candidate):
        return format_html("{}<br><small>{}</small>", _item_label(candidate.left), candidate.left_source.name)

    @admin.display(description="right", ordering="right_movie__title")
    def right_item(self, candidate):
        return format_html(
            "{}<br><small>{}</small>", _item_label(candidate.right), candidate.right_source.name
        )

    @admin.display(description="likeness", ordering="confidence")
    def confidence_percent(self, candidate):
        return f"{candidate.confidence:.0%}"

    @admin.display(description="ids", ordering="ids_conflict")
    def ids_column(self, candidate):
        if candidate.ids_conflict:
            return format_html('<strong style="color: var(--error-fg)">{}</strong>', "disagree")
        return "agree" if candidate.evidence.get("shared_ids") else "—"

    def get_urls(self):
        return [
            path(
                "<int:candidate_id>/resolve/",
                self.admin_site.admin_view(self.resolve_view),
                name="catalog_matchcandidate_resolve",
            ),
            path("rerun/", self.admin_site.admin_view(self.rerun_view), name="catalog_matchcandidate_rerun"),
            *super().get_urls(),
        ]

    def resolve_view(self, request, candidate_id: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        candidate = get_object_or_404(MatchCandidate.objects.select_related(*PAIR_RELATED), pk=candidate_id)
        verdict = request.POST.get("verdict")
        if verdict not in (MatchVerdict.LINK, MatchVerdict.APART):
            messages.error(request, "Choose Link or Keep apart.")
            return redirect(reverse("admin:catalog_matchcandidate_change", args=[candidate.pk]))
        resolve(candidate, verdict, request.user)
        label = "Linked" if verdict == MatchVerdict.LINK else "Kept apart"
        messages.success(request, f"{label}: {candidate}. Later syncs keep this decision.")
        return redirect(reverse("admin:catalog_matchcandidate_changelist"))

    def rerun_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        from catalog.tasks import match_source

        match_source.delay(None, True)
        messages.success(
            request, "Matching of every source queued; new conflicts appear here when it is done."
        )
        return redirect(reverse("admin:catalog_matchcandidate_changelist"))

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None:
            context["sides"] = [_side(obj.left, obj.left_source), _side(obj.right, obj.right_source)]
            context["evidence"] = obj.evidence
            context["resolve_url"] = reverse("admin:catalog_matchcandidate_resolve", args=[obj.pk])
            context["can_resolve"] = self.has_change_permission(request, obj)
        # Every field is read-only: the page's actions are the Link / Keep apart buttons.
        context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False)
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)


def _side(item, source) -> dict:
    if item is None:
        return {"source": source, "missing": True}
    files = []
    if isinstance(item, Movie):
        files = list(MediaFile.objects.filter(playable=item).values_list("local_path", "plex_path", "state"))
    admin_name = "movie" if isinstance(item, Movie) else "show"
    return {
        "source": source,
        "item": item,
        "url": reverse(f"admin:catalog_{admin_name}_change", args=[item.pk]),
        "ids": sorted(item.external_ids.values_list("provider", "value")),
        "files": [local or plex for local, plex, _state in files],
        "duration": getattr(item, "duration_ms", None),
    }


class WorkMemberInline(admin.TabularInline):
    model = WorkMember
    extra = 0
    can_delete = False
    fields = ("source", "member_item", "method", "confidence", "linked_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source", "movie", "show")

    @admin.display(description="item")
    def member_item(self, member):
        item = member.item
        name = "movie" if member.movie_id else "show"
        return format_html(
            '<a href="{}">{}</a>', reverse(f"admin:catalog_{name}_change", args=[item.pk]), _item_label(item)
        )


@admin.action(description="Keep the selected works' copies apart (unlink)", permissions=["change"])
def unlink_works(modeladmin, request, queryset):
    pairs = sum(keep_work_apart(work, request.user) for work in queryset)
    messages.success(
        request, f"Unlinked; {pairs} pair{'s' if pairs != 1 else ''} will be kept apart by later syncs."
    )


@admin.register(Work)
class WorkAdmin(admin.ModelAdmin):
    list_display = ("title", "year", "kind", "member_count", "copies", "created_at")
    list_filter = ("kind", "members__method", "members__source")
    search_fields = ("title",)
    readonly_fields = ("kind", "title", "year", "created_at", "updated_at")
    inlines = [WorkMemberInline]
    actions = [unlink_works]
    show_full_result_count = False

    def get_queryset(self, request):
        members = WorkMember.objects.select_related("source").order_by("source__name")
        return (
            super()
            .get_queryset(request)
            .annotate(member_total=Count("members", distinct=True))
            .prefetch_related(Prefetch("members", queryset=members))
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # unlink instead, which remembers the decision

    def render_change_form(self, request, context, *args, **kwargs):
        context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False)
        return super().render_change_form(request, context, *args, **kwargs)

    @admin.display(description="copies", ordering="member_total")
    def member_count(self, work):
        return work.member_total

    @admin.display(description="sources")
    def copies(self, work):
        return format_html_join(
            ", ", "{} ({})", ((m.source.name, m.get_method_display()) for m in work.members.all())
        )


@admin.register(MatchDecision)
class MatchDecisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "verdict",
        "kind",
        "left_label",
        "left_source",
        "right_label",
        "right_source",
        "decided_by",
        "decided_at",
    )
    list_filter = ("verdict", "kind", "left_source", "right_source")
    list_select_related = ("left_source", "right_source", "decided_by")
    search_fields = ("left_label", "right_label")
    readonly_fields = [field.name for field in MatchDecision._meta.fields]
    show_full_result_count = False


@admin.register(WorkMember)
class WorkMemberAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("work", "source", "member_item", "method", "confidence", "linked_at")
    list_filter = ("method", "source")
    list_select_related = ("work", "source", "movie", "show")
    search_fields = ("work__title", "movie__title", "show__title")
    readonly_fields = [field.name for field in WorkMember._meta.fields]
    show_full_result_count = False

    @admin.display(description="item")
    def member_item(self, member):
        return _item_label(member.item)


@admin.register(MatchedItem)
class MatchedItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Matching's incremental cursor; listed for debugging ("was this row looked at?")."""

    list_display = ("__str__", "movie", "show", "digest", "matched_at")
    list_select_related = ("movie", "show")
    search_fields = ("movie__title", "show__title")
    readonly_fields = [field.name for field in MatchedItem._meta.fields]
    show_full_result_count = False


@admin.register(MatchingTurn)
class MatchingTurnAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The lock matching runs and staff decisions take turns on; its generation counts their writes."""

    list_display = ("name", "generation")
    readonly_fields = ("name", "generation")
