"""The worker's side of an export run, called by the RQ task (exports.tasks).

A run streams the file through a sink (exports.storage) while two things watch it: a
ProgressCheckpoint that saves the rows written a few times a second, throttles to
EXPORTS_MAX_ROWS_PER_SECOND and stops the run once it is no longer wanted, and a LeaseKeeper
thread that renews the attempt's lease. Every change of state goes through exports.services.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import connection
from django.utils import timezone
from rq.timeouts import JobTimeoutException

from exports import storage
from exports.manifest import one_part_manifest
from exports.models import ExportJob
from exports.services import (
    export_job_fail,
    export_job_replace_dead_attempt,
    export_job_succeed,
    lease_until,
)
from exports.writer import ExportStopped, write_export
from ops.database import connection_lost

logger = logging.getLogger(__name__)
Status = ExportJob.Status

PROGRESS_SAVE_INTERVAL = 0.25  # seconds: progress reaches the database at most 4 times a second
CONNECTION_LOST_REASON = "its database connection was lost"


class ProgressCheckpoint:
    """Saves rows_written a few times a second and stops the run once it is no longer wanted."""

    def __init__(self, *, job_id, attempt: int):
        self.job_id = job_id
        self.attempt = attempt
        self.last_saved = 0.0
        self.started = time.monotonic()
        self.max_rate = settings.EXPORTS_MAX_ROWS_PER_SECOND
        self.lease: LeaseKeeper | None = None

    def save(self, rows: int) -> None:
        self.last_saved = time.monotonic()
        still_running = ExportJob.objects.filter(
            id=self.job_id, status=Status.IN_PROGRESS, attempt=self.attempt
        ).update(rows_written=rows, last_updated_at=timezone.now())
        if not still_running:
            raise ExportStopped()

    def __call__(self, rows: int) -> None:
        if self.lease is not None and self.lease.lost:
            raise ExportStopped()
        if self.max_rate:
            ahead = rows / self.max_rate - (time.monotonic() - self.started)
            if ahead > 0:
                time.sleep(ahead)
        if time.monotonic() - self.last_saved >= PROGRESS_SAVE_INTERVAL:
            self.save(rows)


class LeaseKeeper:
    """Renews the attempt's lease from a thread of its own while the attempt works.

    Independent of row progress on purpose: a first row that takes minutes to come back from
    the database is slow, not dead. Only a process that stops altogether (killed, out of
    memory, its machine gone) lets the lease pass.
    """

    def __init__(self, *, job_id, attempt: int):
        self.job_id = job_id
        self.attempt = attempt
        self.lost = False  # the attempt was cancelled, finished or replaced meanwhile
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="export-lease", daemon=True)

    def renew(self) -> None:
        renewed = ExportJob.objects.filter(
            id=self.job_id, status=Status.IN_PROGRESS, attempt=self.attempt
        ).update(lease_expires_at=lease_until())
        if not renewed:
            self.lost = True

    def _run(self) -> None:
        from django.db import connection

        try:
            while not self.stopping.wait(settings.EXPORTS_LEASE_RENEW_SECONDS):
                try:
                    self.renew()
                except Exception:  # a database hiccup: the next renewal may get through
                    logger.exception("export %s: could not renew the lease", self.job_id)
                if self.lost:
                    return
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self) -> LeaseKeeper:
        self.renew()
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()
        self.thread.join()


def file_name_for(job: ExportJob) -> str:
    return f"{job.workspace_id}/{job.id}-{job.attempt}.{job.format}"


def export_job_run(*, job_id, attempt: int) -> str:
    """Write the export's file and mark it success; returns the final status."""
    job = ExportJob.objects.select_related("workspace").filter(id=job_id).first()
    if job is None:
        logger.info("export %s was deleted before a worker took it up", job_id)
        return "deleted"
    if job.status != Status.IN_PROGRESS or job.attempt != attempt:
        logger.info("export %s attempt %s no longer wanted (%s)", job_id, attempt, job.status)
        return job.status
    try:
        with LeaseKeeper(job_id=job.id, attempt=attempt) as lease:
            if lease.lost:
                return Status.STOPPED
            checkpoint = ProgressCheckpoint(job_id=job.id, attempt=attempt)
            checkpoint.lease = lease
            return _write_attempt(job=job, attempt=attempt, checkpoint=checkpoint)
    except Exception as error:
        if not connection_lost(error):
            raise
        # A terminated backend, a failover or a proxy restart: retried like a dead attempt, at
        # once if the database answers again (the lease no longer renewed), else by the
        # reconciler once the lease has passed (RQ's failure callback leaves it alone).
        logger.warning("export %s attempt %s lost its database connection: %s",
                       job_id, attempt, error)
        connection.close()
        current = ExportJob.objects.filter(id=job_id, status=Status.IN_PROGRESS,
                                           attempt=attempt).first()
        if current is None or not export_job_replace_dead_attempt(
                job=current, reason=CONNECTION_LOST_REASON):
            raise
        return "retried"


