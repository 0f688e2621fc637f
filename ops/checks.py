"""Start-up checks of a production deployment that Django's own do not cover."""

from __future__ import annotations

import logging
import socket

from django.conf import settings
from django.core.checks import Warning, register

logger = logging.getLogger(__name__)

FILESYSTEM_STORAGE_MESSAGE = (
    "EXPORTS_STORAGE=filesystem keeps export files on this host's disk: with more than one web "
    "or worker host, a file written by a worker on one host is missing on the others. "
    "Use EXPORTS_STORAGE=s3, or set EXPORTS_SINGLE_HOST=true if this deployment is one host."
)


def storage_misconfiguration() -> str | None:
    if settings.EXPORTS_STORAGE == "filesystem" and not settings.EXPORTS_SINGLE_HOST:
        return FILESYSTEM_STORAGE_MESSAGE
    return None


def worker_hosts() -> set[str]:
    """The hosts of the export workers registered in Redis (empty when Redis does not answer)."""
    import django_rq
    from redis import RedisError
    from rq import Worker

    try:
        queue = django_rq.get_queue(settings.EXPORTS_QUEUE)
        return {worker.hostname for worker in Worker.all(queue=queue) if worker.hostname}
    except (RedisError, OSError):
        return set()


def hosts_misconfiguration() -> str | None:
    """Filesystem storage while export workers run on another host than this one."""
    if settings.EXPORTS_STORAGE != "filesystem":
        return None
    others = sorted(worker_hosts() - {socket.gethostname()})
    if not others:
        return None
    return (f"export workers run on other hosts ({', '.join(others)}) while EXPORTS_STORAGE="
            "filesystem: files they write are not on this host's disk. Use EXPORTS_STORAGE=s3.")


@register("deploy")  # not deploy=True: it shows at every command's start, `check` included
def check_export_storage(app_configs, **kwargs) -> list[Warning]:
    problem = storage_misconfiguration()
    return [Warning(problem, id="ops.W001")] if problem else []


def start_up_problems() -> list[str]:
    return [problem for problem in (storage_misconfiguration(), hosts_misconfiguration())
            if problem]


def warn_at_start_up() -> None:
    """Called by the WSGI entry point, which runs no system checks of its own."""
    for problem in start_up_problems():
        logger.warning("misconfiguration: %s", problem)
