from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from catalog.choices import ContentKind, Daypart, Demographic, ItemState, SeasonalPreference
from catalog.models.artwork import HasArtwork
from catalog.models.sources import Library, MediaSource
from catalog.ratings import rank as rating_rank_of

RATING_RANK_HELP = (
    "Minimum viewer age of the content rating on one scale; 99 unrated or unknown, empty without a rating."
)


def _with_rating_rank(instance, kwargs: dict) -> dict:
    """Keep the stored rank in step with the rating, also for saves that name their fields."""
    instance.rating_rank = rating_rank_of(instance.content_rating)
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and "content_rating" in update_fields:
        kwargs["update_fields"] = {*update_fields, "rating_rank"}
    return kwargs


class Show(HasArtwork):
    """A TV series as one source knows it.

    Identity is the source's own key (Plex `ratingKey`), never the title: two "Battlestar
    Galactica" rows, 1978 and 2003, live side by side and are told apart by year and external ids.
    """

    source = models.ForeignKey(MediaSource, on_delete=models.CASCADE, related_name="shows")
    library = models.ForeignKey(
        Library, on_delete=models.SET_NULL, null=True, blank=True, related_name="shows"
    )
    rating_key = models.CharField(
        max_length=200,
        help_text="Plex ratingKey, or the folder path relative to the source for folder sources.",
    )
    title = models.CharField(max_length=300)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    sort_title = models.CharField(max_length=300, blank=True)
    summary = models.TextField(blank=True)
    content_rating = models.CharField(max_length=40, blank=True)
    rating_rank = models.PositiveSmallIntegerField(
        null=True, blank=True, editable=False, help_text=RATING_RANK_HELP
    )
    studio = models.CharField(max_length=200, blank=True, help_text="Studio or original network.")
    genres = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True, help_text="Free tags from the source (.nfo <tag>).")
    network = models.ForeignKey(
        "catalog.Studio",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="network_shows",
        help_text="Original network (or studio), as a shared row.",
    )
    genre_tags = models.ManyToManyField(
        "catalog.Genre", through="catalog.ShowGenre", blank=True, related_name="shows"
    )
    primary_guid = models.CharField(
        max_length=300, blank=True, help_text="Best external id, e.g. tvdb://76290."
    )
    source_fingerprint = models.CharField(
        max_length=32, blank=True, editable=False, help_text="Digest of the source's data at the last sync."
    )
    updated_at_plex = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=ItemState.choices, default=ItemState.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_title", "title", "year"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "rating_key"], name="show_unique_rating_key_per_source"
            ),
        ]
        indexes = [
            models.Index(fields=["title", "year"], name="show_title_year_idx"),
            models.Index(fields=["sort_title"], name="show_sort_title_idx"),
            models.Index(fields=["state"], name="show_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title

    def save(self, *args, **kwargs):
        if not self.sort_title:
            self.sort_title = sort_title_for(self.title)
        super().save(*args, **_with_rating_rank(self, kwargs))


def sort_title_for(title: str) -> str:
    lowered = title.strip()
    for article in ("The ", "A ", "An "):
        if lowered.startswith(article):
            return lowered[len(article) :]
    return lowered


class Season(HasArtwork):
    """A season of a show. Season 0 holds specials, as in Plex."""

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="seasons")
    season_number = models.PositiveIntegerField()
    title = models.CharField(max_length=300, blank=True)
    rating_key = models.CharField(max_length=200, blank=True)
    summary = models.TextField(blank=True)
    source_fingerprint = models.CharField(
        max_length=32, blank=True, editable=False, help_text="Digest of the source's data at the last sync."
    )
    updated_at_plex = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=ItemState.choices, default=ItemState.ACTIVE)

    class Meta:
        ordering = ["show", "season_number"]
        constraints = [
            models.UniqueConstraint(fields=["show", "season_number"], name="season_unique_number_per_show"),
        ]

    def __str__(self) -> str:
        return f"{self.show} – {self.title or f'Season {self.season_number}'}"


