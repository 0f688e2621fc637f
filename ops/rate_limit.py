"""Request budgets counted in Redis, so they hold across every web process and host.

A fixed window per budget that opens at its first request: INCR on a key that expires when the
window ends (so Retry-After is the key's time to live). When Redis does not answer, requests are
let through (and that is logged): the limit protects the service, and an outage of it must not
become an outage of the API.
"""

from __future__ import annotations

import logging
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


def _key(budget: str) -> str:
    return f"{settings.RATE_LIMIT_NAMESPACE}:{budget}"


def count(*, budget: str, window: int) -> tuple[int, int] | None:
    """Adds one request to `budget`: (requests in its window, seconds until the window ends),
    or None without Redis. A window opens at a budget's first request and lasts `window`."""
    key = _key(budget)
    try:
        client = _client(settings.REDIS_URL)
        pipe = client.pipeline()  # MULTI/EXEC: one step for Redis
        pipe.set(key, 0, ex=window, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _, spent, remaining = pipe.execute()
        if remaining < 0:  # never a count without an end
            client.expire(key, window)
            remaining = window
    except (redis.RedisError, OSError) as error:
        logger.warning("rate limit %s not counted, Redis did not answer: %s", budget, error)
        return None
    return spent, max(1, remaining)


def spend(*, budget: str, limit: int, window: int) -> None:
    """Counts one request against `budget`; raises RateLimited once over `limit` per `window`."""
    if limit <= 0 or window <= 0:
        return
    counted = count(budget=budget, window=window)
    if counted is not None and counted[0] > limit:
        raise RateLimited(retry_after=counted[1], limit=limit, window=window)


def over_budget(*, budget: str, limit: int, window: int) -> int | None:
    """Seconds to wait when `budget` is already spent in its window (counts nothing)."""
    if limit <= 0 or window <= 0:
        return None
    try:
        pipe = _client(settings.REDIS_URL).pipeline()
        pipe.get(_key(budget))
        pipe.ttl(_key(budget))
        spent, remaining = pipe.execute()
    except (redis.RedisError, OSError):
        return None
    return max(1, remaining) if int(spent or 0) >= limit else None
