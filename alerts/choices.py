"""Enumerations of the alerts app. CAP 1.2 words (§3.2) are kept as CAP spells them, so a CAP
document maps onto them without translation."""

from django.db import models


class Severity(models.TextChoices):
    EXTREME = "Extreme"
    SEVERE = "Severe"
    MODERATE = "Moderate"
    MINOR = "Minor"
    UNKNOWN = "Unknown"


class MessageStatus(models.TextChoices):
    """CAP `status`: only Actual is a real emergency; the others never carry EAS tones."""

    ACTUAL = "Actual"
    EXERCISE = "Exercise"
    SYSTEM = "System"
    TEST = "Test"
    DRAFT = "Draft"


class Targeting(models.TextChoices):
    ALL = "all", "All channels"
    CHANNELS = "channels", "Chosen channels"
    AREAS = "areas", "Channels covering these area codes"


class Mode(models.TextChoices):
    SLATE = "slate", "Full-screen slate"
    CRAWL = "crawl", "Crawl over the program"


class Origin(models.TextChoices):
    STAFF = "staff", "Staff"
    CAP = "cap", "CAP feed"


class AttentionSignal(models.TextChoices):
    STATION_TONE = "station_tone", "Station alert tone (not the EAS signal)"
    EAS = "eas", "EAS attention signal and SAME headers (real alerts only, 47 CFR §11.31/§11.45)"


class EventKind(models.TextChoices):
    ISSUED = "issued"
    CLEARED = "cleared"
    ENDED = "ended"
    PREEMPTED = "preempted"
    ON_AIR = "on_air"
    OFF_AIR = "off_air"
    RESUMED = "resumed"  # the channel resumed the interrupted program, the rest of its day rippling


class OnClear(models.TextChoices):
    """Where a channel goes when an alert that interrupted it ends."""

    REJOIN = "rejoin", "Rejoin the schedule where the clock is (the show went on underneath)"
    RESUME = "resume", "Resume the interrupted program where it was cut; the rest of the day airs later"
