"""Finds export attempts that died and starts them again, or gives up in plain words.

Every running attempt holds a lease that its work horse renews (runtime.LeaseKeeper). Each RQ
worker runs `reconcile()` every EXPORTS_RECONCILE_SECONDS (exports.worker), and
`manage.py exports_reconcile` runs it on demand. An attempt is dead when

- RQ says its work horse was terminated (killed by a signal, e.g. the OOM killer): at once,
  since RQ calls no failure callback for it; or
- its lease has passed and RQ does not have it waiting in the queue or just taken up.

A dead attempt is replaced by a new one (from the first row, under a new file name) until the
export has run EXPORTS_MAX_ATTEMPTS times since it was started; then it is Failure with the
reason. Each replacement is one conditional UPDATE on the attempt and the lease that was read,
so of several workers reconciling at once exactly one wins, and only the winner enqueues.
What a dead attempt left in storage (`.part` files, incomplete S3 multipart uploads) goes too.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, timedelta

import redis
from django.conf import settings
from django.db.models import F
from django.utils import timezone
from rq.job import Job, JobStatus

from exports import runtime, services, storage
from exports.joining import part_name
from exports.models import ExportJob, ExportPart

logger = logging.getLogger(__name__)
Status = ExportJob.Status

BATCH = 500  # in-progress exports looked at per pass
HORSE_KILLED = "Work-horse terminated unexpectedly"
SIGNAL = re.compile(r"\(signal (\d+)\)")
PARTIAL_NAME = re.compile(r"(?:^|/)(?P<job>[0-9a-f-]{36})-(?P<attempt>\d+)\.")


@dataclass
class ReconcileReport:
    retried: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    partials_removed: int = 0
    queue_unreachable: bool = False

    def __str__(self) -> str:
        if self.queue_unreachable:
            return "the queue cannot be reached; nothing reconciled"
        return (f"{len(self.retried)} export(s) started again, {len(self.failed)} failed, "
                f"{self.partials_removed} leftover partial file(s) removed")


def _failure_text(rq_job: Job) -> str:
    result = rq_job.latest_result()
    return (result.exc_string or "") if result is not None else ""


def _horse_killed(rq_job: Job | None, status: JobStatus | None) -> bool:
    return rq_job is not None and status == JobStatus.FAILED and HORSE_KILLED in _failure_text(
        rq_job
    )


def _why_dead(rq_job: Job | None, status: JobStatus | None) -> str:
    """How the attempt ended, in words that finish "the last time …"."""
    if rq_job is None:
        return ("its job was no longer in the queue (Redis was unreachable when it was started, "
                "or restarted without its data)")
    if status == JobStatus.FAILED:
        text = _failure_text(rq_job)
        if HORSE_KILLED in text:
            match = SIGNAL.search(text)
            if match and int(match.group(1)) == 9:
                return "it was killed (out of memory?)"
            if match:
                return f"it was stopped by signal {match.group(1)}"
            return "it ended unexpectedly"
        if "AbandonedJobError" in text:
            return "its worker stopped answering (killed, or its machine restarted?)"
        return "it failed without recording why"
    if status == JobStatus.STARTED:
        return ("its worker stopped answering (killed, or its machine restarted?) "
                "while the export was being written")
    if status == JobStatus.FINISHED:
        return "it ended without recording its result"
    return f"its job was {status}"


def _is_waiting(rq_job: Job | None, status: JobStatus | None, now) -> bool:
    """Still queued, or taken up so recently that its horse has not renewed the lease yet."""
    if rq_job is None:
        return False
    if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
        return True
    if status != JobStatus.STARTED or rq_job.started_at is None:
        return False
    started = rq_job.started_at
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return now - started < timedelta(seconds=settings.EXPORTS_LEASE_SECONDS)


def _discard(name: str) -> int:
    try:
        return storage.discard_partial(name)
    except Exception:  # storage trouble must not stop the reconciling of other exports
        logger.exception("could not remove the partial file %s", name)
        return 0


def _settle(job: ExportJob, reason: str, report: ReconcileReport) -> None:
    dead_file = runtime.file_name_for(job)
    outcome = services.export_job_replace_dead_attempt(job=job, reason=reason)
    if outcome == "failed":
        report.failed.append(str(job.id))
    elif outcome == "retried":
        report.retried.append(str(job.id))
    if outcome:
        report.partials_removed += _discard(dead_file)


def _sweep_partials(report: ReconcileReport, now) -> None:
    """Leftovers of attempts that are no longer running (e.g. killed, then cancelled)."""
    old = now - timedelta(seconds=settings.EXPORTS_LEASE_SECONDS)
    for name, started in storage.partial_files():
        match = PARTIAL_NAME.search(name)
        if match is None or started > old:
            continue
        running = ExportJob.objects.filter(
            id=match["job"], attempt=int(match["attempt"]), status=Status.IN_PROGRESS
        ).exists()
        if not running:
            report.partials_removed += _discard(name)


def _fetch_statuses(ids: list[str]) -> tuple[list, list]:
    rq_jobs = Job.fetch_many(ids, connection=services.export_queue().connection)
    return rq_jobs, [rq_job.get_status(refresh=False) if rq_job else None for rq_job in rq_jobs]


def _dead(rq_job, status, lease_expires_at, now) -> bool:
    lease_passed = lease_expires_at is None or lease_expires_at < now
    return _horse_killed(rq_job, status) or (lease_passed and not _is_waiting(rq_job, status, now))


def _reconcile_parts(report: ReconcileReport, now) -> None:
    """Exports in parts: each part's attempt on its own, and a join whose worker died."""
    parts = list(ExportPart.objects.select_related("export").filter(
        status=ExportPart.Status.IN_PROGRESS, export__status=Status.IN_PROGRESS,
    ).order_by(F("lease_expires_at").asc(nulls_first=True))[:BATCH])
    if parts:
        ids = [services.part_rq_job_id(job_id=part.export_id, attempt=part.export.attempt,
                                       index=part.index, part_attempt=part.attempt)
               for part in parts]
        rq_jobs, statuses = _fetch_statuses(ids)
        for part, rq_job, status in zip(parts, rq_jobs, statuses, strict=True):
            if not _dead(rq_job, status, part.lease_expires_at, now):
                continue
            dead_object = part_name(runtime.file_name_for(part.export), part.index,
                                    attempt=part.attempt)
            outcome = services.export_part_replace_dead_attempt(
                part=part, reason=_why_dead(rq_job, status))
            if outcome == "failed":
                report.failed.append(str(part.export_id))
            elif outcome == "retried":
                report.retried.append(f"{part.export_id} part {part.index}")
            if outcome:
                report.partials_removed += _discard(dead_object)
    # The export's own lease is its join's; passed, the joiner died: another worker joins.
    for job in ExportJob.objects.filter(status=Status.IN_PROGRESS, part_count__gt=1,
                                        lease_expires_at__lt=now)[:BATCH]:
        if services.export_job_retry_join(job=job):
            report.retried.append(f"{job.id} join")
    # Every part written but no join claimed: the last part's worker died in between.
    unjoined = ExportJob.objects.filter(
        status=Status.IN_PROGRESS, part_count__gt=1, lease_expires_at__isnull=True,
        last_updated_at__lt=now - timedelta(seconds=settings.EXPORTS_LEASE_SECONDS),
    ).exclude(parts__status__in=[ExportPart.Status.PENDING, ExportPart.Status.IN_PROGRESS,
                                 ExportPart.Status.FAILED])
    for job in unjoined[:BATCH]:
        if services.export_job_claim_join(job_id=job.id, attempt=job.attempt):
            services.enqueue_join(job_id=str(job.id), attempt=job.attempt)
            report.retried.append(f"{job.id} join")


