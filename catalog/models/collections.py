"""Collections (Plex collections, .nfo movie sets) and their members, in order."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from catalog.choices import ItemState
from catalog.models.items import Playable, Season, Show
from catalog.models.sources import Library, MediaSource


class Collection(models.Model):
    """A Plex collection of one library section: hand-picked, or smart (a saved filter that Plex
    resolves itself); or a movie set a folder source's .nfo files name (`<set>`, rating key
    `set:tmdb:<id>` or `set:<name>`; see catalog.folders.sets). Identity is the rating key; a
    collection gone from its source is marked removed, so schedule slots that draw from it stay
    valid and simply find nothing to air."""

    source = models.ForeignKey(MediaSource, on_delete=models.CASCADE, related_name="collections")
    library = models.ForeignKey(
        Library, on_delete=models.SET_NULL, null=True, blank=True, related_name="collections"
    )
    rating_key = models.CharField(max_length=200)
    guid = models.CharField(max_length=300, blank=True, help_text="collection://<uuid>")
    title = models.CharField(max_length=300)
    sort_title = models.CharField(max_length=300, blank=True)
    summary = models.TextField(blank=True)
    content_rating = models.CharField(max_length=40, blank=True)
    smart = models.BooleanField(default=False, help_text="Plex fills it from a saved filter.")
    smart_filter = models.TextField(
        blank=True, help_text="Plex's filter URI (`content`) of a smart collection."
    )
    subtype = models.CharField(max_length=20, blank=True, help_text="What it holds: movie, show, episode…")
    child_count = models.PositiveIntegerField(default=0)
    updated_at_plex = models.DateTimeField(null=True, blank=True)
    source_fingerprint = models.CharField(
        max_length=32, blank=True, editable=False, help_text="Digest of the listing at the last sync."
    )
    members_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    state = models.CharField(max_length=10, choices=ItemState.choices, default=ItemState.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_title", "title"]
        constraints = [
            models.UniqueConstraint(fields=["source", "rating_key"], name="collection_unique_rating_key")
        ]

    def __str__(self) -> str:
        return self.title


class MemberKind(models.TextChoices):
    SHOW = "show", "Show"
    SEASON = "season", "Season"
    EPISODE = "episode", "Episode"
    MOVIE = "movie", "Movie"
    OTHER = "other", "Other"


class CollectionMember(models.Model):
    """One entry of a collection, in Plex's order. It links to the catalog row it names (show,
    season, or movie/episode); the link is empty while that item isn't in the catalog."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="members")
    position = models.PositiveIntegerField()
    rating_key = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=MemberKind.choices)
    title = models.CharField(max_length=300, blank=True)
    show = models.ForeignKey(
        Show, on_delete=models.SET_NULL, null=True, blank=True, related_name="collection_memberships"
    )
    season = models.ForeignKey(
        Season, on_delete=models.SET_NULL, null=True, blank=True, related_name="collection_memberships"
    )
    playable = models.ForeignKey(
        Playable, on_delete=models.SET_NULL, null=True, blank=True, related_name="collection_memberships"
    )

    class Meta:
        ordering = ["collection", "position"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "rating_key"], name="collection_member_unique"),
            models.CheckConstraint(
                name="collection_member_at_most_one_link",
                condition=~(Q(show__isnull=False) & (Q(season__isnull=False) | Q(playable__isnull=False)))
                & ~(Q(season__isnull=False) & Q(playable__isnull=False)),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.collection_id} #{self.position}: {self.title or self.rating_key}"
