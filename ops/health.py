"""/healthz (this process answers) and /readyz (its database and Redis answer too).

Both are open to anyone and cheap: no session, no auth, no rate limit, no host check, and they
say which dependency is down, never why (the details go to the log).
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)
PROBE_TIMEOUT = 2  # seconds; a probe must answer before the load balancer gives up


def database_answers() -> bool:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.warning("readiness: the database does not answer", exc_info=True)
        connection.close()  # the next request starts from a fresh connection
        return False
    return True


def redis_answers() -> bool:
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=PROBE_TIMEOUT, socket_timeout=PROBE_TIMEOUT
    )
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        logger.warning("readiness: Redis does not answer at its REDIS_URL", exc_info=True)
        return False
    finally:
        client.close()


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": "ok" if database_answers() else "no answer",
        "redis": "ok" if redis_answers() else "no answer",
    }
    down = [name for name, state in checks.items() if state != "ok"]
    if down:
        message = f"not ready: {' and '.join(down)} {'does' if len(down) == 1 else 'do'} not answer"
        return JsonResponse({"status": "unavailable", "message": message, "checks": checks},
                            status=503)
    return JsonResponse({"status": "ready", "checks": checks})
