"""gunicorn's settings for `manage.py serve` (and for anyone running gunicorn by hand:
`gunicorn -c config/gunicorn_conf.py config.wsgi`). Every value comes from the environment."""

from __future__ import annotations

import os

_default_bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
bind = [os.environ.get("BIND") or _default_bind]
# Threads, not only processes: a request mostly waits on PostgreSQL, Redis or S3.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
backlog = int(os.environ.get("WEB_BACKLOG", "2048"))  # connections queued while all are busy
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# A worker is replaced now and then, so a slow leak never grows without bound.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
# The proxies whose X-Forwarded-* headers gunicorn believes (the app has its own settings).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# No access log of gunicorn's own: it would print signed download links. The app logs each
# request itself (ops.middleware.RequestLogMiddleware), redacted, with its request id.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
proc_name = "log-exports-web"
