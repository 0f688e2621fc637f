"""Settings, read from environment variables with safe local defaults.

Every variable is listed in the README's configuration table.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def local_secret_key() -> str:
    # No key in code: a development machine gets its own random key, kept under var/.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY") or local_secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_rq",
    "accounts",
    "logs",
    "exports",
    "ninja",
    "api",
    "devstack",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that an RQ worker process started by a test sees the test data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        ),
        "transaction_mode": "IMMEDIATE",
    }

# A read replica of the primary (PostgreSQL streaming replication) for the Logs page, the Request
# Data preview and the export stream; see config/db_routers.py and logs/replica.py.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
    # Tests run against the primary's test database through this alias.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["config.db_routers.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "exports:index"
LOGOUT_REDIRECT_URL = "login"

# --- Redis and RQ -----------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
EXPORTS_QUEUE = os.environ.get("EXPORTS_QUEUE", "exports")
# Every `manage.py rqworker` runs the export reconciler next to its work (exports.worker).
RQ = {"WORKER_CLASS": "exports.worker.ExportWorker"}
RQ_QUEUES = {
    EXPORTS_QUEUE: {
        "URL": REDIS_URL,
        "DEFAULT_TIMEOUT": env_int("EXPORTS_JOB_TIMEOUT", 3600),
    },
}

# --- Export storage ---------------------------------------------------------------------------
EXPORTS_STORAGE = os.environ.get("EXPORTS_STORAGE", "filesystem")  # filesystem | s3
EXPORTS_STORAGE_DIR = Path(os.environ.get("EXPORTS_STORAGE_DIR", VAR_DIR / "exports"))

if EXPORTS_STORAGE == "s3":
    exports_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ.get("EXPORTS_S3_BUCKET", "log-exports"),
            "endpoint_url": os.environ.get("EXPORTS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("EXPORTS_S3_REGION") or None,
            "access_key": os.environ.get("EXPORTS_S3_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("EXPORTS_S3_SECRET_ACCESS_KEY") or None,
            "location": os.environ.get("EXPORTS_S3_PREFIX", ""),
            "default_acl": None,
            "file_overwrite": True,
            "querystring_auth": True,
            "querystring_expire": env_int("EXPORTS_DOWNLOAD_URL_TTL", 300),
            "signature_version": "s3v4",
            "addressing_style": "path",
        },
    }
elif EXPORTS_STORAGE == "filesystem":
    exports_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(EXPORTS_STORAGE_DIR), "base_url": None},
    }
else:
    raise ValueError(f"EXPORTS_STORAGE must be 'filesystem' or 's3', not {EXPORTS_STORAGE!r}")

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "exports": exports_storage,
}

# --- The export feature -----------------------------------------------------------------------
EXPORTS_MAX_LOGS_PER_JOB = env_int("EXPORTS_MAX_LOGS_PER_JOB", 50_000)
EXPORTS_DOWNLOAD_URL_TTL = env_int("EXPORTS_DOWNLOAD_URL_TTL", 300)
EXPORTS_FILE_RETENTION_DAYS = env_int("EXPORTS_FILE_RETENTION_DAYS", 30)
# Days logs are kept (`prune_logs`, run daily); 0 keeps them forever.
LOGS_RETENTION_DAYS = env_int("LOGS_RETENTION_DAYS", 0)
# Operational throttle: caps how fast one job reads the database (0 = no cap).
EXPORTS_MAX_ROWS_PER_SECOND = env_int("EXPORTS_MAX_ROWS_PER_SECOND", 0)
# Reliability (README "Reliability"): every running attempt holds a lease that the work horse
# renews every EXPORTS_LEASE_RENEW_SECONDS; each worker runs the reconciler every
# EXPORTS_RECONCILE_SECONDS, which starts an attempt whose lease has passed again, at most
# EXPORTS_MAX_ATTEMPTS runs per start.
EXPORTS_LEASE_SECONDS = env_int("EXPORTS_LEASE_SECONDS", 45)
EXPORTS_LEASE_RENEW_SECONDS = env_int("EXPORTS_LEASE_RENEW_SECONDS", 10)
EXPORTS_RECONCILE_SECONDS = env_int("EXPORTS_RECONCILE_SECONDS", 15)
EXPORTS_MAX_ATTEMPTS = env_int("EXPORTS_MAX_ATTEMPTS", 3)
# Size of one part of an S3 multipart upload, and so the most an upload buffers (at least 5 MiB).
EXPORTS_S3_PART_SIZE = env_int("EXPORTS_S3_PART_SIZE", 8 * 1024 * 1024)
# Self-hosted deployments without the Data Service cannot export (product doc).
DATA_SERVICE_ENABLED = env_bool("DATA_SERVICE_ENABLED", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# REST API: the largest JSON body accepted (HTTP 413 beyond it), e.g. for POST /v1/logs.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 5 * 1024 * 1024)
# Django refuses bodies past this before the API can read them: never below the API's own limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(API_MAX_BODY_BYTES, 2_621_440)
