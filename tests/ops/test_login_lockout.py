"""Failed sign-ins lock out per user name and per address (page and admin), then release."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.db.models import F

pytestmark = pytest.mark.django_db

LOGIN_PAGES = ["/accounts/login/", "/admin/login/"]


@pytest.fixture
def lockout(settings):
    settings.AXES_FAILURE_LIMIT = 3
    # A fast hasher keeps the many sign-ins quick (the staff fixture hashes after this).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_COOLOFF_TIME = timedelta(seconds=60)
    return settings


@pytest.fixture
def staff(db, lockout):
    return get_user_model().objects.create_user(
        username="grace", password="pw-grace-12345", is_staff=True, is_superuser=True
    )


def sign_in(client, path, username, password, address="203.0.113.9"):
    return client.post(path, {"username": username, "password": password},
                       REMOTE_ADDR=address)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def failures_age_by(seconds: float) -> None:
    """Moves the recorded failures into the past: the clock the lock is measured against, without
    waiting for it (a wait races a slow machine and cannot tell a period from a shorter one)."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(seconds=seconds))


@pytest.mark.parametrize("path", LOGIN_PAGES)
def test_wrong_passwords_lock_the_user_out_and_the_lock_ends_after_the_period(
        client, lockout, staff, path):
    answers = [sign_in(client, path, "grace", "wrong").status_code for _ in range(3)]
    assert answers == [200, 200, 429]  # the third failure is the last one answered normally
    refused = sign_in(client, path, "grace", "pw-grace-12345")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert "Too many failed sign-ins" in refused.content.decode()
    assert not signed_in(client)

    failures_age_by(55)  # still within the period
    assert sign_in(client, path, "grace", "pw-grace-12345").status_code == 429
    assert not signed_in(client)

    failures_age_by(61)  # every failure is now older than the period
    accepted = sign_in(client, path, "grace", "pw-grace-12345")
    assert accepted.status_code == 302 and signed_in(client)


@pytest.mark.parametrize("path", LOGIN_PAGES)
def test_a_user_name_is_locked_from_every_address(client, lockout, staff, path):
    for number in range(3):
        sign_in(client, path, "grace", "wrong", address=f"198.51.100.{number + 1}")
    refused = sign_in(client, path, "grace", "pw-grace-12345", address="192.0.2.44")
    assert refused.status_code == 429 and not signed_in(client)


@pytest.mark.parametrize("path", LOGIN_PAGES)
def test_an_address_is_locked_for_every_user_name(client, lockout, staff, path):
    for name in ("alice", "bob", "carol"):
        sign_in(client, path, name, "guess", address="198.51.100.77")
    refused = sign_in(client, path, "grace", "pw-grace-12345", address="198.51.100.77")
    assert refused.status_code == 429 and not signed_in(client)
    # Another address is not held responsible.
    elsewhere = sign_in(client, path, "grace", "pw-grace-12345", address="192.0.2.45")
    assert elsewhere.status_code == 302 and signed_in(client)


def test_the_address_is_the_one_the_trusted_proxy_saw(client, lockout, staff):
    lockout.TRUSTED_PROXY_COUNT = 1
    for name in ("alice", "bob", "carol"):
        # Every request arrives from the proxy; the client's own address is the last XFF entry.
        client.post("/accounts/login/", {"username": name, "password": "guess"},
                    REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"1.2.3.4, 198.51.100.{len(name)}")
    # alice and carol share an address (5 letters), bob's differs: no address reached 3.
    accepted = client.post("/accounts/login/", {"username": "grace", "password": "pw-grace-12345"},
                           REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.5")
    assert accepted.status_code == 302
