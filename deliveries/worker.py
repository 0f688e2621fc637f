"""The RQ worker class of `manage.py rqworker`: the exports worker, plus two threads of its own:

- one sends what is owed (copies, webhooks, e-mails) when due, so retries run at their time and
  a row left by a worker that died while sending is taken up after its lease;
- one runs the scheduler's tick (deliveries.scheduler) every SCHEDULES_TICK_SECONDS, from when
  the worker starts: every worker ticks, the database lets one of them make each window's run,
  and a worker started after downtime catches the missed windows up at once.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connection
from django.utils import timezone

from exports.worker import FORK_GUARD, ExportWorker

logger = logging.getLogger(__name__)


def send_periodically(stop: threading.Event) -> None:
    from deliveries.sending import send_due

    while not stop.wait(settings.DELIVERY_POLL_SECONDS):
        try:
            send_due()
        except Exception:  # the next tick tries again
            logger.exception("deliveries: pass failed")
        finally:
            connection.close()


def schedule_periodically(stop: threading.Event) -> None:
    from deliveries.scheduler import tick

    while True:
        try:
            # Held like the exports' periodic passes: a horse forked mid-tick must not inherit
            # a lock held by this thread.
            with FORK_GUARD:
                report = tick(now=timezone.now())
            (logger.info if report.made or report.blocked else logger.debug)(
                "scheduler: %s", report)
        except Exception:  # the next tick tries again; the worker itself carries on
            logger.exception("scheduler: tick failed")
        finally:
            connection.close()
        if stop.wait(settings.SCHEDULES_TICK_SECONDS):
            return


class DeliveryWorker(ExportWorker):
    def work(self, *args, **kwargs) -> bool:
        stop = threading.Event()
        threads = [("deliveries", send_periodically)]
        if settings.SCHEDULES_TICK_SECONDS > 0:
            threads.append(("scheduler", schedule_periodically))
        for name, target in threads:
            threading.Thread(target=target, args=(stop,), name=name, daemon=True).start()
        try:
            return super().work(*args, **kwargs)
        finally:
            stop.set()
