"""Every change of an export's state happens here.

Each transition is one conditional UPDATE on the current status, so two requests racing for the
same job cannot both win; work for the worker is enqueued only after the commit, by id.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

import django_rq
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rq import Callback

from accounts.models import ApiKey, Workspace
from exports import storage
from exports.access import ensure_exports_available
from exports.audit import Action, Actor, record_export_event
from exports.errors import ExportNotReady, InvalidTransition, QueueUnavailable, TooManyInProgress
from exports.fields import ACCEPTED_NAMES, canonical_field_name, in_catalogue_order
from exports.models import ExportJob
from exports.writer import ExportStopped, write_export
from logs.counting import export_slice_size
from logs.filters import (
    MAX_INTEGER,
    describe_filters,
    matching_logs,
    normalise_filters,
    refuse_unstorable_text,
)
from logs.hourly_counts import time_range

logger = logging.getLogger(__name__)
Status = ExportJob.Status

PROGRESS_SAVE_INTERVAL = 0.25  # seconds: progress reaches the database at most 4 times a second


# --- Validation ----------------------------------------------------------------------------

def normalise_requested_data(raw: Any) -> list[str]:
    if not isinstance(raw, list | tuple):
        raise ValidationError({"requested_data": "must be a list of field names"})
    if not raw:
        raise ValidationError({"requested_data": "choose at least one field"})
    names = []
    for item in raw:
        name = canonical_field_name(item) if isinstance(item, str) else None
        if name is None:
            raise ValidationError(
                {"requested_data": f"{item!r} is not an exportable field; choose from "
                                   f"{', '.join(ACCEPTED_NAMES)}"}
            )
        names.append(name)
    return in_catalogue_order(names)


def _whole_number(value: Any, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError({field: "must be a whole number"})
    try:
        return int(value)
    except ValueError:
        raise ValidationError({field: f"{value!r} is not a whole number"}) from None


def normalise_limit(raw: Any) -> int:
    cap = settings.EXPORTS_MAX_LOGS_PER_JOB
    if raw is None or raw == "":
        return cap
    limit = _whole_number(raw, field="limit")
    if limit < 1:
        raise ValidationError({"limit": "must be at least 1"})
    if limit > cap:
        raise ValidationError({"limit": f"must be at most {cap:,} logs per export"})
    return limit


def normalise_offset(raw: Any) -> int:
    if raw is None or raw == "":
        return 0
    offset = _whole_number(raw, field="offset")
    if offset < 0:
        raise ValidationError({"offset": "must be 0 or more"})
    if offset > MAX_INTEGER:
        raise ValidationError({"offset": f"must be at most {MAX_INTEGER:,}"})
    return offset


def normalise_format(raw: Any) -> str:
    if raw in (None, ""):
        return ExportJob.Format.JSONL
    if raw not in ExportJob.Format.values:
        raise ValidationError(
            {"format": f"{raw!r} is not a supported format; use one of "
                       f"{', '.join(ExportJob.Format.values)}"}
        )
    return raw


def normalise_description(raw: Any) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ValidationError({"description": "must be text"})
    if len(raw) > 500:
        raise ValidationError({"description": "must be at most 500 characters"})
    return refuse_unstorable_text(raw, field="description").strip()


def count_export_rows(*, workspace_id, filters: dict, limit: int, offset: int) -> int:
    # Counts no further than offset + limit: the cost grows with the export, not the workspace;
    # a time range (with or without providers, models, status codes) is counted by whole
    # hours, whatever the offset.
    return export_slice_size(matching_logs(workspace_id=workspace_id, filters=filters),
                             limit=limit, offset=offset,
                             hourly=time_range(workspace_id=workspace_id, filters=filters))


# --- Transitions -----------------------------------------------------------------------------

def export_job_create(
    *,
    workspace: Workspace,
    filters: Any,
    requested_data: Any,
    limit: Any = None,
    offset: Any = None,
    description: Any = "",
    file_format: Any = None,
    created_by=None,
    created_by_api_key: ApiKey | None = None,
    actor: Actor | None = None,
    refuse_empty: bool = False,
) -> ExportJob:
    """A new draft; raises ValidationError (naming the field) and creates nothing on bad input.

    refuse_empty: the API and the page refuse a draft of 0 logs, which would "succeed" with an
    empty file; a schedule's window or a script may still ask for one.
    """
    ensure_exports_available(workspace.organization)
    normalised_filters = normalise_filters(filters)
    field_names = normalise_requested_data(requested_data)
    normalised_limit = normalise_limit(limit)
    normalised_offset = normalise_offset(offset)
    total = count_export_rows(
        workspace_id=workspace.id, filters=normalised_filters,
        limit=normalised_limit, offset=normalised_offset,
    )
    if refuse_empty:
        ensure_not_empty(workspace_id=workspace.id, filters=normalised_filters,
                         offset=normalised_offset, total=total)
    # Counted before the transaction (on SQLite a write transaction holds the database's one
    # write lock); the draft and its audit entry are written together.
    with transaction.atomic():
        job = ExportJob.objects.create(
            workspace=workspace,
            created_by=created_by,
            created_by_api_key=created_by_api_key,
            description=normalise_description(description),
            filters=normalised_filters,
            requested_data=field_names,
            limit=normalised_limit,
            offset=normalised_offset,
            format=normalise_format(file_format),
            total_records=total,
        )
        record_export_event(job=job, action=Action.CREATED, actor=actor)
    return job


UNSET: Any = object()


def ensure_not_empty(*, workspace_id, filters: dict, offset: int, total: int) -> None:
    """Refuses an export of 0 logs, naming the filters (or the offset) that make it empty."""
    if total:
        return
    if offset and matching_logs(workspace_id=workspace_id, filters=filters).exists():
        raise ValidationError({"offset": f"{offset:,} skips every log matching "
                                         f"{describe_filters(filters)}, so the export would be "
                                         "empty; use a smaller offset"})
    raise ValidationError({"filters": f"no logs match {describe_filters(filters)}, so the "
                                      "export would be empty; widen the time range or clear a "
                                      "filter"})


def export_job_update(
    *,
    job: ExportJob,
    filters: Any = UNSET,
    requested_data: Any = UNSET,
    limit: Any = UNSET,
    offset: Any = UNSET,
    description: Any = UNSET,
    file_format: Any = UNSET,
    refuse_empty: bool = False,
) -> ExportJob:
    """Change a draft; an export that has been started keeps the settings it ran with."""
    ensure_exports_available(job.workspace.organization)
    changes: dict[str, Any] = {}
    if filters is not UNSET:
        changes["filters"] = normalise_filters(filters)
    if requested_data is not UNSET:
        changes["requested_data"] = normalise_requested_data(requested_data)
    if limit is not UNSET:
        changes["limit"] = normalise_limit(limit)
    if offset is not UNSET:
        changes["offset"] = normalise_offset(offset)
    if description is not UNSET:
        changes["description"] = normalise_description(description)
    if file_format is not UNSET:
        changes["format"] = normalise_format(file_format)
    merged = {
        "filters": job.filters, "limit": job.limit, "offset": job.offset,
        **{key: changes[key] for key in ("filters", "limit", "offset") if key in changes},
    }
    changes["total_records"] = count_export_rows(workspace_id=job.workspace_id, **merged)
    if refuse_empty:
        ensure_not_empty(workspace_id=job.workspace_id, filters=merged["filters"],
                         offset=merged["offset"], total=changes["total_records"])
    changes["last_updated_at"] = timezone.now()
    updated = ExportJob.objects.filter(id=job.id, status=Status.DRAFT).update(**changes)
    if not updated:
        job.refresh_from_db(fields=["status"])
        raise InvalidTransition(
            f"only a draft export can be changed; this one is {job.get_status_display()}",
            status=job.status,
        )
    job.refresh_from_db()
    return job


def export_queue():
    return django_rq.get_queue(settings.EXPORTS_QUEUE)


QUEUE_DOWN_MESSAGE = (
    "The export queue cannot be reached right now, so the export was not started. "
    "Try again in a minute."
)


def ensure_queue_reachable() -> None:
    """Raises QueueUnavailable when Redis does not answer; the export then stays startable."""
    import redis

    try:
        export_queue().connection.ping()
    except (redis.ConnectionError, redis.TimeoutError, OSError) as error:
        logger.warning("export queue unreachable: %s", error)
        raise QueueUnavailable(QUEUE_DOWN_MESSAGE) from error


def lease_until():
    return timezone.now() + timedelta(seconds=settings.EXPORTS_LEASE_SECONDS)


def export_job_start(*, job: ExportJob, actor: Actor | None = None) -> ExportJob:
    """Draft, failed or stopped → in progress, and one RQ job enqueued after the commit.

    Refused with QueueUnavailable, changing nothing, when the queue cannot be reached: the export
    stays startable. Should the queue go away between that check and the enqueue, the attempt's
    lease runs out with nothing queued and the reconciler enqueues it again. Refused
    (TooManyInProgress) while the workspace already runs its
    EXPORTS_MAX_IN_PROGRESS_PER_WORKSPACE exports.
    """
    ensure_exports_available(job.workspace.organization)
    ensure_queue_reachable()
    # Counted here rather than in the worker: the progress bar's total reflects the data as it is
    # when the user starts the export, and the worker spends its time only on writing.
    total = count_export_rows(
        workspace_id=job.workspace_id, filters=job.filters, limit=job.limit, offset=job.offset
    )
    now = timezone.now()
    with transaction.atomic():
        ensure_room_to_run(job=job)
        updated = ExportJob.objects.filter(id=job.id, status__in=ExportJob.STARTABLE).update(
            status=Status.IN_PROGRESS,
            total_records=total,
            attempt=F("attempt") + 1,
            lease_expires_at=lease_until(),
            retries=[],
            error="",
            rows_written=0,
            started_at=now,
            finished_at=None,
            last_updated_at=now,
        )
        job.refresh_from_db()
        if not updated:
            raise InvalidTransition(
                f"this export is {job.get_status_display()}; only a draft, failed or stopped "
                "export can be started",
                status=job.status,
            )
        record_export_event(job=job, action=Action.STARTED, actor=actor)
        job_id, attempt = str(job.id), job.attempt
        transaction.on_commit(lambda: enqueue_export(job_id=job_id, attempt=attempt))
    return job


def ensure_room_to_run(*, job: ExportJob) -> None:
    """The per-workspace cap on exports in progress; call it inside the start's transaction."""
    cap = settings.EXPORTS_MAX_IN_PROGRESS_PER_WORKSPACE
    if not cap:
        return
    # Two starts in one workspace take turns on its row, so both cannot see room for one more
    # (SQLite's write transactions already take turns).
    list(Workspace.objects.select_for_update().filter(id=job.workspace_id).values("id"))
    running = (
        ExportJob.objects.filter(workspace_id=job.workspace_id, status=Status.IN_PROGRESS)
        .exclude(id=job.id)
        .count()
    )
    if running >= cap:
        raise TooManyInProgress(
            f"this workspace already has {running} exports in progress, the most it may run at "
            f"once ({cap}); wait for one to finish or cancel one, then start this export",
            status=job.status,
        )


