"""Finding 6: sign-in attempts are throttled per address and per account, failures are logged,
and the real user still gets into the admin while someone guesses their password.

Before: no limit, no log, and each guess cost a password hash (bench/login_throttle.py).
"""

from __future__ import annotations

import logging

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.test import Client

from tests.security.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LIMIT = 3


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT


def sign_in(client: Client, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def signed_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def test_one_address_guessing_is_refused_after_the_limit_even_with_the_right_password(superuser):
    attacker = Client()
    answers = [sign_in(attacker, "root", f"guess {attempt}").status_code for attempt in range(LIMIT)]
    assert answers == [200] * (LIMIT - 1) + [429]  # the form again, until the limit

    refused = sign_in(attacker, "root", PASSWORD)

    assert refused.status_code == 429
    assert not signed_in(refused)


def test_a_refused_attempt_costs_no_password_hash(superuser, monkeypatch):
    # Each checked guess costs a PBKDF2 hash (about half a second of a core in production); once an
    # address is refused, guessing on must cost no hash at all, or the throttle is no defence of the CPU.
    from django.contrib.auth import hashers

    hashed = []
    hasher = type(hashers.get_hasher())  # the station's hasher (PBKDF2; a fast one in tests)
    for name in ("encode", "verify"):
        original = getattr(hasher, name)
        monkeypatch.setattr(
            hasher,
            name,
            lambda *args, _original=original, **kwargs: hashed.append(1) or _original(*args, **kwargs),
        )
    attacker = Client()
    for attempt in range(LIMIT):
        sign_in(attacker, "root", f"guess {attempt}")
    assert hashed  # the checked guesses were hashed
    hashed.clear()

    for attempt in range(5):
        assert sign_in(attacker, "root", f"more {attempt}").status_code == 429
        assert sign_in(attacker, "no-such-user", f"more {attempt}").status_code == 429

    assert hashed == []


def test_one_address_spraying_many_accounts_is_refused(superuser, narrow_staff):
    attacker = Client()
    for attempt, username in enumerate(["root", "narrow", "admin"][:LIMIT]):
        sign_in(attacker, username, f"guess {attempt}")

    assert sign_in(attacker, "narrow", PASSWORD).status_code == 429


def test_guessing_one_account_from_many_addresses_locks_the_account_for_strangers(superuser):
    for attempt in range(LIMIT):
        sign_in(Client(), "root", f"guess {attempt}", address=f"198.51.100.{attempt + 1}")

    stranger = sign_in(Client(), "root", PASSWORD, address="192.0.2.99")

    assert stranger.status_code == 429


def test_the_real_user_still_signs_in_from_a_browser_they_used_before(superuser):
    own_browser = Client()
    assert signed_in(sign_in(own_browser, "root", PASSWORD, address="192.0.2.10"))
    own_browser.post("/admin/logout/")
    for attempt in range(LIMIT * 2):  # a distributed guessing attack on the account
        sign_in(Client(), "root", f"guess {attempt}", address=f"198.51.100.{attempt + 1}")

    again = sign_in(own_browser, "root", PASSWORD, address="192.0.2.10")

    assert signed_in(again)
    assert own_browser.get("/admin/").status_code == 200


def test_a_known_device_cookie_for_another_account_does_not_help(superuser, narrow_staff):
    browser = Client()
    assert signed_in(sign_in(browser, "narrow", PASSWORD, address="192.0.2.10"))
    for attempt in range(LIMIT):
        sign_in(Client(), "root", f"guess {attempt}", address=f"198.51.100.{attempt + 1}")

    assert sign_in(browser, "root", PASSWORD, address="192.0.2.10").status_code == 429


def test_failures_are_recorded_and_logged_with_the_address_never_the_password(superuser, caplog):
    with caplog.at_level(logging.INFO):
        sign_in(Client(), "root", "hunter2-wrong", address="203.0.113.50")

    assert AccessAttempt.objects.filter(username="root", ip_address="203.0.113.50").exists()
    assert AccessFailureLog.objects.filter(username="root", ip_address="203.0.113.50").exists()
    failure_lines = [
        record.getMessage() for record in caplog.records if "login failure" in record.getMessage()
    ]
    assert failure_lines and "203.0.113.50" in failure_lines[0]
    assert "hunter2-wrong" not in caplog.text
    assert "hunter2-wrong" not in "".join(AccessAttempt.objects.values_list("post_data", flat=True))


def test_behind_nginx_the_address_is_nginx_s_x_real_ip_not_a_forwarded_for_claim(settings, superuser):
    settings.BEHIND_PROXY = True
    for attempt in range(LIMIT):
        Client().post(
            "/admin/login/",
            {"username": "root", "password": f"guess {attempt}"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_REAL_IP="203.0.113.9",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}",
        )

    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"