def _write_attempt(*, job: ExportJob, attempt: int, checkpoint: ProgressCheckpoint) -> str:
    job_id = job.id
    name = file_name_for(job)
    try:
        sink = storage.open_sink(name, file_format=job.format)
    except Exception as error:
        export_job_fail(job_id=job.id, attempt=attempt, reason=describe_failure(error))
        raise
    try:
        result = write_export(
            workspace_id=job.workspace_id,
            filters=job.filters,
            field_names=job.requested_data,
            limit=job.limit,
            offset=job.offset,
            file_format=job.format,
            sink=sink,
            checkpoint=checkpoint,
            redaction=job.redaction,
        )
        # A last look before the file becomes visible: a cancel may have come in meanwhile.
        checkpoint.save(result.rows)
        sink.commit()
    except ExportStopped:
        abort_sink(sink)
        logger.info("export %s attempt %s stopped", job_id, attempt)
        return Status.STOPPED
    except Exception as error:
        abort_sink(sink)
        if not connection_lost(error):  # else export_job_run retries it
            export_job_fail(job_id=job.id, attempt=attempt, reason=describe_failure(error))
        raise
    manifest = one_part_manifest(job=job, rows=result.rows, skipped=result.skipped,
                                 file_size=sink.bytes_written, sha256=sink.sha256,
                                 redaction_counts=result.redaction_counts)
    finished = export_job_succeed(job_id=job.id, attempt=attempt, file_name=name,
                                  rows=result.rows, skipped=result.skipped,
                                  file_size=sink.bytes_written, sha256=sink.sha256,
                                  manifest=manifest, redaction_counts=result.redaction_counts)
    if not finished:
        # Cancelled between the last checkpoint and now: the file is not the job's.
        storage.delete_file(name)
        return Status.STOPPED
    return Status.SUCCESS


JOB_TIMEOUT_REASON = ("The export took longer than the worker's time limit "
                      "(EXPORTS_JOB_TIMEOUT) and was stopped.")


def abort_sink(sink: storage.ExportSink) -> None:
    """Discards the attempt's unfinished file; trouble doing so must not hide why it ended
    (the reconciler's sweep removes what is left)."""
    try:
        sink.abort()
    except Exception:
        logger.exception("could not discard an unfinished export file")


def describe_failure(error: BaseException) -> str:
    """The technical reason stored on a failed export (the page and API word it plainly)."""
    # RQ raises its timeout inside the run (SIGALRM in the work horse), where it would
    # otherwise pass for an unexpected error.
    if isinstance(error, JobTimeoutException):
        return JOB_TIMEOUT_REASON
    if isinstance(error, OSError):
        return f"Could not write the export file: {error.strerror or error}"
    return f"The export failed on an unexpected error: {error or type(error).__name__}"
