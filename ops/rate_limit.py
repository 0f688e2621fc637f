"""Request budgets counted in Redis, so they hold across every web process and host.

A fixed window per budget: INCR on a key that names the window, expiring with it. When Redis
does not answer, requests are let through (and that is logged): the limit protects the service,
and an outage of it must not become an outage of the API.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings

logger = logging.getLogger(__name__)


@dataclass
class RateLimited(Exception):
    """Over budget: try again after `retry_after` seconds."""

    retry_after: int
    limit: int
    window: int


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    # Short timeouts: a slow Redis must not hold every API request.
    return redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)


def _key(budget: str, window_start: int) -> str:
    return f"{settings.RATE_LIMIT_NAMESPACE}:{budget}:{window_start}"


def _window(window: int) -> tuple[int, int]:
    """(start of the current window, seconds until it ends)."""
    now = time.time()
    start = int(now // window) * window
    return start, max(1, math.ceil(start + window - now))


def count(*, budget: str, window: int) -> int | None:
    """Adds one request to `budget`'s current window; its count, or None without Redis."""
    start, _ = _window(window)
    key = _key(budget, start)
    try:
        pipe = _client(settings.REDIS_URL).pipeline()
        pipe.incr(key)
        pipe.expire(key, window + 1)
        return pipe.execute()[0]
    except (redis.RedisError, OSError) as error:
        logger.warning("rate limit %s not counted, Redis did not answer: %s", budget, error)
        return None


def spend(*, budget: str, limit: int, window: int) -> None:
    """Counts one request against `budget`; raises RateLimited once over `limit` per `window`."""
    if limit <= 0 or window <= 0:
        return
    spent = count(budget=budget, window=window)
    if spent is not None and spent > limit:
        raise RateLimited(retry_after=_window(window)[1], limit=limit, window=window)


def over_budget(*, budget: str, limit: int, window: int) -> int | None:
    """Seconds to wait when `budget` is already spent in this window (counts nothing)."""
    if limit <= 0 or window <= 0:
        return None
    start, remaining = _window(window)
    try:
        spent = int(_client(settings.REDIS_URL).get(_key(budget, start)) or 0)
    except (redis.RedisError, OSError):
        return None
    return remaining if spent >= limit else None
