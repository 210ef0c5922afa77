"""CAP feeds, the documents received, and the priority table."""

from django.db import models

from alerts.models.settings import validate_area_codes


class CapFeed(models.Model):
    """A CAP source polled by beat: a CAP document, or an index (Atom, RSS, NWS JSON) linking to them."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500, help_text="http(s) only; fetched through the station's URL policy.")
    poll_seconds = models.PositiveIntegerField(default=60)
    area_codes = models.TextField(
        blank=True,
        validators=[validate_area_codes],
        help_text="The areas this feed covers; alerts without geocodes target these (empty: every channel).",
    )
    enabled = models.BooleanField(default=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name


class CapDocument(models.Model):
    """One CAP document received (from a feed or by POST) and what became of it."""

    class Outcome(models.TextChoices):
        AIRED = "aired", "Issued as an alert"
        UPDATED = "updated", "Replaced an earlier alert"
        CANCELLED = "cancelled", "Ended earlier alerts"
        DUPLICATE = "duplicate", "Duplicate (ignored)"
        IGNORED = "ignored", "Not for air (ignored)"
        REJECTED = "rejected", "Rejected (malformed)"

    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    feed = models.ForeignKey(
        CapFeed, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    identifier = models.CharField(max_length=255, blank=True)
    sender = models.CharField(max_length=255, blank=True)
    sent = models.DateTimeField(null=True, blank=True)
    msg_type = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=10, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.TextField(blank=True)
    alert = models.ForeignKey(
        "alerts.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    size_bytes = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["identifier", "sender"], name="capdocument_identity")]

    def __str__(self) -> str:
        return f"{self.identifier or '(unreadable)'}: {self.outcome}"


ANY = ""


class CapPriorityRule(models.Model):
    """Severity × urgency × certainty → priority, editable by staff. The most specific matching rule
    wins (fewest "any"); with no rule, `alerts.cap_import.default_priority` decides."""

    severity = models.CharField(max_length=10, blank=True, help_text="Empty: any.")
    urgency = models.CharField(max_length=10, blank=True, help_text="Empty: any.")
    certainty = models.CharField(max_length=10, blank=True, help_text="Empty: any.")
    priority = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["severity", "urgency", "certainty"], name="cap_priority_rule_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.severity or 'any'} × {self.urgency or 'any'} × {self.certainty or 'any'} → {self.priority}"
