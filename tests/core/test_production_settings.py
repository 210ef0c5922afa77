"""Production settings checked the way an operator would: in a fresh process, with real env vars."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connection

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _manage(args, env_overrides, tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("RETROVUE_", "DATABASE_URL", "CELERY_"))
    }
    env.update({"DJANGO_SETTINGS_MODULE": "retrovue.settings", "RETROVUE_DATA_DIR": str(tmp_path)})
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _production_env():
    database = connection.settings_dict
    return {
        "RETROVUE_MODE": "production",
        "RETROVUE_SECRET_KEY": "x" * 20 + Fernet.generate_key().decode(),
        "RETROVUE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "RETROVUE_ALLOWED_HOSTS": "tv.example.com",
        "DATABASE_URL": f"postgresql://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    }


@pytest.mark.django_db
def test_production_passes_deploy_checks_without_warnings(tmp_path):
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], _production_env(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize(
    "missing",
    [
        "RETROVUE_SECRET_KEY",
        "RETROVUE_ENCRYPTION_KEYS",
        "RETROVUE_ALLOWED_HOSTS",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
    ],
)
def test_production_refuses_to_start_without_required_setting(missing, tmp_path):
    env = _production_env()
    del env[missing]
    result = _manage(["check"], env, tmp_path)
    assert result.returncode != 0
    assert f"{missing} is required" in result.stderr


def test_debug_is_off_unless_asked_for(settings):
    assert settings.DEBUG is False


def test_embedded_default_generates_keys_once_and_keeps_them(tmp_path):
    env = {"RETROVUE_DATA_DIR": str(tmp_path)}
    code = "from django.conf import settings; print(settings.SECRET_KEY[:12], settings.RETROVUE_ENCRYPTION_KEYS[0][:12], settings.DATABASES['default']['ENGINE'])"
    first = _manage(["shell", "-c", code], env, tmp_path)
    second = _manage(["shell", "-c", code], env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert "sqlite3" in first.stdout
    assert oct((tmp_path / "encryption_key").stat().st_mode & 0o777) == "0o600"
