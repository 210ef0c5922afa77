"""Admin list pages built for big libraries: related rows are joined (`list_select_related`), the
full result count is skipped, foreign keys use autocomplete instead of giant select boxes, and
long text columns no row shows are left out of the query.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList

from catalog.models import Library
from retrovue.core.formatting import format_duration_ms


class NarrowRowsChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        return super().get_queryset(request, exclude_parameters).defer(*self.model_admin.list_defer)


class NarrowRowsMixin:
    """Lists leave out the long text columns no row shows (`list_defer`).

    A deep page sorts every matching row before its OFFSET; with a paragraph of summary in each
    row that sort spills from memory to disk.
    """

    list_defer: tuple[str, ...] = ()

    def get_changelist(self, request, **kwargs):
        return NarrowRowsChangeList


class DurationColumnMixin:
    @admin.display(description="length", ordering="duration_ms")
    def length(self, item):
        return format_duration_ms(item.duration_ms)


class LibraryListFilter(admin.RelatedFieldListFilter):
    """Filter by library; a library's name includes its source's, so fetch both in one query."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin) or Library._meta.ordering
        return [
            (library.pk, str(library))
            for library in Library.objects.select_related("source").order_by(*ordering)
        ]
