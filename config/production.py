"""What production refuses to start without: each missing setting is named, with the fix.

Read by config.settings before anything else is configured, so a half-configured host never
serves (a random SECRET_KEY per host would make every signed download link a 404 on the next).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

ENVIRONMENTS = ("development", "production")


def production_problems(environ: Mapping[str, str]) -> list[str]:
    """One sentence per setting production needs and does not have, in a fixed order."""
    problems = []
    if not environ.get("SECRET_KEY", "").strip():
        problems.append(
            "SECRET_KEY is not set: give every host the same long random value "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    elif len(environ["SECRET_KEY"].strip()) < 50:
        problems.append("SECRET_KEY is too short: use at least 50 random characters")
    if not environ.get("ALLOWED_HOSTS", "").strip():
        problems.append(
            "ALLOWED_HOSTS is not set: list the host names the app answers to, "
            "e.g. ALLOWED_HOSTS=logs.example.com"
        )
    database_url = environ.get("DATABASE_URL", "").strip()
    if not database_url:
        problems.append(
            "DATABASE_URL is not set: production runs on PostgreSQL, "
            "e.g. DATABASE_URL=postgres://user:password@db-host:5432/log_exports"
        )
    elif not database_url.startswith(("postgres://", "postgresql://", "pgsql://")):
        scheme = database_url.split(":", 1)[0]
        problems.append(
            f"DATABASE_URL must point at PostgreSQL in production, not {scheme!r}"
        )
    if not environ.get("REDIS_URL", "").strip():
        problems.append(
            "REDIS_URL is not set: every web host and worker must share one Redis, "
            "e.g. REDIS_URL=redis://redis-host:6379/0"
        )
    if not environ.get("EMAIL_HOST", "").strip() and not environ.get("EMAIL_BACKEND", "").strip():
        problems.append(
            "EMAIL_HOST is not set: password resets are mailed through SMTP, e.g. "
            "EMAIL_HOST=smtp.example.com (with EMAIL_HOST_USER and EMAIL_HOST_PASSWORD), or "
            "name another mail backend in EMAIL_BACKEND"
        )
    if environ.get("DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}:
        problems.append("DEBUG must be off in production (unset it or set DEBUG=false)")
    return problems


def environment_name(environ: Mapping[str, str]) -> str:
    name = environ.get("DJANGO_ENV", "").strip().lower() or "development"
    if name not in ENVIRONMENTS:
        raise ImproperlyConfigured(
            f"DJANGO_ENV must be one of {', '.join(ENVIRONMENTS)}, not {name!r}"
        )
    return name


def require_production_settings(environ: Mapping[str, str]) -> None:
    problems = production_problems(environ)
    if problems:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production refuses to start: " + "; ".join(problems)
        )