def rq_job_id(*, job_id, attempt: int) -> str:
    return f"export-{job_id}-{attempt}"


def enqueue_export(*, job_id: str, attempt: int) -> None:
    """Queues one attempt (after the commit that started it).

    A queue that went away since the start was checked is logged, not raised: the start is
    committed, and the reconciler queues the attempt once its lease has passed.
    """
    import redis

    try:
        _enqueue(job_id=job_id, attempt=attempt)
    except (redis.ConnectionError, redis.TimeoutError) as error:
        logger.warning("export %s attempt %s not queued (%s); the reconciler will queue it",
                       job_id, attempt, error)


def _enqueue(*, job_id: str, attempt: int) -> None:
    # By dotted path: exports.tasks imports this module, so this one must not import it back.
    export_queue().enqueue(
        "exports.tasks.run_export",
        job_id,
        attempt,
        job_id=rq_job_id(job_id=job_id, attempt=attempt),
        description=f"export {job_id} (attempt {attempt})",
        on_failure=Callback("exports.tasks.on_export_job_failure"),
        failure_ttl=7 * 86_400,
    )


def export_job_cancel(*, job: ExportJob, actor: Actor | None = None) -> ExportJob:
    """In progress → stopped; the worker notices at its next checkpoint and stops writing."""
    now = timezone.now()
    with transaction.atomic():
        updated = ExportJob.objects.filter(id=job.id, status=Status.IN_PROGRESS).update(
            status=Status.STOPPED, finished_at=now, last_updated_at=now, lease_expires_at=None
        )
        job.refresh_from_db()
        if not updated:
            raise InvalidTransition(
                f"this export is {job.get_status_display()}; only an export in progress can be "
                "cancelled",
                status=job.status,
            )
        record_export_event(job=job, action=Action.CANCELLED, actor=actor)
    return job