def reconcile() -> ReconcileReport:
    report = ReconcileReport()
    now = timezone.now()
    try:
        _reconcile_parts(report, now)
    except (redis.ConnectionError, redis.TimeoutError) as error:
        logger.warning("reconciler: the queue cannot be reached (%s)", error)
        report.queue_unreachable = True
        return report
    jobs = list(
        ExportJob.objects.filter(status=Status.IN_PROGRESS, part_count__lte=1)
        .order_by(F("lease_expires_at").asc(nulls_first=True))[:BATCH]
    )
    if jobs:
        ids = [services.rq_job_id(job_id=job.id, attempt=job.attempt) for job in jobs]
        try:
            rq_jobs, statuses = _fetch_statuses(ids)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            # Without the queue, a queued attempt cannot be told from a lost one: wait.
            logger.warning("reconciler: the queue cannot be reached (%s)", error)
            report.queue_unreachable = True
            return report
        for job, rq_job, status in zip(jobs, rq_jobs, statuses, strict=True):
            if _dead(rq_job, status, job.lease_expires_at, now):
                _settle(job, _why_dead(rq_job, status), report)
    try:
        _sweep_partials(report, now)
    except Exception:  # storage unreachable: the leftovers wait for a later pass
        logger.exception("reconciler: could not look for leftover partial files")
    return report

