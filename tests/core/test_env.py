import pytest
from django.core.exceptions import ImproperlyConfigured

from retrovue.env import env_bool, env_choice, env_int, env_list, parse_database_url


def test_env_bool_accepts_common_words(monkeypatch):
    monkeypatch.setenv("RV_FLAG", "Yes")
    assert env_bool("RV_FLAG", False) is True
    monkeypatch.setenv("RV_FLAG", "off")
    assert env_bool("RV_FLAG", True) is False


def test_env_bool_rejects_garbage_naming_the_variable(monkeypatch):
    monkeypatch.setenv("RV_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="RV_FLAG='maybe'"):
        env_bool("RV_FLAG", False)


def test_env_int_enforces_bounds(monkeypatch):
    monkeypatch.setenv("RV_NUMBER", "3")
    with pytest.raises(ImproperlyConfigured, match="at least 5"):
        env_int("RV_NUMBER", 10, minimum=5)
    monkeypatch.setenv("RV_NUMBER", "ten")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env_int("RV_NUMBER", 10)


def test_missing_required_variable_fails_loudly(monkeypatch):
    monkeypatch.delenv("RV_REQUIRED", raising=False)
    with pytest.raises(ImproperlyConfigured, match="RV_REQUIRED is required"):
        env_list("RV_REQUIRED")


def test_blank_value_counts_as_unset(monkeypatch):
    monkeypatch.setenv("RV_MODE", "  ")
    assert env_choice("RV_MODE", ("a", "b"), "a") == "a"


def test_env_list_splits_and_trims(monkeypatch):
    monkeypatch.setenv("RV_HOSTS", " tv.example.com, 192.168.1.5 ,,")
    assert env_list("RV_HOSTS") == ["tv.example.com", "192.168.1.5"]


def test_postgres_url_becomes_django_database():
    database = parse_database_url(
        "DATABASE_URL", "postgresql://tv:p%40ss@db.local:6543/station?sslmode=require"
    )
    config = database.as_django()
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("station", "tv", "p@ss")
    assert (config["HOST"], config["PORT"]) == ("db.local", "6543")
    assert config["OPTIONS"] == {"sslmode": "require"}


def test_sqlite_url_uses_wal_and_immediate_transactions(tmp_path):
    config = parse_database_url("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3").as_django()
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_unknown_database_scheme_is_rejected_without_echoing_the_url():
    with pytest.raises(ImproperlyConfigured) as caught:
        parse_database_url("DATABASE_URL", "mysql://root:hunter2@host/db")
    assert "hunter2" not in str(caught.value)
