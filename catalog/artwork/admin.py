"""Poster thumbnails in the admin's lists and change pages (from the row itself: no extra queries)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from catalog.models import POSTER_WIDTH, THUMB_WIDTH, artwork_url


def _fallback_hash(obj) -> str:
    """An episode or season without a picture of its own shows its show's (already joined) poster."""
    show = getattr(obj, "show", None)
    return show.artwork_hash if show is not None else ""


class ArtworkColumnMixin:
    """Adds `artwork_thumbnail` (for list_display) and `artwork_preview` (for readonly_fields)."""

    @admin.display(description="poster")
    def artwork_thumbnail(self, obj):
        url = artwork_url(obj.artwork_hash or _fallback_hash(obj), THUMB_WIDTH)
        if url is None:
            if obj.artwork_error:
                return format_html('<span title="{}">⚠ no image</span>', obj.artwork_error)
            return ""
        return format_html(
            '<img src="{}" alt="" loading="lazy" decoding="async" class="rv-artwork" '
            'style="height:48px;width:auto;max-width:86px;display:block;border:1px solid #0003">',
            url,
        )

    @admin.display(description="title", ordering="title")
    def poster_and_title(self, obj):
        return format_html(
            '<span style="display:flex;align-items:center;gap:.6rem">{}<span>{}</span></span>',
            self.artwork_thumbnail(obj),
            obj.title,
        )

    @admin.display(description="poster")
    def artwork_preview(self, obj):
        url = artwork_url(obj.artwork_hash, POSTER_WIDTH)
        if url is None:
            return obj.artwork_error or ("waiting for the artwork task" if obj.artwork_ref else "none")
        return format_html('<img src="{}" alt="" style="max-width:200px;height:auto">', url)
