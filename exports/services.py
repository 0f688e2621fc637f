"""Every change of an export's state happens here.

Each transition is one conditional UPDATE on the current status, so two requests racing for the
same job cannot both win; work for the worker is enqueued only after the commit, by id. The
values a transition takes are checked by exports.inputs; the worker's side of a run (threads,
throttling, sinks) is exports.runtime, which calls the transitions here.
"""

from __future__ import annotations

import logging
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
from exports.inputs import (
    normalise_description,
    normalise_format,
    normalise_limit,
    normalise_offset,
    normalise_requested_data,
)
from exports.models import ExportJob
from exports.selectors import count_export_rows
from logs.filters import describe_filters, matching_logs, normalise_filters

logger = logging.getLogger(__name__)
Status = ExportJob.Status


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
    normalised_format = normalise_format(file_format)
    normalised_description = normalise_description(description)
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
            description=normalised_description,
            filters=normalised_filters,
            requested_data=field_names,
            limit=normalised_limit,
            offset=normalised_offset,
            format=normalised_format,
            total_records=total,
        )
        record_export_event(job=job, action=Action.CREATED, actor=actor)
    return job


UNSET: Any = object()
# The code of the ValidationError that refuses an export of no logs: valid input, no data (the
# API answers it 422 no_matching_logs).
EMPTY_EXPORT = "empty_export"
UPDATE_TRIES = 3  # a draft edited by several requests at once: count again, at most this often


def ensure_not_empty(*, workspace_id, filters: dict, offset: int, total: int) -> None:
    """Refuses an export of 0 logs, naming the filters (or the offset) that make it empty."""
    if total:
        return
    if offset and matching_logs(workspace_id=workspace_id, filters=filters).exists():
        raise ValidationError({"offset": ValidationError(
            f"{offset:,} skips every log matching {describe_filters(filters)}, so the export "
            "would be empty; use a smaller offset", code=EMPTY_EXPORT)})
    raise ValidationError({"filters": ValidationError(
        f"no logs match {describe_filters(filters)}, so the export would be empty; widen the "
        "time range or clear a filter", code=EMPTY_EXPORT)})


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
    # The total counts the slice as it is now, not as `job` was read: counted outside a
    # transaction (SQLite's write lock), then saved only if no other change came in meanwhile
    # (last_updated_at moves with every change); else counted again.
    for _ in range(UPDATE_TRIES):
        job.refresh_from_db()
        if job.status != Status.DRAFT:
            break
        merged = {
            "filters": job.filters, "limit": job.limit, "offset": job.offset,
            **{key: changes[key] for key in ("filters", "limit", "offset") if key in changes},
        }
        total = count_export_rows(workspace_id=job.workspace_id, **merged)
        if refuse_empty:
            ensure_not_empty(workspace_id=job.workspace_id, filters=merged["filters"],
                             offset=merged["offset"], total=total)
        updated = ExportJob.objects.filter(
            id=job.id, status=Status.DRAFT, last_updated_at=job.last_updated_at
        ).update(**changes, total_records=total, last_updated_at=timezone.now())
        if updated:
            job.refresh_from_db()
            return job
    job.refresh_from_db(fields=["status"])
    raise InvalidTransition(
        f"only a draft export can be changed; this one is {job.get_status_display()}"
        if job.status != Status.DRAFT else "this export is being changed by another request; "
        "try again",
        status=job.status,
    )


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
            rows_skipped=0,
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


def export_job_delete(*, job: ExportJob, actor: Actor | None = None) -> None:
    """Remove an export and its file, recorded in the audit trail.

    The row is read again under a lock, so the file removed is the one the export has now (a
    run that finished after `job` was read leaves no orphan). An export in progress is
    cancelled first; its worker stops at its next checkpoint. The file goes after the commit,
    so a failed file delete never leaves an export without its file.
    """
    with transaction.atomic():
        current = ExportJob.objects.select_for_update().filter(id=job.id).first()
        if current is None:
            return
        if current.status == Status.IN_PROGRESS:
            export_job_cancel(job=current, actor=actor)
        deleted, _ = ExportJob.objects.filter(id=current.id, status=current.status).delete()
        if not deleted:  # cannot happen under the lock; never delete on a guess
            raise InvalidTransition("this export changed meanwhile; try again",
                                    status=current.status)
        record_export_event(job=current, action=Action.DELETED, actor=actor)
        if current.file_name:
            file_name = current.file_name
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
            rows_skipped=0,
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

def export_job_succeed(*, job_id, attempt: int, file_name: str, rows: int, file_size: int,
                       sha256: str, skipped: int = 0) -> bool:
    """In progress → success with the attempt's file; False when the run was cancelled or
    replaced meanwhile (the file is then not the export's)."""
    now = timezone.now()
    return bool(ExportJob.objects.filter(
        id=job_id, status=Status.IN_PROGRESS, attempt=attempt
    ).update(
        status=Status.SUCCESS,
        lease_expires_at=None,
        rows_written=rows,
        rows_skipped=skipped,
        total_records=rows + skipped,
        file_name=file_name,
        file_size=file_size,
        sha256=sha256,
        finished_at=now,
        last_updated_at=now,
        expires_at=now + timedelta(days=settings.EXPORTS_FILE_RETENTION_DAYS),
    ))


TIMES = {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times"}


def export_job_replace_dead_attempt(*, job: ExportJob, reason: str) -> str | None:
    """A new attempt for one that died, or Failure after EXPORTS_MAX_ATTEMPTS runs.

    `reason` finishes "the last time …". Returns "retried" or "failed", or None when another
    process settled the attempt first (the same guards as export_job_retry / _give_up).
    """
    runs = len(job.retries) + 1
    if runs >= settings.EXPORTS_MAX_ATTEMPTS:
        times = TIMES.get(runs, f"{runs} times")
        message = (f"The worker running this export stopped {times}; the last time {reason}. "
                   "Start the export again to retry.")
        if export_job_give_up(job=job, reason=message):
            logger.warning("export %s failed: %s", job.id, message)
            return "failed"
        return None
    retry_reason = f"Attempt {job.attempt} stopped: {reason}. Started again from the beginning."
    if export_job_retry(job=job, reason=retry_reason):
        logger.warning("export %s started again: %s", job.id, retry_reason)
        return "retried"
    return None

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
    if job.file_expired:
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
