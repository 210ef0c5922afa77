"""Alert slates: one encode per alert and stream profile, stream-copied by every channel."""

from django.db import models


class SlateState(models.TextChoices):
    PENDING = "pending"
    ENCODING = "encoding"
    READY = "ready"
    FAILED = "failed"


class AlertSlate(models.Model):
    """The alert's full-screen slate encoded to one stream profile. Every channel with that profile
    airs this one file; the row is claimed before encoding, so a second request never encodes again."""

    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="slates")
    profile = models.ForeignKey("scheduling.StreamProfile", on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, choices=SlateState.choices, default=SlateState.PENDING)
    path = models.CharField(max_length=1024, blank=True, help_text="Relative to the slate store.")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    attention_signal = models.CharField(max_length=20, blank=True)
    same_header = models.CharField(max_length=300, blank=True, help_text="The SAME header aired, if any.")
    encode_seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "profile"], name="alert_slate_once_per_profile")
        ]

    def __str__(self) -> str:
        return f"Slate of alert {self.alert_id} for {self.profile_id}: {self.state}"
