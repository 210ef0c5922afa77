"""Typed readers for environment variables.

Every setting RetroVue reads from the environment goes through one of these helpers so that a
bad value stops start-up with a message naming the variable, instead of surfacing later as an
odd crash deep inside a worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE_WORDS = {"1", "true", "yes", "on"}
_FALSE_WORDS = {"0", "false", "no", "off"}


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED = _Missing()


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _fail(name: str, value: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"Environment variable {name}={value!r} is not valid: expected {expected}.")


def _default_or_fail(name: str, default):
    if default is REQUIRED:
        raise ImproperlyConfigured(f"Environment variable {name} is required but not set.")
    return default


def env_str(name: str, default: str | _Missing | None = REQUIRED) -> str | None:
    value = _raw(name)
    return _default_or_fail(name, default) if value is None else value


SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE = 5


def env_secret_key(name: str) -> str:
    """A required signing key strong enough to sign sessions: Django's own deploy check
    (security.W009: 50 characters, 5 different ones, not a generated "django-insecure-" key),
    made fatal, because production must not start on a key anyone could guess."""
    value = env_str(name)
    if (
        len(value) < SECRET_KEY_MIN_LENGTH
        or len(set(value)) < SECRET_KEY_MIN_UNIQUE
        or value.startswith("django-insecure-")
    ):
        raise ImproperlyConfigured(
            f"Environment variable {name} is too weak: use at least {SECRET_KEY_MIN_LENGTH} random "
            f'characters, e.g. python3 -c "import secrets; print(secrets.token_urlsafe(50))".'
        )
    return value


def env_bool(name: str, default: bool | _Missing = REQUIRED) -> bool:
    value = _raw(name)
    if value is None:
        return _default_or_fail(name, default)
    lowered = value.lower()
    if lowered in _TRUE_WORDS:
        return True
    if lowered in _FALSE_WORDS:
        return False
    raise _fail(name, value, "one of true/false, yes/no, on/off, 1/0")


def env_int(
    name: str, default: int | _Missing = REQUIRED, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = _raw(name)
    if value is None:
        return _default_or_fail(name, default)
    try:
        number = int(value)
    except ValueError:
        raise _fail(name, value, "a whole number") from None
    if minimum is not None and number < minimum:
        raise _fail(name, value, f"a whole number of at least {minimum}")
    if maximum is not None and number > maximum:
        raise _fail(name, value, f"a whole number of at most {maximum}")
    return number


def env_float(name: str, default: float | _Missing = REQUIRED, *, minimum: float | None = None) -> float:
    value = _raw(name)
    if value is None:
        return _default_or_fail(name, default)
    try:
        number = float(value)
    except ValueError:
        raise _fail(name, value, "a number") from None
    if minimum is not None and number < minimum:
        raise _fail(name, value, f"a number of at least {minimum}")
    return number


def env_list(name: str, default: list[str] | _Missing = REQUIRED) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(_default_or_fail(name, default))
    return [part.strip() for part in value.split(",") if part.strip()]


def env_choice(name: str, choices: tuple[str, ...], default: str | _Missing = REQUIRED) -> str:
    value = _raw(name)
    if value is None:
        return _default_or_fail(name, default)
    if value not in choices:
        raise _fail(name, value, "one of " + ", ".join(choices))
    return value


def env_path(name: str, default: Path | _Missing = REQUIRED) -> Path:
    value = _raw(name)
    if value is None:
        return Path(_default_or_fail(name, default)).resolve()
    return Path(value).expanduser().resolve()


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed DATABASE_URL, turned into Django's DATABASES entry by `as_django()`."""

    engine: str
    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""
    options: tuple[tuple[str, str], ...] = ()

    def as_django(self) -> dict:
        if self.engine == "sqlite":
            return sqlite_database(Path(self.name))
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": self.name,
            "USER": self.user,
            "PASSWORD": self.password,
            "HOST": self.host,
            "PORT": self.port,
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": dict(self.options),
        }


def parse_database_url(name: str, url: str) -> DatabaseUrl:
    """Parse `postgres://user:pass@host:port/db?sslmode=…` or `sqlite:///absolute/path`."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if not path or path == "/":
            raise _fail(name, url, "sqlite:///path/to/file.sqlite3")
        return DatabaseUrl(engine="sqlite", name=path)
    if parts.scheme in ("postgres", "postgresql", "pgsql"):
        database = unquote(parts.path.lstrip("/"))
        if not database:
            raise _fail(name, "<hidden>", "postgresql://user:password@host:port/database (database missing)")
        return DatabaseUrl(
            engine="postgresql",
            name=database,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            host=parts.hostname or "",
            port=str(parts.port or ""),
            options=tuple(parse_qsl(parts.query)),
        )
    # The URL may carry a password, so it is never echoed back.
    raise _fail(name, "<hidden>", "a postgresql:// or sqlite:/// URL")


def sqlite_database(path: Path) -> dict:
    """SQLite tuned for a web server and workers sharing one file.

    WAL lets readers continue while a worker writes; IMMEDIATE transactions take the write lock
    up front so two writers queue on the busy timeout instead of failing with "database is locked".
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        },
    }
