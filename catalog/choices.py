"""Enumerations used by the catalog models (and by scheduling, which reads them)."""

from django.db import models


class SourceKind(models.TextChoices):
    PLEX = "plex", "Plex server"
    TMM = "tmm", "TMM .nfo directory"
    FOLDER = "folder", "Media folder"


class LibraryKind(models.TextChoices):
    MOVIE = "movie", "Movies"
    SHOW = "show", "TV shows"
    OTHER = "other", "Other"


class ItemState(models.TextChoices):
    """Whether the source still lists the item. Removed rows are kept: schedules may point at them."""

    ACTIVE = "active", "Active"
    REMOVED = "removed", "Removed from source"


class FileState(models.TextChoices):
    NORMAL = "normal", "Normal (local file)"
    REMOTE_ONLY = "remote_only", "Remote only (streamed from Plex)"
    UNAVAILABLE = "unavailable", "Unavailable"
    FILE_NOT_FOUND = "file_not_found", "File not found"


class ContentKind(models.TextChoices):
    EPISODE = "episode", "Episode"
    MOVIE = "movie", "Movie"
    COMMERCIAL = "commercial", "Commercial"
    BUMPER = "bumper", "Bumper"
    PROMO = "promo", "Promo"
    STATION_ID = "station_id", "Station ID"
    INTRO = "intro", "Intro"
    OUTRO = "outro", "Outro"
    INTERSTITIAL = "interstitial", "Interstitial"
    FILLER = "filler", "Filler"


SHORT_FORM_KINDS = [
    ContentKind.COMMERCIAL,
    ContentKind.BUMPER,
    ContentKind.PROMO,
    ContentKind.STATION_ID,
    ContentKind.INTRO,
    ContentKind.OUTRO,
    ContentKind.INTERSTITIAL,
    ContentKind.FILLER,
]


class Daypart(models.TextChoices):
    """Broadcast dayparts, the way US stations sell airtime."""

    ANY = "", "Any daypart"
    EARLY_MORNING = "early_morning", "Early morning (05–09)"
    DAYTIME = "daytime", "Daytime (09–16)"
    EARLY_FRINGE = "early_fringe", "Early fringe (16–19)"
    PRIME_ACCESS = "prime_access", "Prime access (19–20)"
    PRIME_TIME = "prime_time", "Prime time (20–23)"
    LATE_NIGHT = "late_night", "Late night (23–02)"
    OVERNIGHT = "overnight", "Overnight (02–05)"
    SATURDAY_MORNING = "saturday_morning", "Saturday morning"


class SeasonalPreference(models.TextChoices):
    ANY = "", "Any time of year"
    SPRING = "spring", "Spring"
    SUMMER = "summer", "Summer"
    AUTUMN = "autumn", "Autumn"
    WINTER = "winter", "Winter"
    HALLOWEEN = "halloween", "Halloween"
    THANKSGIVING = "thanksgiving", "Thanksgiving"
    CHRISTMAS = "christmas", "Christmas"
    NEW_YEAR = "new_year", "New Year"
    BACK_TO_SCHOOL = "back_to_school", "Back to school"


class Demographic(models.TextChoices):
    ANY = "", "Everyone"
    KIDS = "kids", "Kids"
    TEENS = "teens", "Teens"
    ADULTS = "adults", "Adults"
    FAMILY = "family", "Family"
    WOMEN = "women", "Women"
    MEN = "men", "Men"
    SENIORS = "seniors", "Seniors"


class ExternalIdProvider(models.TextChoices):
    TVDB = "tvdb", "TheTVDB"
    TMDB = "tmdb", "TMDB"
    IMDB = "imdb", "IMDb"
    PLEX = "plex", "Plex"


# Lower number wins when choosing an item's primary id: TVDB > TMDB > IMDB > Plex.
PROVIDER_PRIORITY = {
    ExternalIdProvider.TVDB: 0,
    ExternalIdProvider.TMDB: 1,
    ExternalIdProvider.IMDB: 2,
    ExternalIdProvider.PLEX: 3,
}


class ExternalIdOwnerKind(models.TextChoices):
    SHOW = "show", "Show"
    SEASON = "season", "Season"
    EPISODE = "episode", "Episode"
    MOVIE = "movie", "Movie"
    SHORT_FORM = "short_form", "Short-form item"


class ChapterOrigin(models.TextChoices):
    PLEX = "plex", "From Plex"
    EMBEDDED = "embedded", "Embedded in the file"
    MANUAL = "manual", "Set by staff"
    DETECTED = "detected", "Detected (black frames / silence)"


class MarkerKind(models.TextChoices):
    INTRO = "intro", "Intro"
    CREDITS = "credits", "Credits"
    COMMERCIAL = "commercial", "Commercial"


class SyncKind(models.TextChoices):
    FULL = "full", "Full"
    INCREMENTAL = "incremental", "Incremental"
    DEEP = "deep", "Deep"


class SyncStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partial (some items failed)"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class AuthState(models.TextChoices):
    """Whether the Plex server accepted the source's token the last time RetroVue asked."""

    UNKNOWN = "unknown", "Not checked yet"
    OK = "ok", "Signed in"
    NEEDS_SIGN_IN = "needs_sign_in", "Needs sign-in"


class SignInState(models.TextChoices):
    WAITING = "waiting", "Waiting for approval on plex.tv"
    SIGNED_IN = "signed_in", "Signed in; choose a server"
    EXPIRED = "expired", "Code expired"
    USED = "used", "Server chosen"


class SyncItemErrorKind(models.TextChoices):
    MALFORMED = "malformed", "Malformed in Plex's answer"
    ORPHAN = "orphan", "Parent not in the library"


# Cross-source matching (catalog.matching).


class WorkKind(models.TextChoices):
    MOVIE = "movie", "Movie"
    SHOW = "show", "TV show"


class LinkMethod(models.TextChoices):
    IDS = "ids", "Same external ids"
    TITLE = "title", "Same title and year"
    STAFF = "staff", "Linked by staff"


class MatchStatus(models.TextChoices):
    OPEN = "open", "Open"
    LINKED = "linked", "Linked"
    KEPT_APART = "kept_apart", "Kept apart"


class MatchVerdict(models.TextChoices):
    LINK = "link", "Link"
    APART = "apart", "Keep apart"


class StreamKind(models.TextChoices):
    VIDEO = "video", "Video"
    AUDIO = "audio", "Audio"
    SUBTITLE = "subtitle", "Subtitle"


class StreamOrigin(models.TextChoices):
    """Who reported a track: each source's rows are replaced only by that source's next report."""

    PLEX = "plex", "Plex"
    PROBE = "probe", "ffprobe of the file"
    SIDECAR = "sidecar", "Subtitle file beside the video"
