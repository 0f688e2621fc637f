"""RQ entry points: thin adapters from a queued id to the services."""

from __future__ import annotations

import logging

from exports import part_runtime, runtime, services
from ops.database import connection_lost

logger = logging.getLogger(__name__)

# (A work horse that is killed outright never reaches the failure callback: RQ calls none for
# it. The lease and exports.reconciler deal with that.)
# Found by RQ's registry cleanup when a whole worker died: the reconciler starts the export
# again (or fails it after EXPORTS_MAX_ATTEMPTS), so the callback leaves the export alone.
LEFT_TO_THE_RECONCILER = {"AbandonedJobError"}


def run_export(job_id: str, attempt: int) -> str:
    return runtime.export_job_run(job_id=job_id, attempt=attempt)


def run_export_part(job_id: str, attempt: int, index: int, part_attempt: int) -> str:
    return part_runtime.export_part_run(job_id=job_id, attempt=attempt, index=index,
                                        part_attempt=part_attempt)


def join_export(job_id: str, attempt: int) -> str:
    return part_runtime.join_export(job_id=job_id, attempt=attempt)


def on_export_part_failure(job, connection, exc_type, exc_value, traceback) -> None:
    """As on_export_job_failure, for a part: an error the part could not record fails the
    export (a part that died is the reconciler's, and runs again on its own)."""
    job_id, attempt, index, _ = job.args
    name = exc_type.__name__ if exc_type else "UnknownError"
    if name in LEFT_TO_THE_RECONCILER or connection_lost(exc_value):
        logger.warning("export %s part %s abandoned by its worker", job_id, index)
        return
    reason = runtime.describe_failure(exc_value if exc_value is not None else RuntimeError(name))
    if services.export_job_fail(job_id=job_id, attempt=attempt, reason=reason):
        logger.warning("export %s failed in part %s: %s", job_id, index, reason)


def on_export_job_failure(job, connection, exc_type, exc_value, traceback) -> None:
    """RQ's failure callback: a timeout or an error the run itself could not record.

    RQ also calls it for the abandoned jobs of a dead worker that its registry cleanup finds;
    those, like horses killed outright (no callback at all), are the reconciler's.
    """
    job_id, attempt = job.args
    name = exc_type.__name__ if exc_type else "UnknownError"
    if name in LEFT_TO_THE_RECONCILER or connection_lost(exc_value):
        logger.warning("export %s attempt %s abandoned by its worker", job_id, attempt)
        return
    reason = runtime.describe_failure(exc_value if exc_value is not None else RuntimeError(name))
    if services.export_job_fail(job_id=job_id, attempt=attempt, reason=reason):
        logger.warning("export %s attempt %s failed: %s", job_id, attempt, reason)