def export_job_delete(*, job: ExportJob) -> None:
    """Remove an export and its file; a worker still writing it stops at its next checkpoint."""
    file_name = job.file_name
    ExportJob.objects.filter(id=job.id).delete()
    if file_name:
        # After the row is gone, so a failed file delete never leaves an export without its file.
        transaction.on_commit(lambda: storage.delete_file(file_name))


def export_job_fail(*, job_id, attempt: int, reason: str) -> bool:
    """In progress → failed with a reason; False when the run was already cancelled or replaced."""
    now = timezone.now()
    return bool(
        ExportJob.objects.filter(id=job_id, status=Status.IN_PROGRESS, attempt=attempt).update(
            status=Status.FAILED, error=reason[:2000], finished_at=now, last_updated_at=now,
            lease_expires_at=None,
        )
    )


def export_job_retry(*, job: ExportJob, reason: str) -> bool:
    """Runs an export whose attempt died again from the start, as a new attempt.

    Called by the reconciler with the job as it read it; False when the attempt was meanwhile
    renewed, finished, cancelled or retried by another reconciler (the UPDATE is conditional on
    the attempt and its passed lease, so of several reconcilers only one wins).
    """
    now = timezone.now()
    history = [*job.retries, {"attempt": job.attempt, "at": now.isoformat(), "reason": reason}]
    with transaction.atomic():
        updated = ExportJob.objects.filter(
            id=job.id, status=Status.IN_PROGRESS, attempt=job.attempt,
            lease_expires_at=job.lease_expires_at,
        ).update(
            attempt=F("attempt") + 1,
            lease_expires_at=lease_until(),
            retries=history,
            rows_written=0,
            last_updated_at=now,
        )
        if not updated:
            return False
        job_id, attempt = str(job.id), job.attempt + 1
        transaction.on_commit(lambda: enqueue_export(job_id=job_id, attempt=attempt))
    return True


