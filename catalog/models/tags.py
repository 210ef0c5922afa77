"""Genres, studios/networks and people, shared by every item that names them.

Plex and .nfo files give these as free strings on each item; here each name is one row, and items
point at it through ordered link rows, so "every show on NBC" or "everything with Bea Arthur" is a
join, not a scan of JSON. Names are matched exactly (after trimming): two people who share a name
share a row, which is also how Plex's own tag filters behave.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from catalog.models.items import Playable, Show


class Genre(models.Model):
    """A genre name ("Sitcom", "Animation")."""

    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Studio(models.Model):
    """A studio or TV network ("NBC", "Warner Bros."): a show's network, a movie's studio."""

    name = models.CharField(max_length=200, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "studio or network"
        verbose_name_plural = "studios and networks"

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    """An actor, director, writer or producer, as credited by a source."""

    name = models.CharField(max_length=200, unique=True)
    thumb_url = models.URLField(max_length=500, blank=True, help_text="Photo URL as the source gives it.")
    plex_tag_key = models.CharField(
        max_length=40, blank=True, help_text="Plex's global person id (tagKey), when known."
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "people"

    def __str__(self) -> str:
        return self.name


class ShowGenre(models.Model):
    """A show is in a genre; `position` keeps the source's order (the first is the main one)."""

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="genre_links")
    genre = models.ForeignKey(Genre, on_delete=models.CASCADE, related_name="show_links")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["show", "position"]
        constraints = [models.UniqueConstraint(fields=["show", "genre"], name="show_genre_unique")]

    def __str__(self) -> str:
        return f"{self.show_id} in {self.genre_id}"


class PlayableGenre(models.Model):
    """A movie or episode is in a genre, in the source's order."""

    playable = models.ForeignKey(Playable, on_delete=models.CASCADE, related_name="genre_links")
    genre = models.ForeignKey(Genre, on_delete=models.CASCADE, related_name="playable_links")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["playable", "position"]
        constraints = [models.UniqueConstraint(fields=["playable", "genre"], name="playable_genre_unique")]

    def __str__(self) -> str:
        return f"{self.playable_id} in {self.genre_id}"


class CreditRole(models.TextChoices):
    ACTOR = "actor", "Actor"
    DIRECTOR = "director", "Director"
    WRITER = "writer", "Writer"
    PRODUCER = "producer", "Producer"


class Credit(models.Model):
    """One person's credit on a show, or on a movie/episode: their role, the character, the billing
    order. Exactly one of `show` / `playable` is set."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="credits")
    role = models.CharField(max_length=10, choices=CreditRole.choices)
    character = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Billing order within the role.")
    show = models.ForeignKey(Show, on_delete=models.CASCADE, null=True, blank=True, related_name="credits")
    playable = models.ForeignKey(
        Playable, on_delete=models.CASCADE, null=True, blank=True, related_name="credits"
    )

    class Meta:
        ordering = ["role", "position"]
        constraints = [
            models.CheckConstraint(
                name="credit_has_one_owner",
                condition=(Q(show__isnull=False) & Q(playable__isnull=True))
                | (Q(show__isnull=True) & Q(playable__isnull=False)),
            ),
            models.UniqueConstraint(
                fields=["show", "role", "person"],
                condition=Q(show__isnull=False),
                name="credit_unique_on_show",
            ),
            models.UniqueConstraint(
                fields=["playable", "role", "person"],
                condition=Q(playable__isnull=False),
                name="credit_unique_on_playable",
            ),
        ]
        indexes = [models.Index(fields=["person", "role"], name="credit_person_role_idx")]

    def __str__(self) -> str:
        suffix = f" as {self.character}" if self.character else ""
        return f"{self.person} ({self.get_role_display()}){suffix}"
