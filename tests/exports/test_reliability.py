"""Exports that end by themselves whatever happens to their worker: real Redis, real RQ workers,
real processes killed with SIGKILL, on the test database (PostgreSQL or SQLite)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from exports import runtime, services
from exports.failures import plain_failure_reason
from exports.models import ExportJob
from logs.seeding import seed_logs
from tests.conftest import ROOT, _database_url, process_alive, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Status = ExportJob.Status

# Short leases and reconciler ticks, so that a death is noticed in seconds, not a minute.
FAST = {
    "EXPORTS_LEASE_SECONDS": "3",
    "EXPORTS_LEASE_RENEW_SECONDS": "1",
    "EXPORTS_RECONCILE_SECONDS": "1",
}
FIELDS = ["id", "created_at", "request", "response", "cost", "status_code", "metadata"]


@pytest.fixture
def logs_3000(workspace):
    seed_logs(workspace_id=workspace.id, count=3000, now=timezone.now(), days=5, seed=11)
    return workspace


def new_export(workspace) -> ExportJob:
    return services.export_job_create(
        workspace=workspace, filters={}, requested_data=FIELDS, limit=2900, offset=50
    )


def finished(job: ExportJob, *, timeout: float = 60) -> ExportJob:
    def done():
        job.refresh_from_db()
        return job.status != Status.IN_PROGRESS

    wait_for(done, timeout=timeout, interval=0.2, message=f"export still {job.status}")
    return job


def file_digest(folder: Path, job: ExportJob) -> str:
    return hashlib.sha256((folder / job.file_name).read_bytes()).hexdigest()


def partial_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.part"))


def mid_export(job: ExportJob, rows: int = 600) -> None:
    def written():
        job.refresh_from_db()
        assert job.status == Status.IN_PROGRESS, job.error
        return job.rows_written >= rows

    wait_for(written, timeout=60, interval=0.05, message="the export never got going")


def reference_export(workspace, rq_workers, folder: Path) -> str:
    """The same request, exported without interruption by a worker of its own."""
    reference = new_export(workspace)
    services.export_job_start(job=reference)
    rq_workers.run_burst()
    reference.refresh_from_db()
    assert reference.status == Status.SUCCESS, reference.error
    assert reference.sha256 == file_digest(folder, reference)
    return reference.sha256


def test_a_killed_work_horse_is_replaced_and_the_file_is_exact(
    logs_3000, rq_workers, export_storage_dir
):
    expected = reference_export(logs_3000, rq_workers, export_storage_dir)
    worker = rq_workers.start(burst=False, EXPORTS_MAX_ROWS_PER_SECOND="1000", **FAST)
    job = new_export(logs_3000)
    services.export_job_start(job=job)
    mid_export(job)
    [horse] = wait_for(lambda: rq_workers.horses(worker), message="no work horse")
    os.kill(horse, signal.SIGKILL)  # as the OOM killer does: no callback, no cleanup

    finished(job)
    assert job.status == Status.SUCCESS, job.error
    assert (job.attempt, job.rows_written) == (2, 2900)
    assert job.sha256 == file_digest(export_storage_dir, job) == expected
    [retry] = job.retries
    assert retry["attempt"] == 1
    assert "killed (out of memory?)" in retry["reason"]
    assert partial_files(export_storage_dir) == []  # the dead attempt's .part is gone
    assert worker.poll() is None  # the worker itself lived on


def test_a_killed_worker_is_replaced_by_another_and_the_file_is_exact(
    logs_3000, rq_workers, export_storage_dir
):
    doomed = rq_workers.start(burst=False, EXPORTS_MAX_ROWS_PER_SECOND="1000", **FAST)
    job = new_export(logs_3000)
    services.export_job_start(job=job)
    mid_export(job)
    rq_workers.kill(doomed)  # the worker and its horse, at once
    died = timezone.now()

    rq_workers.start(burst=False, **FAST)
    finished(job)
    assert job.status == Status.SUCCESS, job.error
    assert job.attempt == 2
    assert "stopped answering" in job.retries[0]["reason"]
    assert (job.finished_at - died).total_seconds() < 60
    assert partial_files(export_storage_dir) == []
    rq_workers.stop_all()
    assert job.sha256 == file_digest(export_storage_dir, job) == reference_export(
        logs_3000, rq_workers, export_storage_dir
    )


def test_a_slow_attempt_keeps_its_lease_and_is_not_retried(seeded, rq_workers):
    """The lease is renewed by time, not by rows: 300 rows at 40 a second take 7 s, more than
    two leases, and there is no checkpoint in between."""
    job = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    services.export_job_start(job=job)
    rq_workers.start(burst=False, EXPORTS_MAX_ROWS_PER_SECOND="40", **FAST)
    finished(job, timeout=60)
    assert (job.status, job.attempt, job.retries) == (Status.SUCCESS, 1, [])


def test_an_export_whose_attempts_keep_dying_fails_in_plain_words(seeded, export_queue, settings):
    """Three attempts that vanish (nothing in the queue, lease passed): retried twice, then
    Failure saying so."""
    settings.EXPORTS_MAX_ATTEMPTS = 3
    job = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    services.export_job_start(job=job)
    from exports.reconciler import reconcile

    for attempt in (1, 2, 3):
        job.refresh_from_db()
        assert (job.status, job.attempt) == (Status.IN_PROGRESS, attempt)
        assert reconcile().retried == []  # queued, lease running: alive
        export_queue.empty()  # the attempt vanishes from the queue…
        ExportJob.objects.filter(id=job.id).update(lease_expires_at=timezone.now())  # …and its
        report = reconcile()  # lease passes
        assert len(report.retried if attempt < 3 else report.failed) == 1
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert job.error.startswith("The worker running this export stopped three times; the last "
                                "time its job was no longer in the queue")
    assert [retry["attempt"] for retry in job.retries] == [1, 2, 3]
    assert export_queue.count == 0  # given up: nothing queued again


def test_the_reconciler_command_reports_what_it_did(seeded, export_queue, redis_url, tmp_path):
    job = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    services.export_job_start(job=job)
    export_queue.empty()
    ExportJob.objects.filter(id=job.id).update(lease_expires_at=timezone.now())
    command = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, str(ROOT / "manage.py"), "exports_reconcile"],
        env={**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": redis_url,
             "EXPORTS_QUEUE": export_queue.name, "EXPORTS_STORAGE_DIR": str(tmp_path)},
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert command.returncode == 0, command.stderr
    assert "1 export(s) started again" in command.stdout
    assert f"started again: {job.id}" in command.stdout
    job.refresh_from_db()
    assert job.attempt == 2
    assert export_queue.job_ids == [f"export-{job.id}-2"]  # queued once, by the command


def test_teardown_leaves_no_work_horse(seeded, rq_workers):
    job = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    services.export_job_start(job=job)
    worker = rq_workers.start(burst=False, EXPORTS_MAX_ROWS_PER_SECOND="10")  # 30 s of work
    [horse] = wait_for(lambda: rq_workers.horses(worker), message="no work horse")
    rq_workers.stop_all(grace=1)
    assert not process_alive(horse)
    assert not process_alive(worker.pid)


def test_the_reconciler_sweeps_partial_files_of_attempts_no_longer_running(
    seeded, export_queue, export_storage_dir, settings
):
    from exports import storage
    from exports.reconciler import reconcile

    job = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    services.export_job_start(job=job)
    job.refresh_from_db()
    running = storage.open_sink(runtime.file_name_for(job), file_format=job.format)
    running.write(b"{}\n")
    settings.EXPORTS_LEASE_SECONDS = 0  # every partial file counts as old
    assert reconcile().partials_removed == 0  # its attempt is in progress (and queued)
    services.export_job_cancel(job=job)  # …then its worker died before seeing the cancel
    assert reconcile().partials_removed == 1
    assert partial_files(export_storage_dir) == []


def test_deleting_an_export_while_a_worker_writes_it_leaves_no_file(
    logs_3000, rq_workers, export_storage_dir
):
    job = new_export(logs_3000)
    services.export_job_start(job=job)
    worker = rq_workers.start(burst=True, EXPORTS_MAX_ROWS_PER_SECOND="300")  # 10 s of work
    mid_export(job, rows=600)
    services.export_job_delete(job=job)
    rq_workers.output(worker, timeout=60)
    assert not ExportJob.objects.filter(id=job.id).exists()
    assert [path for path in export_storage_dir.rglob("*") if path.is_file()] == []


def test_a_job_timeout_in_the_work_horse_fails_with_its_own_message(
    logs_3000, rq_workers, export_storage_dir, settings
):
    """RQ raises JobTimeoutException inside the run (SIGALRM in the horse): it is a timeout,
    not "an unexpected error", and the partial file goes."""
    settings.RQ_QUEUES[settings.EXPORTS_QUEUE]["DEFAULT_TIMEOUT"] = 2  # the enqueue sets it
    job = new_export(logs_3000)
    services.export_job_start(job=job)
    rq_workers.run_burst(EXPORTS_MAX_ROWS_PER_SECOND="300")  # 10 s of work
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert job.error.startswith("The export took longer than the worker's time limit"), job.error
    assert plain_failure_reason(job.error).startswith("It took longer than one export may run")
    assert partial_files(export_storage_dir) == []


@pytest.fixture
def small_export_disk(export_storage_dir):
    """The export folder on a 64 KiB tmpfs, so that writing an export fills the disk."""
    export_storage_dir.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(  # noqa: S603,S607
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(export_storage_dir)],
        capture_output=True, text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {mounted.stderr.strip()}")
    yield export_storage_dir
    subprocess.run(["umount", str(export_storage_dir)], check=True)  # noqa: S603,S607


def test_a_full_disk_fails_the_export_in_plain_words_and_leaves_no_partial_file(
    logs_3000, rq_workers, small_export_disk
):
    job = new_export(logs_3000)
    services.export_job_start(job=job)
    rq_workers.run_burst()
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert job.error.startswith("Could not write the export file: No space left"), job.error
    assert plain_failure_reason(job.error).startswith("The file could not be saved")
    assert partial_files(small_export_disk) == []


def test_a_dropped_database_connection_during_the_copy_is_retried_like_a_dead_attempt(
    logs_3000, rq_workers, export_storage_dir
):
    """A DBA, a failover or a proxy restart ends only the COPY's backend: transient."""
    from django.db import connection, transaction

    from logs.models import Log

    if connection.vendor != "postgresql":
        pytest.skip("the COPY stream and pg_terminate_backend are PostgreSQL's")
    # From the first log: an offset is sought before the COPY, which the lock would hold up.
    job = services.export_job_create(workspace=logs_3000, filters={}, requested_data=FIELDS,
                                     limit=2900)
    services.export_job_start(job=job)

    def copy_backend():
        # Waiting for the lock below: still in the COPY, whatever the socket buffers hold.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # fresh within the transaction
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                           " AND state = 'active' AND wait_event_type = 'Lock'"
                           " AND query LIKE 'COPY (%%'")
            return [pid for (pid,) in cursor.fetchall()]

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {Log._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        rq_workers.start(burst=True)
        [backend] = wait_for(copy_backend, message="no COPY waiting for the logs")
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
    finished(job)
    assert job.status == Status.SUCCESS, job.error
    assert job.attempt == 2 and job.rows_written == 2900
    [retry] = job.retries
    assert "database connection was lost" in retry["reason"], retry
    assert job.sha256 == file_digest(export_storage_dir, job)
    assert partial_files(export_storage_dir) == []


def test_a_hung_work_horse_is_ended_by_its_worker_and_the_retry_runs_there(
    logs_3000, rq_workers, export_storage_dir
):
    """One worker (as `make run` has): its horse stops (SIGSTOP: alive, renewing nothing). The
    reconciler starts the export again after the lease; the worker ends the stopped horse, so
    the retry runs on that same worker instead of waiting EXPORTS_JOB_TIMEOUT (here 10 min)."""
    expected = reference_export(logs_3000, rq_workers, export_storage_dir)
    worker = rq_workers.start(burst=False, EXPORTS_MAX_ROWS_PER_SECOND="1000",
                              EXPORTS_JOB_TIMEOUT="600", **FAST)
    job = new_export(logs_3000)
    services.export_job_start(job=job)
    mid_export(job)
    [horse] = wait_for(lambda: rq_workers.horses(worker), message="no work horse")
    os.kill(horse, signal.SIGSTOP)
    stopped = timezone.now()
    try:
        finished(job, timeout=60)
    finally:
        # A hung horse left by a failing run goes with the test.
        if process_alive(horse):
            os.kill(horse, signal.SIGKILL)
    assert job.status == Status.SUCCESS, job.error
    assert job.attempt == 2
    assert (job.finished_at - stopped).total_seconds() < 60
    assert job.sha256 == file_digest(export_storage_dir, job) == expected
    wait_for(lambda: not process_alive(horse), timeout=10, message="the hung horse lives on")
    assert partial_files(export_storage_dir) == []
    assert worker.poll() is None  # the one worker lived on and ran the retry


def test_a_hung_horse_of_one_part_is_ended_and_the_part_runs_again_there(
    logs_3000, rq_workers, export_storage_dir, settings
):
    """The same for an export in parts: a part's horse renews its part's lease, not the
    export's, and a stopped one is ended all the same, so its part runs again on that worker."""
    settings.EXPORTS_PART_LOGS = 1000  # 2,900 logs: three parts
    parts = {"EXPORTS_PART_LOGS": "1000"}
    expected = reference_export(logs_3000, rq_workers, export_storage_dir)
    worker = rq_workers.start(burst=False, EXPORTS_MAX_ROWS_PER_SECOND="1000",
                              EXPORTS_JOB_TIMEOUT="600", **FAST, **parts)
    job = new_export(logs_3000)
    services.export_job_start(job=job)
    assert job.part_count == 3
    mid_export(job, rows=300)
    [horse] = wait_for(lambda: rq_workers.horses(worker), message="no work horse")
    os.kill(horse, signal.SIGSTOP)
    try:
        finished(job, timeout=90)
    finally:
        if process_alive(horse):
            os.kill(horse, signal.SIGKILL)
    assert job.status == Status.SUCCESS, job.error
    assert job.sha256 == file_digest(export_storage_dir, job) == expected
    assert max(job.parts.values_list("attempt", flat=True)) == 2
    wait_for(lambda: not process_alive(horse), timeout=10, message="the hung horse lives on")
    assert worker.poll() is None