def export_job_give_up(*, job: ExportJob, reason: str) -> bool:
    """In progress → failed after the last attempt allowed died; same guard as the retry."""
    now = timezone.now()
    history = [*job.retries, {"attempt": job.attempt, "at": now.isoformat(), "reason": reason}]
    return bool(ExportJob.objects.filter(
        id=job.id, status=Status.IN_PROGRESS, attempt=job.attempt,
        lease_expires_at=job.lease_expires_at,
    ).update(
        status=Status.FAILED, error=reason[:2000], retries=history, lease_expires_at=None,
        finished_at=now, last_updated_at=now,
    ))


# --- The run, called by the RQ task ----------------------------------------------------------

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
    with LeaseKeeper(job_id=job.id, attempt=attempt) as lease:
        if lease.lost:
            return Status.STOPPED
        checkpoint = ProgressCheckpoint(job_id=job.id, attempt=attempt)
        checkpoint.lease = lease
        return _write_attempt(job=job, attempt=attempt, checkpoint=checkpoint)


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
        )
        # A last look before the file becomes visible: a cancel may have come in meanwhile.
        checkpoint.save(result.rows)
        sink.commit()
    except ExportStopped:
        sink.abort()
        logger.info("export %s attempt %s stopped", job_id, attempt)
        return Status.STOPPED
    except Exception as error:
        sink.abort()
        export_job_fail(job_id=job.id, attempt=attempt, reason=describe_failure(error))
        raise
    now = timezone.now()
    current_run = ExportJob.objects.filter(id=job.id, status=Status.IN_PROGRESS, attempt=attempt)
    finished = current_run.update(
        status=Status.SUCCESS,
        lease_expires_at=None,
        rows_written=result.rows,
        total_records=result.rows,
        file_name=name,
        file_size=sink.bytes_written,
        sha256=sink.sha256,
        finished_at=now,
        last_updated_at=now,
        expires_at=now + timedelta(days=settings.EXPORTS_FILE_RETENTION_DAYS),
    )
    if not finished:
        # Cancelled between the last checkpoint and now: the file is not the job's.
        storage.delete_file(name)
        return Status.STOPPED
    return Status.SUCCESS


def describe_failure(error: BaseException) -> str:
    if isinstance(error, OSError):
        return f"Could not write the export file: {error.strerror or error}"
    return f"The export failed on an unexpected error: {error or type(error).__name__}"


def export_job_download_url(*, job: ExportJob, actor: Actor | None = None) -> str:
    """A fresh signed link to the file, recorded as issued to the actor (and, for files served
    by our file view, the fetch is recorded again under that name)."""
    ensure_exports_available(job.workspace.organization)
    if job.status != Status.SUCCESS:
        raise ExportNotReady(
            f"this export is {job.get_status_display()}; a file can be downloaded once it "
            "has succeeded",
            status=job.status,
        )
    if not job.file_name or (job.expires_at and job.expires_at <= timezone.now()):
        raise ExportNotReady(
            "this export's file has expired; start a new export", status=job.status
        )
    url = storage.signed_download_url(
        name=job.file_name,
        job_id=str(job.id),
        attempt=job.attempt,
        download_name=job.download_name(),
        file_format=job.format,
        issued_to=actor.label if actor else "",
    )
    record_export_event(job=job, action=Action.DOWNLOAD_LINK, actor=actor)
    return url
