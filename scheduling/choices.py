"""Enumerations of the scheduling app."""

from django.db import models


class OrderMode(models.TextChoices):
    IN_ORDER = "in_order", "In order (remembers where it left off)"
    SHUFFLE = "shuffle", "Shuffle (no repeats until all have aired)"
    RANDOM = "random", "Random (with repeat spacing)"


class SlotContent(models.TextChoices):
    EPISODES = "episodes", "Episodes of the chosen shows"
    MOVIES = "movies", "Movies"
    COLLECTION = "collection", "Members of a collection"


class BugCorner(models.TextChoices):
    TOP_LEFT = "top_left", "Top left"
    TOP_RIGHT = "top_right", "Top right"
    BOTTOM_LEFT = "bottom_left", "Bottom left"
    BOTTOM_RIGHT = "bottom_right", "Bottom right"


class ProgramCategory(models.TextChoices):
    SERIES = "Series", "Series"
    MOVIE = "Movie", "Movie"
    FILLER = "Filler", "Filler"
    LIVE = "Live", "Live event"
    OFF_AIR = "Off air", "Off air"


class PieceKind(models.TextChoices):
    """What one row of the break log is; mirrors the catalog's content kinds plus what has no item."""

    CONTENT = "content", "Program content"
    COMMERCIAL = "commercial", "Commercial"
    BUMPER = "bumper", "Bumper"
    PROMO = "promo", "Promo"
    STATION_ID = "station_id", "Station ID"
    INTRO = "intro", "Intro"
    OUTRO = "outro", "Outro"
    INTERSTITIAL = "interstitial", "Interstitial"
    FILLER = "filler", "Filler"
    SLATE = "slate", "Slate (nothing to air)"
    LIVE = "live", "Live source"
    TEST_PATTERN = "test_pattern", "Test pattern (off air)"


class VideoMode(models.TextChoices):
    """How a stream profile's pieces get their video (see playout.smart_copy)."""

    ENCODE = "encode", "Encode every piece"
    SMART_COPY = "smart_copy", "Copy sources that fit the profile, encode the rest"
    PASS_THROUGH = "pass_through", "Air sources at their own size, encode only what does not fit"


class VideoCodec(models.TextChoices):
    H264 = "h264", "H.264"
    HEVC = "hevc", "HEVC (H.265)"
