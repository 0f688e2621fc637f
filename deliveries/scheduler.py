"""The scheduler's tick: each RQ worker runs it every SCHEDULES_TICK_SECONDS (deliveries.worker).

A tick makes the runs that are due, oldest window first, at most SCHEDULES_RUNS_PER_TICK of them
(a long backfill or catch-up goes on at the next tick). A window is due once
now >= its end + SCHEDULES_SETTLE_SECONDS. Making a run is one transaction: the schedule's row
is locked, its next window read again (from its last run's end), the ScheduleRun INSERTed, and
the window's export created, with its delivery to the schedule's destination, and started (its
RQ job enqueued on commit). The UNIQUE key on (schedule, window_start) is what makes exactly
one run per window however many workers and hosts tick at once: the row lock only makes the
others wait and then move on to the window after.

A run whose export could not be started at once (the workspace's cap on exports in progress, the
queue unreachable) keeps its draft; each tick starts such drafts, oldest window first. A window
whose export cannot be made at all (exports closed to the organization, a redaction policy made
mandatory since) is not run and not skipped: the reason is kept on the schedule (`error`) and it
is tried again each tick.
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from deliveries import buckets
from deliveries.models import Schedule, ScheduleRun
from deliveries.selectors import cadence, next_window_of
from deliveries.services import export_job_create_delivered
from deliveries.windows import Window, next_window
from exports.access import ExportsUnavailable
from exports.errors import InvalidTransition, QueueUnavailable
from exports.formats import FORMATS_BY_NAME
from exports.models import ExportJob
from exports.selectors import count_export_rows
from exports.services import export_job_fail_draft, export_job_start
from logs.filters import format_timestamp

logger = logging.getLogger(__name__)
# The last instant of a window [start, end) as the filters' inclusive `lte`: both databases
# keep microseconds, so `<= end - 1 µs` is `< end`.
ONE_MICROSECOND = timedelta(microseconds=1)


@dataclass
class TickReport:
    made: int = 0
    started: int = 0
    blocked: dict[str, str] = field(default_factory=dict)  # schedule id -> why

    def __str__(self) -> str:
        blocked = f"; {len(self.blocked)} schedule(s) blocked" if self.blocked else ""
        return f"made {self.made} run(s), started {self.started} draft(s){blocked}"


def object_keys(schedule: Schedule, window: Window, *, prefix: str) -> tuple[str, str]:
    """`{prefix}/{name}/year=YYYY/month=MM/day=DD/{window start}.{ext}` and its manifest's key,
    dates and the start in UTC (the start in ISO 8601 basic form: no colons in a key)."""
    start = window.start
    stamp = start.strftime("%Y%m%dT%H%M%SZ")
    folder = f"{schedule.name}/year={start:%Y}/month={start:%m}/day={start:%d}"
    extension = FORMATS_BY_NAME[schedule.format].extension
    return (buckets.object_key(prefix, f"{folder}/{stamp}.{extension}"),
            buckets.object_key(prefix, f"{folder}/{stamp}.manifest.json"))


def window_filters(schedule: Schedule, window: Window) -> dict:
    return {**schedule.filters, "created_at": {
        "gte": format_timestamp(window.start),
        "lte": format_timestamp(window.end - ONE_MICROSECOND)}}


def tick(*, now: datetime) -> TickReport:
    """One pass: the due runs made (oldest window first, bounded), then drafts started."""
    report = TickReport()
    settle = settings.SCHEDULES_SETTLE_SECONDS
    budget = settings.SCHEDULES_RUNS_PER_TICK
    due: list[tuple[datetime, str, Window]] = []
    for schedule in Schedule.objects.filter(paused=False).annotate(
            last_window_end=Max("runs__window_end")):
        window = next_window_of(schedule)
        if window.due(now=now, settle_seconds=settle):
            due.append((window.start, str(schedule.id), window))
    heapq.heapify(due)
    while due and report.made < budget:
        _, schedule_id, _ = heapq.heappop(due)
        made = make_run(schedule_id=schedule_id, now=now, report=report)
        if made is not None:
            report.made += 1
            after = next_window(cadence(made.schedule), first_start=made.schedule.start,
                                previous_end=made.window_end)
            if after.due(now=now, settle_seconds=settle):
                heapq.heappush(due, (after.start, schedule_id, after))
    report.started = start_drafts(limit=budget)
    return report


def make_run(*, schedule_id: str, now: datetime, report: TickReport) -> ScheduleRun | None:
    """The run of the schedule's next window, if it is due; None when there is none to make
    (another worker made it, the schedule was paused or deleted) or it cannot be made now."""
    settle = settings.SCHEDULES_SETTLE_SECONDS
    try:
        with transaction.atomic():
            schedule = (Schedule.objects.select_for_update(of=("self",)).select_related(
                "destination", "workspace__organization", "owner")
                .filter(id=schedule_id, paused=False).first())
            if schedule is None:
                return None
            window = next_window_of(schedule)  # read again under the lock
            if not window.due(now=now, settle_seconds=settle):
                return None
            try:
                with transaction.atomic():
                    run = ScheduleRun.objects.create(schedule=schedule, window_start=window.start,
                                                     window_end=window.end)
            except IntegrityError:  # another worker made this window's run: it is theirs
                return None
            run.export = _window_export(schedule, window)
            run.save(update_fields=["export"])
            # Inside: its RQ job is enqueued on this commit. Refused (the workspace's cap, the
            # queue away), it stays a draft that start_drafts starts at a later tick.
            _start(run.export)
            if schedule.error:
                Schedule.objects.filter(id=schedule.id).update(error="")
    except (ValidationError, ExportsUnavailable) as error:
        reason = _reason(error)
        logger.warning("schedule %s: window not run: %s", schedule_id, reason)
        Schedule.objects.filter(id=schedule_id).update(error=reason[:2000])
        report.blocked[schedule_id] = reason
        return None
    return run


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        return "; ".join(f"{name}: {' '.join(messages)}"
                         for name, messages in error.message_dict.items())
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(getattr(error, "message", error))


def _window_export(schedule: Schedule, window: Window) -> ExportJob:
    """The window's export, delivered at the date-laid-out keys; failed at once, with the
    reason, when the window holds more logs than one export may (never cut short)."""
    destination = schedule.destination
    key, manifest_key = object_keys(schedule, window, prefix=destination.prefix)
    cap = settings.EXPORTS_MAX_LOGS_PER_EXPORT
    job = export_job_create_delivered(
        workspace=schedule.workspace, destination=destination, key=key,
        manifest_key=manifest_key, filters=window_filters(schedule, window),
        requested_data=schedule.requested_data, limit=cap, file_format=schedule.format,
        redaction=schedule.redaction, created_by=schedule.owner,
        description=(f"{schedule.name}: {format_timestamp(window.start)} to "
                     f"{format_timestamp(window.end)}"))
    if job.total_records >= cap and count_export_rows(
            workspace_id=job.workspace_id, filters=job.filters, limit=cap + 1, offset=0) > cap:
        export_job_fail_draft(job=job, reason=(
            f"this window holds more than {cap:,} logs, the most one export may hold "
            "(EXPORTS_MAX_LOGS_PER_EXPORT); nothing was written rather than a part of them. "
            "Narrow the schedule's filters or make it run more often."))
    return job


def _start(job: ExportJob | None) -> bool:
    """Starts a run's draft; False when it stays a draft for a later tick (or is no draft)."""
    if job is None or job.status != ExportJob.Status.DRAFT:
        return False
    try:
        export_job_start(job=job)
    except (InvalidTransition, QueueUnavailable, ExportsUnavailable, ValidationError) as error:
        logger.info("export %s of a schedule's run not started yet: %s", job.id, _reason(error))
        return False
    return True


def start_drafts(*, limit: int) -> int:
    """Starts the runs' exports left as drafts, oldest window first; how many were started."""
    runs = (ScheduleRun.objects.filter(export__status=ExportJob.Status.DRAFT)
            .select_related("export__workspace__organization").order_by("window_start")[:limit])
    return sum(_start(run.export) for run in runs)
