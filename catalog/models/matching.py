from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.choices import LinkMethod, MatchStatus, MatchVerdict, WorkKind
from catalog.models.items import Movie, Show
from catalog.models.sources import MediaSource


class Work(models.Model):
    """One movie or show as itself, held by two or more sources (Plex and a TMM folder, say).

    Each source keeps its own row, file and state; the members of a work are the rows that are
    the same work, so the planner airs one of them, never both as if they were two programs.
    A row that only one source holds has no work.
    """

    kind = models.CharField(max_length=8, choices=WorkKind.choices)
    title = models.CharField(max_length=300)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "year"]
        indexes = [models.Index(fields=["kind", "title"], name="work_kind_title_idx")]

    def __str__(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title


class WorkMember(models.Model):
    """A source's row (a movie or a show) that is one of the copies of a work, and why."""

    work = models.ForeignKey(Work, on_delete=models.CASCADE, related_name="members")
    source = models.ForeignKey(MediaSource, on_delete=models.CASCADE, related_name="+")
    movie = models.OneToOneField(
        Movie, on_delete=models.CASCADE, null=True, blank=True, related_name="work_member"
    )
    show = models.OneToOneField(
        Show, on_delete=models.CASCADE, null=True, blank=True, related_name="work_member"
    )
    method = models.CharField(max_length=8, choices=LinkMethod.choices)
    confidence = models.FloatField(default=1.0)
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["work", "source__name"]
        constraints = [
            models.CheckConstraint(
                name="work_member_movie_or_show",
                condition=Q(movie__isnull=False, show__isnull=True)
                | Q(movie__isnull=True, show__isnull=False),
            ),
            models.UniqueConstraint(fields=["work", "source"], name="work_member_one_per_source"),
        ]

    def __str__(self) -> str:
        return f"{self.item} in {self.source}"

    @property
    def item(self):
        return self.movie if self.movie_id else self.show


class MatchCandidate(models.Model):
    """A pair from two sources that may be one work, with the evidence; open ones are the conflict queue.

    `left` is the row of the source with the lower id, so a pair has one row whichever side
    arrived first. Resolving it records a MatchDecision, which is what later syncs obey.
    """

    kind = models.CharField(max_length=8, choices=WorkKind.choices)
    left_source = models.ForeignKey(MediaSource, on_delete=models.CASCADE, related_name="+")
    right_source = models.ForeignKey(MediaSource, on_delete=models.CASCADE, related_name="+")
    left_movie = models.ForeignKey(Movie, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    right_movie = models.ForeignKey(Movie, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    left_show = models.ForeignKey(Show, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    right_show = models.ForeignKey(Show, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    confidence = models.FloatField(help_text="How alike title and year are (0–1), whatever the ids say.")
    title_score = models.FloatField()
    year_delta = models.PositiveSmallIntegerField(null=True, blank=True)
    ids_conflict = models.BooleanField(default=False, help_text="The sources give different external ids.")
    reason = models.CharField(max_length=120, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=MatchStatus.choices, default=MatchStatus.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "match conflict"
        ordering = ["-confidence", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["left_movie", "right_movie"], name="match_candidate_movie_pair"),
            models.UniqueConstraint(fields=["left_show", "right_show"], name="match_candidate_show_pair"),
            models.CheckConstraint(
                name="match_candidate_one_kind",
                condition=(
                    Q(left_movie__isnull=False, right_movie__isnull=False, left_show__isnull=True)
                    & Q(right_show__isnull=True)
                )
                | (
                    Q(left_show__isnull=False, right_show__isnull=False, left_movie__isnull=True)
                    & Q(right_movie__isnull=True)
                ),
            ),
        ]
        indexes = [models.Index(fields=["status", "kind"], name="match_candidate_status_idx")]

    def __str__(self) -> str:
        return f"{self.left} ↔ {self.right}"

    @property
    def left(self):
        return self.left_movie if self.left_movie_id else self.left_show

    @property
    def right(self):
        return self.right_movie if self.right_movie_id else self.right_show


class MatchDecision(models.Model):
    """Staff's verdict on a pair, keyed by both sides' stable identities, so syncs cannot reopen it.

    A side's keys are its external ids, its source key (ratingKey or path) and its normalised
    title and year; the decision applies to a pair when each side shares a key with the recorded
    ones. A re-keyed Plex item or a fully re-imported folder still matches, and the keys grow as
    the rows change. "Keep apart" pairs are never linked automatically again.
    """

    kind = models.CharField(max_length=8, choices=WorkKind.choices)
    verdict = models.CharField(max_length=8, choices=MatchVerdict.choices)
    left_source = models.ForeignKey(MediaSource, on_delete=models.CASCADE, related_name="+")
    right_source = models.ForeignKey(MediaSource, on_delete=models.CASCADE, related_name="+")
    left_keys = models.JSONField(default=list)
    right_keys = models.JSONField(default=list)
    left_label = models.CharField(max_length=320, blank=True)
    right_label = models.CharField(max_length=320, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-decided_at"]
        indexes = [
            models.Index(fields=["kind", "left_source", "right_source"], name="match_decision_pair_idx")
        ]

    def __str__(self) -> str:
        return f"{self.get_verdict_display()}: {self.left_label} / {self.right_label}"


class MatchedItem(models.Model):
    """What a row looked like (title, year, ids) when matching last considered it: the incremental cursor."""

    movie = models.OneToOneField(Movie, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    show = models.OneToOneField(Show, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    digest = models.CharField(max_length=32)
    matched_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="matched_item_movie_or_show",
                condition=Q(movie__isnull=False, show__isnull=True)
                | Q(movie__isnull=True, show__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"matched {self.movie_id or self.show_id}"


class MatchingTurn(models.Model):
    """The one row that matching runs and staff decisions lock in turn, on any database.

    A run judges its pairs without holding anything (so syncs keep writing meanwhile), then locks
    this row for its short write; `generation` counts those writes, so a run whose judging overlapped
    another's write knows its verdicts are stale and judges again.
    """

    name = models.CharField(max_length=20, primary_key=True)
    generation = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} (generation {self.generation})"
