"""Alerts and their history."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from alerts.choices import EventKind, MessageStatus, Mode, Origin, Severity, Targeting
from alerts.models.settings import validate_area_codes

PRIORITY_MAX = 100


class AlertQuerySet(models.QuerySet):
    def active_at(self, moment) -> AlertQuerySet:
        """Alerts that have started, have not ended and are not cleared at `moment`."""
        return self.filter(starts_at__lte=moment, cleared_at__isnull=True).filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=moment)
        )

    def not_finished(self, moment) -> AlertQuerySet:
        """Active now or still to come: what "Clear all" clears."""
        return self.filter(cleared_at__isnull=True).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=moment))

    def by_precedence(self) -> AlertQuerySet:
        """Higher priority first; among equals, the one that started first keeps the air."""
        return self.order_by("-priority", "starts_at", "pk")


class Alert(models.Model):
    """One emergency message that overrides the channels it targets from `starts_at` until `ends_at`
    (or until cleared). Where several are active on a channel, the highest priority airs and the rest
    wait their turn."""

    headline = models.CharField(max_length=160)
    message = models.TextField(blank=True)
    instruction = models.TextField(blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.SEVERE)
    priority = models.PositiveSmallIntegerField(
        default=50,
        validators=[MinValueValidator(0), MaxValueValidator(PRIORITY_MAX)],
        help_text="0–100; a higher priority pre-empts a lower one on the same channel.",
    )
    status = models.CharField(
        max_length=10,
        choices=MessageStatus.choices,
        default=MessageStatus.ACTUAL,
        help_text="Only Actual is a real emergency; Test and Exercise never carry EAS tones.",
    )
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until cleared.")
    cleared_at = models.DateTimeField(null=True, blank=True, db_index=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    targeting = models.CharField(max_length=10, choices=Targeting.choices, default=Targeting.ALL)
    channels = models.ManyToManyField("scheduling.Channel", blank=True, related_name="alerts")
    area_codes = models.TextField(
        blank=True, validators=[validate_area_codes], help_text="SAME/FIPS or UGC codes, for area targeting."
    )
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.SLATE)
    sender = models.CharField(max_length=200, help_text="Who issued it: an agency, or the staff member.")
    same_event_code = models.CharField(
        max_length=3,
        default="CEM",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Three capital letters, e.g. TOR, FFW, CEM.")],
        help_text="SAME event code (EEE), used only where the station airs EAS headers; CEM = civil emergency.",
    )
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.STAFF)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # CAP identity (identifier, sender, sent): a duplicate is the same triple (IPAWS profile).
    cap_identifier = models.CharField(max_length=255, blank=True)
    cap_sent = models.DateTimeField(null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-pk"]
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="alert_window")]
        constraints = [
            models.UniqueConstraint(
                fields=["cap_identifier", "sender", "cap_sent"],
                condition=~Q(cap_identifier=""),
                name="alert_unique_cap_message",
            )
        ]

    def __str__(self) -> str:
        return self.headline

    def clean(self):
        super().clean()
        if self.ends_at and self.starts_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The end must come after the start."})
        if self.targeting == Targeting.AREAS and not (self.area_codes or "").strip():
            raise ValidationError({"area_codes": "Area targeting needs at least one area code."})

    def state_at(self, moment) -> str:
        if self.cleared_at and self.cleared_at <= moment:
            return "cleared"
        if self.ends_at and self.ends_at <= moment:
            return "ended"
        if self.starts_at > moment:
            return "scheduled"
        return "active"

    @property
    def state(self) -> str:
        return self.state_at(timezone.now())


class AlertEvent(models.Model):
    """One line of an alert's history: issued, cleared, or (per channel) on and off the air."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    channel = models.ForeignKey("scheduling.Channel", null=True, blank=True, on_delete=models.SET_NULL)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.kind} {self.at:%Y-%m-%d %H:%M:%S}"
