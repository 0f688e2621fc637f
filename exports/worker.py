"""The RQ worker class of `manage.py rqworker` (settings.RQ["WORKER_CLASS"]).

A plain RQ worker, plus the export reconciler on a thread of its own, so that every live worker
notices attempts that died elsewhere (a killed work horse, a whole worker gone) within
EXPORTS_RECONCILE_SECONDS, whether it is idle or busy with an export of its own. RQ's own
maintenance runs every 10 minutes, only between jobs: too late and too rare for this.

A second thread offers to run the maintenance pass (exports.maintenance) when the worker starts
and every few minutes after; the database lets one worker run it per
MAINTENANCE_INTERVAL_SECONDS. Asking often, not once per interval, is what keeps it daily when
workers are restarted (deploys) more often than that.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from rq.worker import Worker

logger = logging.getLogger(__name__)

MAINTENANCE_CHECK_SECONDS = 300  # one UPDATE that finds the pass not due: cheap to ask often
EXPORT_TASK = "exports.tasks.run_export"
PART_TASK = "exports.tasks.run_export_part"
JOIN_TASK = "exports.tasks.join_export"
# Held by each periodic pass and by the fork of a work horse: a horse forked while a pass held
# a lock of its own (boto3's, a connection's, logging's) inherits it held and waits on it for
# ever (seen: a part's horse stuck at 0 rows while its lease thread kept renewing).
FORK_GUARD = threading.Lock()


def reconcile_periodically(stop: threading.Event) -> None:
    from exports.reconciler import reconcile

    while not stop.wait(settings.EXPORTS_RECONCILE_SECONDS):
        try:
            with FORK_GUARD:
                report = reconcile()
            acted = report.retried or report.failed or report.partials_removed
            (logger.warning if acted else logger.debug)("reconciler: %s", report)
        except Exception:  # the next tick tries again; the worker itself carries on
            logger.exception("reconciler: pass failed")
        finally:
            # This thread's own connection: never held open between passes (SQLite locks).
            connection.close()


def maintain_periodically(stop: threading.Event) -> None:
    from exports.maintenance import run_maintenance

    interval = settings.MAINTENANCE_INTERVAL_SECONDS
    by = f"worker {socket.gethostname()}:{os.getpid()}"
    while True:
        try:
            with FORK_GUARD:
                run_maintenance(by=by, interval=timedelta(seconds=interval))
        except Exception:  # a claim taken stands: the next pass is one interval later
            logger.exception("maintenance: pass failed")
        finally:
            connection.close()
        if stop.wait(min(interval, MAINTENANCE_CHECK_SECONDS)):
            return


def horse_outlived_its_lease(job, *, working_seconds: float) -> bool:
    """A horse that has had a lease's time to renew it, and whose attempt is no longer wanted
    alive (exports.selectors.attempt_outlived)."""
    from exports.selectors import attempt_outlived, part_attempt_outlived

    if working_seconds < settings.EXPORTS_LEASE_SECONDS:
        return False
    try:
        # A part's horse renews its part's lease; a whole export's and a join's renew the
        # export's own.
        if job.func_name == PART_TASK:
            job_id, attempt, index, part_attempt = job.args
            return part_attempt_outlived(job_id=job_id, attempt=attempt, index=index,
                                         part_attempt=part_attempt, now=timezone.now())
        if job.func_name in (EXPORT_TASK, JOIN_TASK):
            job_id, attempt = job.args
            return attempt_outlived(job_id=job_id, attempt=attempt, now=timezone.now())
        return False
    finally:
        connection.close()  # never open in this process when it forks the next horse


class ExportWorker(Worker):
    """Also ends a work horse that stopped renewing its lease (hung: SIGSTOP, a deadlock, a
    stalled mount). The reconciler starts the attempt again after the lease; without this, the
    retry, and every other export, waited behind the hung horse for EXPORTS_JOB_TIMEOUT."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # RQ looks at its horse this often (default 30 s): at each renewal's pace instead.
        self.job_monitoring_interval = max(1, min(self.job_monitoring_interval,
                                                  settings.EXPORTS_LEASE_RENEW_SECONDS))

    def maintain_heartbeats(self, job, *args, **kwargs) -> None:
        super().maintain_heartbeats(job, *args, **kwargs)
        started = job.started_at
        working = (timezone.now() - started).total_seconds() if started else 0.0
        try:
            outlived = horse_outlived_its_lease(job, working_seconds=working)
        except Exception:  # the database away: the next look may get through
            logger.exception("could not check the lease of job %s", job.id)
            return
        if outlived:
            logger.warning("job %s: its work horse %s stopped renewing its lease; ending it",
                           job.id, self.horse_pid)
            self.kill_horse()

    def fork_work_horse(self, *args, **kwargs):
        with FORK_GUARD:
            return super().fork_work_horse(*args, **kwargs)

    def work(self, *args, **kwargs) -> bool:
        stop = threading.Event()
        periodic = [("export-reconciler", reconcile_periodically)]
        if settings.MAINTENANCE_INTERVAL_SECONDS > 0:
            periodic.append(("maintenance", maintain_periodically))
        for name, target in periodic:
            threading.Thread(target=target, args=(stop,), name=name, daemon=True).start()
        try:
            return super().work(*args, **kwargs)
        finally:
            stop.set()
