"""RQ entry points: thin adapters from a queued id to the services."""

from __future__ import annotations

import logging

from exports import services

logger = logging.getLogger(__name__)

# What RQ reports when the job itself could not record its end, in words for the export list.
FAILURE_REASONS = {
    "JobTimeoutException": "The export took longer than the worker's time limit "
                           "(EXPORTS_JOB_TIMEOUT) and was stopped.",
    "AbandonedJobError": "The export worker stopped unexpectedly (restarted, or out of memory) "
                         "before finishing. Start the export again.",
}


def run_export(job_id: str, attempt: int) -> str:
    return services.export_job_run(job_id=job_id, attempt=attempt)


def on_export_job_failure(job, connection, exc_type, exc_value, traceback) -> None:
    """RQ's failure callback: a timeout, a crash or a worker that died mid-export.

    RQ also calls it for abandoned jobs found when it cleans its registries, so an export whose
    worker was killed does not stay "in progress" for ever.
    """
    job_id, attempt = job.args
    name = exc_type.__name__ if exc_type else "UnknownError"
    reason = FAILURE_REASONS.get(name) or f"The export failed: {name}: {exc_value}"
    if services.export_job_fail(job_id=job_id, attempt=attempt, reason=reason):
        logger.warning("export %s attempt %s failed: %s", job_id, attempt, reason)
