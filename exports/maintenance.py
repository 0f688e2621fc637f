"""The maintenance pass: expired export files, then logs past LOGS_RETENTION_DAYS.

Every RQ worker asks whether the pass is due (exports.worker); `claim_maintenance` says yes to
one of them per MAINTENANCE_INTERVAL_SECONDS, however many workers and hosts there are: it is
one conditional UPDATE of the MaintenanceState row (started_at older than the interval), which
the database serialises on SQLite and PostgreSQL alike, so of workers asking at once exactly one
wins, and a worker started just after a pass finds it not due. The claim is taken when the pass
starts: a worker that dies mid-pass delays the next pass by one interval, never blocks it.
`manage.py run_maintenance` runs the pass at once, whenever the last one was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from exports.models import MaintenanceState
from exports.retention import purge_expired_export_files
from logs.retention import delete_logs_before

logger = logging.getLogger(__name__)


@dataclass
class MaintenanceReport:
    retention_days: int
    export_files_deleted: int | None = None
    logs_deleted: int | None = None  # None when retention is off or the step failed
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        files = ("expired export files not deleted" if self.export_files_deleted is None
                 else f"deleted {self.export_files_deleted} expired export file(s)")
        if self.retention_days <= 0:
            logs = "log retention is off (LOGS_RETENTION_DAYS=0)"
        elif self.logs_deleted is None:
            logs = "old logs not deleted"
        else:
            logs = f"deleted {self.logs_deleted} log(s) older than {self.retention_days} days"
        failed = f"; failed: {', '.join(self.errors)}" if self.errors else ""
        return f"{files}; {logs}{failed}"


def claim_maintenance(*, by: str, now: datetime, interval: timedelta | None) -> bool:
    """True when the caller is to run the pass now; `interval` None claims it in any case."""
    # The row comes back on its own after a flush (tests) or on a new database.
    MaintenanceState.objects.get_or_create(pk=MaintenanceState.ROW)
    rows = MaintenanceState.objects.filter(pk=MaintenanceState.ROW)
    if interval is not None:
        rows = rows.filter(Q(started_at__isnull=True) | Q(started_at__lte=now - interval))
    return rows.update(
        started_at=now, finished_at=None, started_by=by[:200], runs=F("runs") + 1,
        export_files_deleted=None, logs_deleted=None, errors="",
    ) == 1


def maintenance_pass(*, now: datetime) -> MaintenanceReport:
    """Both steps, each whatever happened to the other; a failure is logged and reported."""
    report = MaintenanceReport(retention_days=settings.LOGS_RETENTION_DAYS)
    try:
        report.export_files_deleted = purge_expired_export_files()
    except Exception as error:
        logger.exception("maintenance: deleting expired export files failed")
        report.errors.append(f"deleting expired export files ({type(error).__name__})")
    if report.retention_days > 0:
        try:
            report.logs_deleted = delete_logs_before(
                cutoff=now - timedelta(days=report.retention_days)
            )
        except Exception as error:
            logger.exception("maintenance: deleting old logs failed")
            report.errors.append(f"deleting old logs ({type(error).__name__})")
    return report


def run_maintenance(*, by: str, interval: timedelta | None) -> MaintenanceReport | None:
    """Claims the pass and runs it; None when another run holds it (not due yet)."""
    now = timezone.now()
    if not claim_maintenance(by=by, now=now, interval=interval):
        logger.debug("maintenance: not due, asked by %s", by)  # every ask shows when debugging
        return None
    report = maintenance_pass(now=now)
    # Only this pass's own record: a pass that outlived its interval must not overwrite the next.
    MaintenanceState.objects.filter(pk=MaintenanceState.ROW, started_at=now).update(
        finished_at=timezone.now(), export_files_deleted=report.export_files_deleted,
        logs_deleted=report.logs_deleted, errors="; ".join(report.errors),
    )
    (logger.warning if report.errors else logger.info)("maintenance by %s: %s", by, report)
    return report
