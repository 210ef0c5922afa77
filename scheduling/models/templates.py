from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from catalog.choices import Daypart
from catalog.models import Collection, Movie, Show
from scheduling.choices import OrderMode, SlotContent
from scheduling.models.channels import Channel

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


class ScheduleTemplate(models.Model):
    """A layer of a channel's schedule. On each day, templates whose dates include it stack by
    priority: a slot of a higher-priority template (December's holiday specials) wins over the
    slots it overlaps in lower ones (the regular week)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="templates")
    name = models.CharField(max_length=100)
    priority = models.IntegerField(default=0, help_text="Higher wins where slots overlap.")
    enabled = models.BooleanField(default=True)
    from_month_day = models.CharField(
        max_length=5, blank=True, help_text="MM-DD this template starts applying each year (blank: always)."
    )
    until_month_day = models.CharField(
        max_length=5, blank=True, help_text="MM-DD it stops applying (inclusive)."
    )

    class Meta:
        ordering = ["channel", "-priority", "name"]

    def __str__(self) -> str:
        return f"{self.channel.number}: {self.name}"

    def clean(self):
        for field in ("from_month_day", "until_month_day"):
            value = getattr(self, field)
            if value and not _valid_month_day(value):
                raise ValidationError({field: f"{value!r} is not a date like 12-01 (month-day)."})
        if bool(self.from_month_day) != bool(self.until_month_day):
            raise ValidationError("Give both the first and the last day of the season, or neither.")

    def applies_on(self, day) -> bool:
        if not self.from_month_day:
            return True
        today = f"{day.month:02d}-{day.day:02d}"
        start, end = self.from_month_day, self.until_month_day
        return start <= today <= end if start <= end else (today >= start or today <= end)  # wraps New Year


def _valid_month_day(value: str) -> bool:
    try:
        month, day = (int(part) for part in value.split("-"))
    except ValueError:
        return False
    return 1 <= month <= 12 and 1 <= day <= 31


class TimeSlot(models.Model):
    """ "Weekdays 18:00–18:30: Seinfeld, in order", or a block ("Saturday 07:00–11:00: shuffle these")."""

    template = models.ForeignKey(ScheduleTemplate, on_delete=models.CASCADE, related_name="slots")
    title = models.CharField(
        max_length=100, blank=True, help_text="Block name shown in the guide (optional)."
    )
    days = models.JSONField(default=list, help_text="Weekdays, 0 = Monday … 6 = Sunday.")
    start_time = models.TimeField()
    end_time = models.TimeField(help_text="Exclusive; 00:00 means midnight at the end of the day.")
    content = models.CharField(max_length=10, choices=SlotContent.choices, default=SlotContent.EPISODES)
    order = models.CharField(max_length=10, choices=OrderMode.choices, default=OrderMode.IN_ORDER)
    shows = models.ManyToManyField(Show, blank=True, related_name="slots")
    movies = models.ManyToManyField(
        Movie, blank=True, related_name="slots", help_text="Empty: any movie allowed."
    )
    collection = models.ForeignKey(
        Collection,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="slots",
        help_text="For collection slots: its movies and episodes (a show in it brings all its episodes).",
    )
    repeat_spacing_days = models.PositiveIntegerField(
        default=14,
        validators=[MaxValueValidator(3650)],
        help_text="Random order: don't repeat within this many days.",
    )
    daypart = models.CharField(max_length=20, choices=Daypart.choices, blank=True)

    class Meta:
        ordering = ["template", "start_time"]

    def __str__(self) -> str:
        days = ",".join(WEEKDAYS[day] for day in sorted(self.days)) or "no days"
        return (
            f"{days} {self.start_time:%H:%M}–{self.end_time:%H:%M} {self.title or self.get_content_display()}"
        )

    def clean(self):
        if not isinstance(self.days, list) or not self.days or any(day not in range(7) for day in self.days):
            raise ValidationError({"days": "Choose at least one weekday (0 = Monday … 6 = Sunday)."})
        if self.start_time is None or self.end_time is None:
            # A time the form could not read (empty, 25:99, 24:00) already has its own error.
            return
        if self.start_time.second or self.end_time.second:
            raise ValidationError("Slots start and end on whole minutes.")
        if self.start_time.minute % 30 or self.end_time.minute % 30:
            raise ValidationError("Slots start and end on the hour or half hour, as programs do on TV.")
        if self.end_time != self.end_time.replace(hour=0, minute=0) and self.end_time <= self.start_time:
            raise ValidationError({"end_time": "The slot must end after it starts (00:00 means midnight)."})
        if self.content == SlotContent.COLLECTION and self.collection_id is None:
            raise ValidationError({"collection": "Choose the collection this slot draws from."})
        if self.content != SlotContent.COLLECTION and self.collection_id is not None:
            raise ValidationError(
                {
                    "collection": "Only a slot whose content is “Members of a collection” draws from a collection."
                }
            )

    @property
    def minutes(self) -> tuple[int, int]:
        start = self.start_time.hour * 60 + self.start_time.minute
        end = self.end_time.hour * 60 + self.end_time.minute
        return start, end if end > start else 24 * 60


class BreakRule(models.Model):
    """How a channel breaks its programs, optionally for one daypart."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="break_rules")
    daypart = models.CharField(
        max_length=20, choices=Daypart.choices, blank=True, help_text="Blank: all day."
    )
    min_spacing_minutes = models.PositiveIntegerField(
        default=6,
        validators=[MinValueValidator(1)],
        help_text="Chapter marks closer than this merge into one break.",
    )
    edge_minutes = models.PositiveIntegerField(
        default=3, help_text="No break this close to a program's start or end."
    )
    breaks_per_half_hour = models.PositiveIntegerField(
        default=2,
        validators=[MaxValueValidator(6)],
        help_text="When a file has no chapter marks: evenly spaced breaks.",
    )
    max_break_seconds = models.PositiveIntegerField(default=180, help_text="Longest commercial break.")
    use_bumpers = models.BooleanField(default=True)
    commercial_categories = models.CharField(
        max_length=300,
        blank=True,
        help_text="Only commercials of these categories (comma-separated, e.g. toys, cereal); blank: any.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "daypart"], name="break_rule_unique_daypart")
        ]

    def __str__(self) -> str:
        return f"{self.channel.number} breaks ({self.get_daypart_display() or 'all day'})"

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(
            part.strip().casefold() for part in self.commercial_categories.split(",") if part.strip()
        )
