"""Settings, read from environment variables with safe local defaults.

Every variable is listed in docs/configuration.md.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url

from config.production import environment_name, require_production_settings
from config.s3_storage import s3_storage_options

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


# One switch: DJANGO_ENV=production demands the settings below and turns the HTTPS ones on.
DJANGO_ENV = environment_name(os.environ)
PRODUCTION = DJANGO_ENV == "production"
if PRODUCTION:
    require_production_settings(os.environ)

# Production always has SECRET_KEY (checked above); only development falls back to a local one.
SECRET_KEY = os.environ.get("SECRET_KEY") or local_secret_key()
# Earlier keys, still accepted for signatures while a new SECRET_KEY rolls out to every host.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", "")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# --- HTTPS (each one configurable, all on by default in production) ---------------------------
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", PRODUCTION)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
# A load balancer probes the health endpoints over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = os.environ.get("SECURE_REFERRER_POLICY", "same-origin")
X_FRAME_OPTIONS = "DENY"


def proxy_ssl_header(raw: str | None) -> tuple[str, str] | None:
    """"X-Forwarded-Proto: https" (the default in production) → the META name Django reads."""
    if raw is None:
        raw = "X-Forwarded-Proto: https" if PRODUCTION else ""
    name, _, value = raw.partition(":")
    if not name.strip() or raw.strip().lower() in {"off", "false", "none"}:
        return None
    return ("HTTP_" + name.strip().upper().replace("-", "_"), value.strip() or "https")


# Only behind a proxy that sets this header itself (and drops the client's own).
SECURE_PROXY_SSL_HEADER = proxy_ssl_header(os.environ.get("SECURE_PROXY_SSL_HEADER"))
# How many proxies in front of the app append to X-Forwarded-For: the client address (audit
# trail, login lockout, request logs) is the entry this many places from the right.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1 if SECURE_PROXY_SSL_HEADER else 0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # runserver serves static files through WhiteNoise too, as production does: Django's own
    # static handler answered a path that climbs out of the static folder with a 500.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_rq",
    "axes",
    "ops",
    "accounts",
    "logs",
    "exports",
    "deliveries",
    "ninja",
    "api",
    # Development tooling (`make run`): not part of a production install.
    *([] if PRODUCTION else ["devstack"]),
]

MIDDLEWARE = [
    # First: a request id for every log line, and health probes answered before host checks.
    "ops.middleware.RequestLogMiddleware",
    "ops.middleware.HealthCheckMiddleware",
    # Every statement of a web request is bounded (PostgreSQL); past it a plain 503.
    "ops.database_time.StatementTimeoutMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "ops.middleware.ApiNoStoreMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "ops.middleware.HtmxLoginRedirectMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
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
# PostgreSQL's statement_timeout, in ms, for each statement of a web request (ops.database_time;
# 0 = none): past it the API answers 503 and the pages a plain message. Below WEB_TIMEOUT, so the
# request ends with an answer, not a killed web worker.
DATABASE_STATEMENT_TIMEOUT_MS = env_int("DATABASE_STATEMENT_TIMEOUT_MS", 30_000)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Sign-in lockout (django-axes, in the database so it holds across hosts) -------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed sign-ins (the login page and /admin/login/) per user name and, separately, per address.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("LOGIN_LOCKOUT_SECONDS", 900))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "ops.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "ops.lockout.lockout_response"
AXES_VERBOSE = False

# --- Content-Security-Policy (django-csp): no inline script or style anywhere ------------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

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
# One UTC format for every date and time shown, the admin included (config/formats/en).
FORMAT_MODULE_PATH = "config.formats"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "exports:index"
LOGOUT_REDIRECT_URL = "login"

# --- E-mail (password resets) ----------------------------------------------------------------
# SMTP once EMAIL_HOST is set (production demands it, or an explicit EMAIL_BACKEND); without it,
# mails are printed to the console, where a developer reads the reset link.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
# A mail server that does not answer fails the request after this long instead of hanging it.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Log Exports <noreply@localhost>")

# --- Redis and RQ -----------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
EXPORTS_QUEUE = os.environ.get("EXPORTS_QUEUE", "exports")
# Every `manage.py rqworker` runs the export reconciler next to its work (exports.worker), and
# sends what deliveries owes when it is due (deliveries.worker).
RQ = {"WORKER_CLASS": "deliveries.worker.DeliveryWorker"}
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
    # Bucket, endpoint, keys, and the client's bounded timeouts and tries (config/s3_storage.py).
    exports_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": s3_storage_options(os.environ),
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
# An export holds up to EXPORTS_MAX_LOGS_PER_EXPORT logs; past EXPORTS_PART_LOGS it is written
# as parts of at most that many logs each (exports.parts), run by all workers at once. The old
# name, EXPORTS_MAX_LOGS_PER_JOB, is still read when the new one is not set.
EXPORTS_MAX_LOGS_PER_EXPORT = env_int(
    "EXPORTS_MAX_LOGS_PER_EXPORT", env_int("EXPORTS_MAX_LOGS_PER_JOB", 10_000_000))
EXPORTS_PART_LOGS = env_int("EXPORTS_PART_LOGS", 50_000)
EXPORTS_DOWNLOAD_URL_TTL = env_int("EXPORTS_DOWNLOAD_URL_TTL", 300)
# S3: download links point at the app, which records the fetch and redirects to S3's presigned
# URL; off, links are S3's presigned URLs (fetches then show only in S3's own access logs).
EXPORTS_S3_DOWNLOAD_VIA_APP = env_bool("EXPORTS_S3_DOWNLOAD_VIA_APP", True)
EXPORTS_FILE_RETENTION_DAYS = env_int("EXPORTS_FILE_RETENTION_DAYS", 30)
# Days logs are kept (the workers' maintenance pass, or `prune_logs`); 0 keeps them forever.
LOGS_RETENTION_DAYS = env_int("LOGS_RETENTION_DAYS", 0)
# The workers run the maintenance pass (expired export files, logs past their retention) once
# per this many seconds across all of them (exports.maintenance); 0 turns it off.
MAINTENANCE_INTERVAL_SECONDS = env_int("MAINTENANCE_INTERVAL_SECONDS", 86_400)
# Operational throttle: caps how fast one job reads the database (0 = no cap).
EXPORTS_MAX_ROWS_PER_SECOND = env_int("EXPORTS_MAX_ROWS_PER_SECOND", 0)
# statement_timeout (ms) of an export's database stream on a worker (0 = none): the stream is
# one statement, so by default as long as the job may run.
EXPORTS_STATEMENT_TIMEOUT_MS = env_int("EXPORTS_STATEMENT_TIMEOUT_MS",
                                       1000 * env_int("EXPORTS_JOB_TIMEOUT", 3600))
# Reliability (docs/reliability.md): every running attempt holds a lease that the work horse
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

# JSON lines with the request id in production (LOG_FORMAT=json), plain text on a developer's
# machine; every record passes the redaction filter, so no key or signed link reaches a log.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json" if PRODUCTION else "plain")
# One line per request (method, redacted path, status, duration, client, user or key prefix).
REQUEST_LOG = env_bool("REQUEST_LOG", PRODUCTION)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "ops.logging.RequestIdFilter"},
        "redact": {"()": "ops.logging.RedactSecretsFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {"()": "ops.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # No handler of Django's own (its DEBUG console, mail_admins): every line goes through
        # ours, which redacts.
        "django": {"handlers": [], "propagate": True},
        # runserver's own access log (it prints paths, signed links included) goes through ours.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# --- Limits ------------------------------------------------------------------------------------
# Requests one API key may make per API_RATE_LIMIT_WINDOW seconds (0 = no limit), counted in
# Redis so that the limit holds across every web process and host.
API_RATE_LIMIT = env_int("API_RATE_LIMIT", 600)
RATE_LIMIT_NAMESPACE = os.environ.get("RATE_LIMIT_NAMESPACE", "ratelimit")  # Redis key prefix
API_RATE_LIMIT_WINDOW = env_int("API_RATE_LIMIT_WINDOW", 60)
# Requests with a wrong or revoked key one address may make per window before it gets only 429s
# (guessing keys), whatever key it tries next.
API_AUTH_FAILURE_LIMIT = env_int("API_AUTH_FAILURE_LIMIT", 20)
API_AUTH_FAILURE_WINDOW = env_int("API_AUTH_FAILURE_WINDOW", 300)
# Exports one workspace may have in progress at once (0 = no cap).
EXPORTS_MAX_IN_PROGRESS_PER_WORKSPACE = env_int("EXPORTS_MAX_IN_PROGRESS_PER_WORKSPACE", 5)
# Filesystem export storage serves one host only; production says so at start-up unless the
# deployment declares itself single-host.
EXPORTS_SINGLE_HOST = env_bool("EXPORTS_SINGLE_HOST", not PRODUCTION)

# REST API: the largest JSON body accepted (HTTP 413 beyond it), e.g. for POST /v1/logs.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 5 * 1024 * 1024)
# Django refuses bodies past this before the API can read them: never below the API's own limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(API_MAX_BODY_BYTES, 2_621_440)


# --- Deliveries: destinations, webhooks, e-mail (docs/delivery.md) ---------------------------
# Fernet keys (comma-separated, newest first) that encrypt destination and webhook secrets at
# rest; empty: one key derived from SECRET_KEY (development).
DELIVERY_SECRET_KEYS = env_list("DELIVERY_SECRET_KEYS", "")
# How often each worker looks for copies, webhooks and e-mails that are due.
DELIVERY_POLL_SECONDS = float(os.environ.get("DELIVERY_POLL_SECONDS", "10"))
# A worker holds a claimed delivery this long; after it another may take it (the first died).
DELIVERY_LEASE_SECONDS = env_int("DELIVERY_LEASE_SECONDS", 900)
# Retries: first after this many seconds, doubling (at most 6 h apart), for this long in all.
DELIVERY_RETRY_BASE_SECONDS = float(os.environ.get("DELIVERY_RETRY_BASE_SECONDS", "30"))
DELIVERY_RETRY_FOR_SECONDS = env_int("DELIVERY_RETRY_FOR_SECONDS", 3 * 24 * 3600)
DELIVERY_WEBHOOK_TIMEOUT_SECONDS = env_int("DELIVERY_WEBHOOK_TIMEOUT_SECONDS", 15)
# The address of the site in links sent by e-mail.
DELIVERY_SITE_URL = os.environ.get("DELIVERY_SITE_URL", "http://localhost:8000")
# Schedules: a window [start, end) is run once now >= end + this many seconds, so logs that
# reach the database a little after their created_at are still in their window's file.
SCHEDULES_SETTLE_SECONDS = float(os.environ.get("SCHEDULES_SETTLE_SECONDS", "60"))
# How often each worker makes the runs that are due (the database lets one worker make each);
# 0: this worker makes none.
SCHEDULES_TICK_SECONDS = float(os.environ.get("SCHEDULES_TICK_SECONDS", "20"))
# The most runs one tick makes (oldest windows first); a long backfill continues next tick.
SCHEDULES_RUNS_PER_TICK = env_int("SCHEDULES_RUNS_PER_TICK", 48)
