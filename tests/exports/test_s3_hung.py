"""A hung S3 server (SeaweedFS stopped with SIGSTOP: connections are accepted, nothing answers).

With boto3's defaults (60 s reads, up to 5 tries) an export stayed In progress for 362 s and the
reconciler's sweep waited as long; the export storage's client has bounded connect and read
timeouts and tries (EXPORTS_S3_CONNECT_TIMEOUT, EXPORTS_S3_READ_TIMEOUT, EXPORTS_S3_MAX_ATTEMPTS).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time

import pytest
from django.db import connection

from config.s3_storage import s3_storage_options
from exports import runtime, services
from exports.models import ExportJob
from tests.exports.s3_server import WEED_PROCESSES
from tests.exports.test_export_jobs_integration import start

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
# What the bounds below allow at most: 2 tries of a 2 s read, plus backoff, per call.
WITHIN_SECONDS = 25


@pytest.fixture
def hung_s3(s3_server, s3_storage, settings):  # noqa: F811
    _, _, environ = s3_storage
    short = {"EXPORTS_S3_CONNECT_TIMEOUT": "1", "EXPORTS_S3_READ_TIMEOUT": "2",
             "EXPORTS_S3_MAX_ATTEMPTS": "2"}
    settings.STORAGES = {**settings.STORAGES, "exports": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": s3_storage_options({**environ, **short}),
    }}
    process = WEED_PROCESSES[s3_server]
    process.send_signal(signal.SIGSTOP)
    try:
        yield s3_storage
    finally:
        process.send_signal(signal.SIGCONT)


def finishes_within(seconds: float, call) -> float:
    """Runs call() on a thread; its duration, or a failure once it has run `seconds`."""
    done = threading.Event()

    def run():
        try:
            call()
        finally:
            connection.close()
            done.set()

    started = time.monotonic()
    threading.Thread(target=run, daemon=True).start()
    assert done.wait(seconds), f"still waiting on the stopped S3 server after {seconds} s"
    return time.monotonic() - started


def test_an_export_to_a_hung_s3_server_fails_within_a_bound(seeded, hung_s3, export_queue):
    job = start(services.export_job_create(workspace=seeded, filters={}, requested_data=["id"]))
    export_queue.empty()  # run here, in this process, with the storage pointed at the hung server

    def run():
        with contextlib.suppress(Exception):  # recorded on the job, as a worker's run records it
            runtime.export_job_run(job_id=job.id, attempt=1)

    finishes_within(WITHIN_SECONDS, run)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED
    assert job.finished_at is not None


def test_the_reconcilers_sweep_of_a_hung_s3_server_ends_within_a_bound(seeded, hung_s3):
    from exports.reconciler import reconcile

    finishes_within(WITHIN_SECONDS, reconcile)
