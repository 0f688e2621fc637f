"""The RQ worker class of `manage.py rqworker`: the exports worker, plus a thread that sends
what is owed (copies, webhooks, e-mails) when due, so retries run at their time and a row left
by a worker that died while sending is taken up after its lease."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connection

from exports.worker import ExportWorker

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


class DeliveryWorker(ExportWorker):
    def work(self, *args, **kwargs) -> bool:
        stop = threading.Event()
        threading.Thread(target=send_periodically, args=(stop,), name="deliveries",
                         daemon=True).start()
        try:
            return super().work(*args, **kwargs)
        finally:
            stop.set()
