"""The RQ worker class of `manage.py rqworker` (settings.RQ["WORKER_CLASS"]).

A plain RQ worker, plus the export reconciler on a thread of its own, so that every live worker
notices attempts that died elsewhere (a killed work horse, a whole worker gone) within
EXPORTS_RECONCILE_SECONDS, whether it is idle or busy with an export of its own. RQ's own
maintenance runs every 10 minutes, only between jobs: too late and too rare for this.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connection
from rq.worker import Worker

logger = logging.getLogger(__name__)


def reconcile_periodically(stop: threading.Event) -> None:
    from exports.reconciler import reconcile

    while not stop.wait(settings.EXPORTS_RECONCILE_SECONDS):
        try:
            report = reconcile()
            if report.retried or report.failed or report.partials_removed:
                logger.warning("reconciler: %s", report)
        except Exception:  # the next tick tries again; the worker itself carries on
            logger.exception("reconciler: pass failed")
        finally:
            # This thread's own connection: never held open between passes (SQLite locks).
            connection.close()


class ExportWorker(Worker):
    def work(self, *args, **kwargs) -> bool:
        stop = threading.Event()
        thread = threading.Thread(
            target=reconcile_periodically, args=(stop,), name="export-reconciler", daemon=True
        )
        thread.start()
        try:
            return super().work(*args, **kwargs)
        finally:
            stop.set()
