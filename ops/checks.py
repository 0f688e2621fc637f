"""Start-up checks of a production deployment that Django's own do not cover."""

from __future__ import annotations

import logging

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


@register("deploy")
def check_export_storage(app_configs, **kwargs) -> list[Warning]:
    problem = storage_misconfiguration()
    return [Warning(problem, id="ops.W001")] if problem else []


def warn_at_start_up() -> None:
    """Called by the WSGI entry point, which runs no system checks of its own."""
    problem = storage_misconfiguration()
    if problem:
        logger.warning("misconfiguration: %s", problem)
