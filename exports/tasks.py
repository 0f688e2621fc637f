"""RQ entry points: thin adapters from a queued id to the services."""

from __future__ import annotations

import logging

from exports import services

logger = logging.getLogger(__name__)


def run_export(job_id: str, attempt: int) -> str:
    return services.export_job_run(job_id=job_id, attempt=attempt)


def on_export_job_failure(job, connection, exc_type, exc_value, traceback) -> None:
    """RQ's failure callback: covers what the run itself could not record (e.g. a timeout)."""
    job_id, attempt = job.args
    reason = f"The export worker stopped: {exc_type.__name__}: {exc_value}"
    if exc_type.__name__ == "JobTimeoutException":
        reason = "The export took longer than the worker's time limit and was stopped."
    if services.export_job_fail(job_id=job_id, attempt=attempt, reason=reason):
        logger.warning("export %s attempt %s failed: %s", job_id, attempt, reason)
