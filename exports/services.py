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
from django.db.models import F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
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
from exports.models import ExportJob, ExportPart
from exports.parts import part_rows, plan_parts
from exports.redaction.policy import ensure_policy_kept, export_rules
from exports.selectors import count_export_rows
from exports.signals import export_finished
from logs.filters import describe_filters, matching_logs, normalise_filters

logger = logging.getLogger(__name__)
Status = ExportJob.Status


UNSET: Any = object()


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
    redaction: Any = UNSET,
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
    rules = export_rules(workspace.id, redaction, given=redaction is not UNSET)
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
            redaction=rules,
            total_records=total,
        )
        record_export_event(job=job, action=Action.CREATED, actor=actor,
                            details={"redaction": rules})
    return job


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
    redaction: Any = UNSET,
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
    if redaction is not UNSET:
        changes["redaction"] = export_rules(job.workspace_id, redaction, given=True)
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
    # A draft made before the workspace's policy became mandatory is held to it too.
    ensure_policy_kept(job.workspace_id, job.redaction or {})
    ensure_queue_reachable()
    # Planned here rather than in the worker: the progress bar's total reflects the data as it is
    # when the user starts the export. Outside the start's transaction, so the planner reads in
    # a snapshot of its own (exports.parts); the plan's rows are the export's total.
    ranges = plan_parts(workspace_id=job.workspace_id, filters=job.filters, offset=job.offset,
                        limit=job.limit)
    in_parts = len(ranges) > 1
    now = timezone.now()
    with transaction.atomic():
        ensure_room_to_run(job=job)
        updated = ExportJob.objects.filter(id=job.id, status__in=ExportJob.STARTABLE).update(
            status=Status.IN_PROGRESS,
            total_records=sum(part.rows for part in ranges),
            part_count=len(ranges),
            manifest=None,
            attempt=F("attempt") + 1,
            # An export in parts has a lease per part; its own lease is the join's (see
            # export_job_claim_join), so it is empty while the parts run.
            lease_expires_at=None if in_parts else lease_until(),
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
        old_objects = _part_objects(job)
        ExportPart.objects.filter(export=job).delete()
        parts = part_rows(job, ranges)
        if in_parts:
            for part in parts:
                part.status, part.attempt = ExportPart.Status.IN_PROGRESS, 1
                part.lease_expires_at, part.started_at = lease_until(), now
        ExportPart.objects.bulk_create(parts)
        record_export_event(job=job, action=Action.STARTED, actor=actor,
                            details={"redaction": job.redaction})
        job_id, attempt = str(job.id), job.attempt
        if in_parts:
            indexes = [part.index for part in parts]
            transaction.on_commit(lambda: enqueue_parts(job_id=job_id, attempt=attempt,
                                                        indexes=indexes))
        else:
            transaction.on_commit(lambda: enqueue_export(job_id=job_id, attempt=attempt))
        _delete_after_commit(old_objects)
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


def part_rq_job_id(*, job_id, attempt: int, index: int, part_attempt: int) -> str:
    return f"export-{job_id}-{attempt}-p{index}-{part_attempt}"


def enqueue_parts(*, job_id: str, attempt: int, indexes: list[int], part_attempt: int = 1
                  ) -> None:
    """Queues one RQ job per part (after the commit that planned them); a queue gone meanwhile
    is left to the reconciler, as for enqueue_export."""
    import redis

    try:
        for index in indexes:
            export_queue().enqueue(
                "exports.tasks.run_export_part", job_id, attempt, index, part_attempt,
                job_id=part_rq_job_id(job_id=job_id, attempt=attempt, index=index,
                                      part_attempt=part_attempt),
                description=f"export {job_id} (attempt {attempt}) part {index} "
                            f"(attempt {part_attempt})",
                on_failure=Callback("exports.tasks.on_export_part_failure"),
                failure_ttl=7 * 86_400,
            )
    except (redis.ConnectionError, redis.TimeoutError) as error:
        logger.warning("export %s parts not queued (%s); the reconciler will queue them",
                       job_id, error)


def enqueue_join(*, job_id: str, attempt: int) -> None:
    export_queue().enqueue(
        "exports.tasks.join_export", job_id, attempt,
        job_id=f"export-{job_id}-{attempt}-join-{timezone.now().timestamp():.0f}",
        description=f"export {job_id} (attempt {attempt}): join the parts",
        failure_ttl=7 * 86_400,
    )


def _part_objects(job: ExportJob) -> list[str]:
    return list(ExportPart.objects.filter(export_id=job.pk).exclude(file_name="")
            .values_list("file_name", flat=True))


def _delete_after_commit(names: list[str]) -> None:
    def delete() -> None:
        for name in names:
            try:
                storage.delete_file(name)
            except Exception:  # a leftover object must not undo the change of state
                logger.exception("could not delete the part object %s", name)

    if names:
        transaction.on_commit(delete)


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
        # Parts already written are of no use now; parts still running stop at their next
        # checkpoint and discard their own unfinished objects.
        _delete_after_commit(_part_objects(job))
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
        part_objects = _part_objects(current)  # read before the parts go with the export
        deleted, _ = ExportJob.objects.filter(id=current.id, status=current.status).delete()
        if not deleted:  # cannot happen under the lock; never delete on a guess
            raise InvalidTransition("this export changed meanwhile; try again",
                                    status=current.status)
        record_export_event(job=current, action=Action.DELETED, actor=actor)
        _delete_after_commit(part_objects)
        if current.file_name:
            file_name = current.file_name
            transaction.on_commit(lambda: storage.delete_file(file_name))


def export_job_fail(*, job_id, attempt: int, reason: str) -> bool:
    """In progress → failed with a reason; False when the run was already cancelled or replaced."""
    now = timezone.now()
    with transaction.atomic():
        failed = bool(ExportJob.objects.filter(
            id=job_id, status=Status.IN_PROGRESS, attempt=attempt,
        ).update(status=Status.FAILED, error=reason[:2000], finished_at=now, last_updated_at=now,
                 lease_expires_at=None))
        if failed:  # the parts written so far are of no use now
            _delete_after_commit(_part_objects(ExportJob(pk=job_id)))
            _finished(job_id=job_id, status=Status.FAILED)
    return failed


def export_job_fail_draft(*, job: ExportJob, reason: str) -> bool:
    """Draft → failed with a reason, without running: for a draft whose maker found it cannot
    be written as asked (a schedule's window holding more logs than an export may). Its
    subscribers are told as of any failure; False when it was no longer a draft."""
    now = timezone.now()
    with transaction.atomic():
        failed = bool(ExportJob.objects.filter(id=job.id, status=Status.DRAFT).update(
            status=Status.FAILED, error=reason[:2000], finished_at=now, last_updated_at=now))
        if failed:
            _finished(job_id=job.id, status=Status.FAILED)
    job.refresh_from_db()
    return failed


def _finished(*, job_id, status: str) -> None:
    # Inside the transaction of the terminal state: subscribers' rows commit with it.
    export_finished.send(sender=ExportJob, job_id=job_id, status=status)


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
    with transaction.atomic():
        failed = bool(ExportJob.objects.filter(
            id=job.id, status=Status.IN_PROGRESS, attempt=job.attempt,
            lease_expires_at=job.lease_expires_at,
        ).update(
            status=Status.FAILED, error=reason[:2000], retries=history, lease_expires_at=None,
            finished_at=now, last_updated_at=now,
        ))
        if failed:
            _finished(job_id=job.id, status=Status.FAILED)
    return failed


def export_job_succeed(*, job_id, attempt: int, file_name: str, rows: int, file_size: int,
                       sha256: str, manifest: dict, skipped: int = 0,
                       redaction_counts: dict | None = None) -> bool:
    """In progress → success with the attempt's file; False when the run was cancelled or
    replaced meanwhile (the file is then not the export's)."""
    now = timezone.now()
    with transaction.atomic():
        succeeded = bool(ExportJob.objects.filter(
            id=job_id, status=Status.IN_PROGRESS, attempt=attempt
        ).update(
            status=Status.SUCCESS,
            lease_expires_at=None,
            rows_written=rows,
            rows_skipped=skipped,
            redaction_counts=redaction_counts or {},
            total_records=rows + skipped,
            file_name=file_name,
            file_size=file_size,
            sha256=sha256,
            manifest=manifest,
            finished_at=now,
            last_updated_at=now,
            expires_at=now + timedelta(days=settings.EXPORTS_FILE_RETENTION_DAYS),
        ))
        if succeeded:
            _finished(job_id=job_id, status=Status.SUCCESS)
    return succeeded


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


# --- Exports in parts -------------------------------------------------------------------------

def _running_part(*, job_id, attempt: int, index: int, part_attempt: int):
    """The part's attempt while it, and its export's attempt, still run."""
    return ExportPart.objects.filter(
        export_id=job_id, export__status=Status.IN_PROGRESS, export__attempt=attempt,
        index=index, status=ExportPart.Status.IN_PROGRESS, attempt=part_attempt,
    )


def export_job_sum_progress(*, job_id, attempt: int) -> None:
    """The export's rows_written: the sum over its parts (while the attempt runs)."""
    rows = ExportPart.objects.filter(export_id=OuterRef("pk")).values("export_id").annotate(
        total=Sum("rows_written")).values("total")
    ExportJob.objects.filter(id=job_id, status=Status.IN_PROGRESS, attempt=attempt).update(
        rows_written=Coalesce(Subquery(rows), 0), last_updated_at=timezone.now())


def export_part_succeed(*, job_id, attempt: int, index: int, part_attempt: int, file_name: str,
                        rows: int, file_size: int, sha256: str, first_created_at,
                        last_created_at, skipped: int = 0,
                        redaction_counts: dict | None = None) -> bool:
    """A part's attempt → success with its object; False when the part or its export was
    replaced or cancelled meanwhile (the object is then not the part's)."""
    ids = list(_running_part(job_id=job_id, attempt=attempt, index=index,
                             part_attempt=part_attempt).values_list("id", flat=True))
    return bool(ids) and bool(ExportPart.objects.filter(
        id__in=ids, status=ExportPart.Status.IN_PROGRESS, attempt=part_attempt,
    ).update(
        status=ExportPart.Status.SUCCESS, lease_expires_at=None, rows_written=rows,
        rows_skipped=skipped, redaction_counts=redaction_counts or {}, file_name=file_name,
        file_size=file_size, sha256=sha256, first_created_at=first_created_at,
        last_created_at=last_created_at,
        finished_at=timezone.now(),
    ))


def export_job_claim_join(*, job_id, attempt: int) -> bool:
    """True for exactly one caller once every part of the export has succeeded: that caller
    joins the parts. The claim is the export's own lease (empty while the parts run), renewed
    by the joiner; the reconciler hands a join whose lease passed to another worker."""
    with transaction.atomic():
        # The row lock makes callers that finish their parts at the same moment take turns;
        # the parts are then counted as committed, so the last to finish sees them all.
        claimable = ExportJob.objects.select_for_update().filter(
            id=job_id, status=Status.IN_PROGRESS, attempt=attempt, lease_expires_at__isnull=True,
            part_count__gt=1,
        ).exists()
        if not claimable or ExportPart.objects.filter(export_id=job_id).exclude(
                status=ExportPart.Status.SUCCESS).exists():
            return False
        return bool(ExportJob.objects.filter(
            id=job_id, status=Status.IN_PROGRESS, attempt=attempt, lease_expires_at__isnull=True,
        ).update(lease_expires_at=lease_until(), last_updated_at=timezone.now()))


def export_job_retry_join(*, job: ExportJob) -> bool:
    """A join whose worker died (its lease passed): claimed again and queued, once."""
    with transaction.atomic():
        updated = ExportJob.objects.filter(
            id=job.id, status=Status.IN_PROGRESS, attempt=job.attempt,
            lease_expires_at=job.lease_expires_at,
        ).update(lease_expires_at=lease_until(), last_updated_at=timezone.now())
        if updated:
            job_id, attempt = str(job.id), job.attempt
            transaction.on_commit(lambda: enqueue_join(job_id=job_id, attempt=attempt))
    return bool(updated)


def export_part_replace_dead_attempt(*, part: ExportPart, reason: str) -> str | None:
    """A new attempt for a part whose attempt died, or the export's Failure once that part has
    run EXPORTS_MAX_ATTEMPTS times. Only this part runs again, from its own first row.

    Returns "retried", "failed", or None when another process settled it first (conditional on
    the part's attempt and the lease that was read)."""
    job = part.export
    runs = len(part.retries) + 1
    now = timezone.now()
    history = [*part.retries, {"attempt": part.attempt, "at": now.isoformat(), "reason": reason}]
    same = ExportPart.objects.filter(
        id=part.id, status=ExportPart.Status.IN_PROGRESS, attempt=part.attempt,
        lease_expires_at=part.lease_expires_at, export__status=Status.IN_PROGRESS,
        export__attempt=job.attempt)
    if runs >= settings.EXPORTS_MAX_ATTEMPTS:
        times = TIMES.get(runs, f"{runs} times")
        message = (f"The worker writing part {part.index + 1} of {job.part_count} of this export "
                   f"stopped {times}; the last time {reason}. Start the export again to retry.")
        with transaction.atomic():
            if not same.update(status=ExportPart.Status.FAILED, retries=history,
                               lease_expires_at=None, finished_at=now):
                return None
            export_job_fail(job_id=job.id, attempt=job.attempt, reason=message)
        logger.warning("export %s failed: %s", job.id, message)
        return "failed"
    with transaction.atomic():
        if not same.update(attempt=F("attempt") + 1, lease_expires_at=lease_until(),
                           retries=history, rows_written=0, started_at=now):
            return None
        job_id, attempt, index = str(job.id), job.attempt, part.index
        part_attempt = part.attempt + 1
        transaction.on_commit(lambda: enqueue_parts(
            job_id=job_id, attempt=attempt, indexes=[index], part_attempt=part_attempt))
    logger.warning("export %s part %s started again: %s", job.id, part.index, reason)
    return "retried"
