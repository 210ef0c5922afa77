"""RetroVue settings, read from the environment (see README "Configuration").

Two shapes of deployment share this module:

* **embedded** (the default): one machine, no servers to install. SQLite in WAL mode and a
  filesystem Celery broker in the data folder; keys are generated into the data folder on first
  start.
* **production**: PostgreSQL (`DATABASE_URL`), Redis (`CELERY_BROKER_URL`), keys and allowed
  hosts from the environment, secure cookies. Missing values stop start-up with a clear message.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from retrovue.core.private_data import published_modes, use_private_umask
from retrovue.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_path,
    env_secret_key,
    env_str,
    parse_database_url,
    sqlite_database,
)
from retrovue.secrets_store import embedded_encryption_key, embedded_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

RETROVUE_MODE = env_choice("RETROVUE_MODE", ("embedded", "production"), "embedded")
PRODUCTION = RETROVUE_MODE == "production"
DATA_DIR = env_path("RETROVUE_DATA_DIR", BASE_DIR / "data")
# Everything a RetroVue process creates is its user's alone (see retrovue.core.private_data).
use_private_umask()

DEBUG = env_bool("RETROVUE_DEBUG", False)

if PRODUCTION:
    SECRET_KEY = env_secret_key("RETROVUE_SECRET_KEY")
    RETROVUE_ENCRYPTION_KEYS = env_list("RETROVUE_ENCRYPTION_KEYS")
    ALLOWED_HOSTS = env_list("RETROVUE_ALLOWED_HOSTS")
else:
    SECRET_KEY = env_str("RETROVUE_SECRET_KEY", None) or embedded_secret_key(DATA_DIR)
    RETROVUE_ENCRYPTION_KEYS = env_list("RETROVUE_ENCRYPTION_KEYS", []) or [embedded_encryption_key(DATA_DIR)]
    # Tuners and IPTV players on the LAN address the box by whatever IP or name they found.
    ALLOWED_HOSTS = env_list("RETROVUE_ALLOWED_HOSTS", ["*"])

CSRF_TRUSTED_ORIGINS = env_list("RETROVUE_CSRF_TRUSTED_ORIGINS", [])

# Staff notices (a channel crash-looping, …) are e-mailed to these addresses when an SMTP host is set.
ADMINS = [("RetroVue staff", address) for address in env_list("RETROVUE_ADMIN_EMAILS", [])]
EMAIL_HOST = env_str("RETROVUE_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("RETROVUE_EMAIL_PORT", 25, minimum=1, maximum=65535)
SERVER_EMAIL = env_str("RETROVUE_EMAIL_FROM", "retrovue@localhost")
EMAIL_TIMEOUT = 10

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_celery_beat",
    "axes",
    "retrovue.core",
    "catalog",
    "scheduling",
    "playout",
    "alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "retrovue.core.staff_time.StaffTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "retrovue.core.login_throttle.KnownDeviceMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into a 429.
    "axes.middleware.AxesMiddleware",
]

# --- Sign-in throttling (django-axes; see retrovue.core.login_throttle) --------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses locked-out attempts before any password hashing
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("RETROVUE_LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("RETROVUE_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = "retrovue.core.login_throttle.lockout_parameters"
AXES_CLIENT_IP_CALLABLE = "retrovue.core.login_throttle.client_ip"
AXES_RESET_ON_SUCCESS = False  # else an attacker's own good sign-ins would wipe their failures
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_SENSITIVE_PARAMETERS = ["username"]  # logs show the address; a username may be a mistyped password
AXES_HTTP_RESPONSE_CODE = 429

ROOT_URLCONF = "retrovue.urls"
WSGI_APPLICATION = "retrovue.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "retrovue.core.context_processors.staff_notices",
            ],
        },
    },
]

_database_url = env_str("DATABASE_URL", None)
if PRODUCTION and not _database_url:
    env_str("DATABASE_URL")  # raises the "required" error with the variable's name
DATABASES = {
    "default": (
        parse_database_url("DATABASE_URL", _database_url).as_django()
        if _database_url
        else sqlite_database(DATA_DIR / "retrovue.sqlite3")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("RETROVUE_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_path("RETROVUE_STATIC_ROOT", DATA_DIR / "static")
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Production runs collectstatic at build time and gets hashed, forever-cacheable names;
        # the embedded default serves straight from the apps so no build step is needed.
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
MEDIA_ROOT = env_path("RETROVUE_MEDIA_ROOT", DATA_DIR / "media")
MEDIA_URL = "/media/"  # channel logos and bugs (nginx serves the folder in production)
# nginx (another user) reads uploads when the media folder lies outside the private data folder.
FILE_UPLOAD_DIRECTORY_PERMISSIONS, FILE_UPLOAD_PERMISSIONS = published_modes(MEDIA_ROOT, DATA_DIR)
HLS_ROOT = env_path("RETROVUE_HLS_ROOT", DATA_DIR / "hls")
# Posters cached by content hash (catalog.artwork); nginx serves the folder in production.
ARTWORK_ROOT = env_path("RETROVUE_ARTWORK_ROOT", DATA_DIR / "artwork")
ARTWORK_URL = "/artwork/"

LOGIN_URL = "admin:login"

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the admin's JavaScript reads it for its own POSTs
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SERVES_HTTPS = env_bool("RETROVUE_HTTPS", PRODUCTION)
SESSION_COOKIE_SECURE = SERVES_HTTPS
CSRF_COOKIE_SECURE = SERVES_HTTPS
SECURE_SSL_REDIRECT = SERVES_HTTPS and env_bool("RETROVUE_SSL_REDIRECT", True)
# Tuners (HDHomeRun clients such as Plex), IPTV players and health probes speak plain HTTP and do
# not follow a redirect to HTTPS, so the viewer-facing paths stay reachable on HTTP.
SECURE_REDIRECT_EXEMPT = [
    r"^iptv/",
    r"^hls/",
    r"^hdhr/",
    r"^discover\.json$",
    r"^lineup\.json$",
    r"^lineup_status\.json$",
    r"^device\.xml$",
    r"^healthz$",
]
SECURE_HSTS_SECONDS = env_int("RETROVUE_HSTS_SECONDS", 3600 if SERVES_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("RETROVUE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("RETROVUE_HSTS_PRELOAD", False)
# Subdomain-wide HSTS and preloading bind the operator's whole domain, which a TV box on one host
# name must not decide on its own; both stay opt-in, so their deploy warnings are silenced.
SILENCED_SYSTEM_CHECKS = [
    check
    for check, enabled in (
        ("security.W005", SECURE_HSTS_INCLUDE_SUBDOMAINS),
        ("security.W021", SECURE_HSTS_PRELOAD),
    )
    if not enabled
]
BEHIND_PROXY = env_bool("RETROVUE_BEHIND_PROXY", PRODUCTION)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True

# --- Celery ---------------------------------------------------------------------------------
CELERY_QUEUES = ("sync", "pregen", "playout", "default")
# The longest any task may run (then the worker kills it, and the run row says so), and how long the
# broker waits for an acknowledgement before handing a task to another worker: an hour more.
CELERY_TASK_TIME_LIMIT = env_int("RETROVUE_TASK_TIME_LIMIT_SECONDS", 5 * 3600, minimum=60)
BROKER_VISIBILITY_SECONDS = CELERY_TASK_TIME_LIMIT + 3600
_broker_url = env_str("CELERY_BROKER_URL", None)
if PRODUCTION and not _broker_url:
    env_str("CELERY_BROKER_URL")
BROKER_DIR = DATA_DIR / "broker"
if _broker_url:
    CELERY_BROKER_URL = _broker_url
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
    global_keyprefix = env_str("RETROVUE_BROKER_KEY_PREFIX", None)
    if global_keyprefix:
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = global_keyprefix
    # With late acks, Redis hands a task that is still unacknowledged after the visibility timeout
    # to another worker: it must outlast the longest task (a deep sync of a big library), or two
    # machines would run it at once. Every task is bounded by CELERY_TASK_TIME_LIMIT below it.
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = BROKER_VISIBILITY_SECONDS
else:
    # kombu's filesystem transport: a broker that is just a folder. Polling at 0.1 s keeps task
    # latency near 0.1 s (1 s at kombu's default). It has no fanout exchange, hence no remote control.
    BROKER_DIR.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        "control_folder": str(BROKER_DIR / "control"),
        "polling_interval": env_float("RETROVUE_BROKER_POLL_SECONDS", 0.1, minimum=0.01),
    }
CELERY_WORKER_ENABLE_REMOTE_CONTROL = bool(_broker_url)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {f"{queue}.*": {"queue": queue} for queue in ("sync", "pregen", "playout")}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env_bool("RETROVUE_TASKS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env_choice("RETROVUE_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "retrovue.log_redaction.RedactSecretsFilter"}},
    "formatters": {
        "plain": {
            "()": "retrovue.log_redaction.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "axes.apps": {"level": "WARNING"},  # its version banner on every command
    },
}

# --- RetroVue -------------------------------------------------------------------------------
RETROVUE_FFMPEG = env_str("RETROVUE_FFMPEG", "ffmpeg")
RETROVUE_FFPROBE = env_str("RETROVUE_FFPROBE", "ffprobe")
RETROVUE_PREGEN_ROOT = env_path("RETROVUE_PREGEN_ROOT", DATA_DIR / "pregen")
RETROVUE_PREGEN_MAX_GB = env_float("RETROVUE_PREGEN_MAX_GB", 20.0, minimum=0.0)
RETROVUE_PREGEN_HOURS = env_float("RETROVUE_PREGEN_HOURS", 6.0, minimum=0.0)
RETROVUE_PREGEN_PRESET = env_choice(
    "RETROVUE_PREGEN_PRESET", ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium"), "veryfast"
)
RETROVUE_PREGEN_MAX_ENQUEUED = env_int("RETROVUE_PREGEN_MAX_ENQUEUED", 200, minimum=1)

# Viewer-facing streams (M3U, XMLTV, HLS, TS) need `?token=` when this is on.
RETROVUE_REQUIRE_STREAM_TOKEN = env_bool("RETROVUE_REQUIRE_STREAM_TOKEN", False)

# Playout and the tuner Plex Live TV sees.
RETROVUE_HLS_LIST_SIZE = env_int("RETROVUE_HLS_LIST_SIZE", 10, minimum=3)
RETROVUE_PLAYOUT_LEAD_SEGMENTS = env_int("RETROVUE_PLAYOUT_LEAD_SEGMENTS", 3, minimum=1, maximum=10)
# Alert crawls re-encode each crawling channel live: one SD crawl measured 0.18 core (bench/crawl_cost.py,
# docs/alerts.md); crawls may take this share of the box's cores, the rest is for playout and pregen.
RETROVUE_ALERT_CRAWL_CORE_COST = env_float("RETROVUE_ALERT_CRAWL_CORE_COST", 0.2, minimum=0.01)
RETROVUE_ALERT_CRAWL_CPU_SHARE = env_float("RETROVUE_ALERT_CRAWL_CPU_SHARE", 0.5, minimum=0.0)
RETROVUE_ON_DEMAND_IDLE_SECONDS = env_int("RETROVUE_ON_DEMAND_IDLE_SECONDS", 300, minimum=30)
# Several playout machines (docs/playout-machines.md): what one supervisor may spend on channels
# (CPU cores; 0 = three quarters of the machine's), the estimated cost of a stream-copied channel
# and of a live transcode per megapixel a second, and this machine's HLS base URL for the front door.
RETROVUE_PLAYOUT_CAPACITY = env_float("RETROVUE_PLAYOUT_CAPACITY", 0.0, minimum=0.0)
RETROVUE_PLAYOUT_COPY_COST = env_float("RETROVUE_PLAYOUT_COPY_COST", 0.01, minimum=0.0001)
RETROVUE_PLAYOUT_TRANSCODE_COST = env_float("RETROVUE_PLAYOUT_TRANSCODE_COST", 0.05, minimum=0.0001)
RETROVUE_PLAYOUT_ORIGIN = env_str("RETROVUE_PLAYOUT_ORIGIN", "")
RETROVUE_HDHR_FRIENDLY_NAME = env_str("RETROVUE_HDHR_FRIENDLY_NAME", "RetroVue")
RETROVUE_HDHR_TUNER_COUNT = env_int("RETROVUE_HDHR_TUNER_COUNT", 4, minimum=1, maximum=64)
RETROVUE_HDHR_DEVICE_ID = env_str("RETROVUE_HDHR_DEVICE_ID", None)
RETROVUE_PUBLIC_URL = env_str("RETROVUE_PUBLIC_URL", None)
RETROVUE_TASK_RUN_RETENTION_DAYS = env_int("RETROVUE_TASK_RUN_RETENTION_DAYS", 30, minimum=1)
RETROVUE_WEBHOOK_MIN_INTERVAL_SECONDS = env_int("RETROVUE_WEBHOOK_MIN_INTERVAL_SECONDS", 30, minimum=0)
RETROVUE_WEBHOOK_MAX_CALLS_PER_MINUTE = env_int("RETROVUE_WEBHOOK_MAX_CALLS_PER_MINUTE", 120, minimum=1)
RETROVUE_API_TOKEN_TOUCH_SECONDS = env_int("RETROVUE_API_TOKEN_TOUCH_SECONDS", 60, minimum=0)
# plex.tv (sign-in, the account's servers) and GDM LAN discovery; tests and the demo use the emulator.
RETROVUE_PLEX_TV_URL = env_str("RETROVUE_PLEX_TV_URL", "https://plex.tv")
RETROVUE_PLEX_GDM_ADDRESS = env_str("RETROVUE_PLEX_GDM_ADDRESS", "239.0.0.250")
RETROVUE_PLEX_GDM_PORT = env_int("RETROVUE_PLEX_GDM_PORT", 32414, minimum=1, maximum=65535)


# Cross-source matching: a pair scoring at least LINK (0–1) is linked as one work without staff,
# at least CANDIDATE goes to the conflict queue. Id disagreement never links.
RETROVUE_MATCH_LINK_SCORE = env_float("RETROVUE_MATCH_LINK_SCORE", 0.95, minimum=0.5)
RETROVUE_MATCH_CANDIDATE_SCORE = env_float("RETROVUE_MATCH_CANDIDATE_SCORE", 0.6, minimum=0.1)