class Playable(HasArtwork):
    """Anything that can air: an episode, a movie, or a short-form item (commercial, bumper, …).

    Episodes, movies and short-form items extend this table (multi-table inheritance), so media
    files, chapter marks, scheduling metadata and the schedules' logs all point at one kind of row,
    while each kind keeps its own fields. The scheduling metadata lives here because staff set it
    on all kinds alike, often on hundreds of items at once.
    """

    kind = models.CharField(max_length=16, choices=ContentKind.choices, db_index=True)
    source = models.ForeignKey(MediaSource, on_delete=models.CASCADE, related_name="playables")
    library = models.ForeignKey(
        Library, on_delete=models.SET_NULL, null=True, blank=True, related_name="playables"
    )
    rating_key = models.CharField(
        max_length=200,
        blank=True,
        help_text="Plex ratingKey, or the file's path relative to a folder source.",
    )
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    content_rating = models.CharField(max_length=40, blank=True)
    rating_rank = models.PositiveSmallIntegerField(
        null=True, blank=True, editable=False, db_index=True, help_text=RATING_RANK_HELP
    )
    duration_ms = models.PositiveBigIntegerField(null=True, blank=True, help_text="Length in milliseconds.")
    source_fingerprint = models.CharField(
        max_length=32, blank=True, editable=False, help_text="Digest of the source's data at the last sync."
    )
    primary_guid = models.CharField(max_length=300, blank=True)
    updated_at_plex = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=ItemState.choices, default=ItemState.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Scheduling metadata.
    daypart = models.CharField(max_length=20, choices=Daypart.choices, blank=True, default=Daypart.ANY)
    seasonal_preference = models.CharField(
        max_length=20, choices=SeasonalPreference.choices, blank=True, default=SeasonalPreference.ANY
    )
    category = models.CharField(max_length=100, blank=True, help_text="e.g. toys, cereal, sitcom, news.")
    commercial_company = models.CharField(
        max_length=200, blank=True, help_text="Advertiser; two spots of one company never share a break."
    )
    expires_on = models.DateField(null=True, blank=True, help_text="Not scheduled after this date.")
    target_demographic = models.CharField(
        max_length=20, choices=Demographic.choices, blank=True, default=Demographic.ANY
    )
    content_warnings = models.CharField(max_length=300, blank=True)
    notes = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True, help_text="Free tags from the source (.nfo <tag>).")
    genre_tags = models.ManyToManyField(
        "catalog.Genre", through="catalog.PlayableGenre", blank=True, related_name="playables"
    )

    class Meta:
        verbose_name = "item"
        verbose_name_plural = "all items"
        ordering = ["title"]
        constraints = [
            # Plex ratingKeys are unique across every item type of one server.
            models.UniqueConstraint(
                fields=["source", "rating_key"],
                condition=~Q(rating_key=""),
                name="playable_unique_rating_key_per_source",
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "state"], name="playable_kind_state_idx"),
            models.Index(fields=["kind", "daypart"], name="playable_kind_daypart_idx"),
            models.Index(fields=["commercial_company"], name="playable_company_idx"),
            models.Index(fields=["title"], name="playable_title_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        super().save(*args, **_with_rating_rank(self, kwargs))


class Episode(Playable):
    """One episode of a show (kind = episode)."""

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="episodes")
    season = models.ForeignKey(
        Season, on_delete=models.SET_NULL, null=True, blank=True, related_name="episodes"
    )
    season_number = models.PositiveIntegerField(default=0)
    episode_number = models.PositiveIntegerField(null=True, blank=True)
    audience_rating = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    originally_aired = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["show__sort_title", "season_number", "episode_number"]
        indexes = [
            models.Index(fields=["show", "season_number", "episode_number"], name="episode_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.show.title} {self.code} {self.title}".strip()

    def save(self, *args, **kwargs):
        self.kind = ContentKind.EPISODE
        super().save(*args, **kwargs)

    @property
    def code(self) -> str:
        if self.episode_number is None:
            return f"S{self.season_number:02d}"
        return f"S{self.season_number:02d}E{self.episode_number:02d}"


class Movie(Playable):
    """A feature film (kind = movie)."""

    year = models.PositiveSmallIntegerField(null=True, blank=True)
    sort_title = models.CharField(max_length=300, blank=True)
    studio = models.CharField(max_length=200, blank=True)
    production_studio = models.ForeignKey(
        "catalog.Studio",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="movies",
        help_text="Studio, as a shared row.",
    )
    genres = models.JSONField(default=list, blank=True)
    audience_rating = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    originally_released = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["sort_title", "year"]
        indexes = [models.Index(fields=["sort_title", "year"], name="movie_sort_year_idx")]

    def __str__(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title

    def save(self, *args, **kwargs):
        self.kind = ContentKind.MOVIE
        if not self.sort_title:
            self.sort_title = sort_title_for(self.title)
        super().save(*args, **kwargs)


class ShortFormItem(Playable):
    """A commercial, bumper, promo, station ID, intro, outro, interstitial or filler clip.

    One model with a kind, not a model per kind: they differ only in how the scheduler uses them,
    and staff re-classify clips often (a promo becomes filler when its show ends).
    """

    year = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Year it originally aired.")
    promotes_show = models.ForeignKey(
        Show,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="promos",
        help_text="For promos: the show it advertises.",
    )
    min_duration_ms = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0)], help_text="Shortest usable cut (filler)."
    )

    class Meta:
        verbose_name = "short-form item"
        ordering = ["kind", "title"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"
