"""RQ's failure callback, called as RQ calls it, with real jobs on the real Redis."""

from __future__ import annotations

from rq.exceptions import AbandonedJobError

from exports import services
from exports.models import ExportJob
from exports.tasks import on_export_job_failure


def started(workspace, queue, capture_on_commit_callbacks):
    """A started export and its queued RQ job."""
    job = services.export_job_create(workspace=workspace, filters={}, requested_data=["id"])
    with capture_on_commit_callbacks(execute=True):
        services.export_job_start(job=job)
    return job, queue.fetch_job(f"export-{job.id}-1")


def test_an_abandoned_job_is_left_to_the_reconciler(seeded, export_queue,
                                                    django_capture_on_commit_callbacks):
    """RQ's cleanup of a dead worker's jobs must not fail an export the reconciler will retry."""
    job, rq_job = started(seeded, export_queue, django_capture_on_commit_callbacks)
    on_export_job_failure(rq_job, export_queue.connection, AbandonedJobError,
                          AbandonedJobError(), None)
    job.refresh_from_db()
    assert (job.status, job.attempt, job.error) == (ExportJob.Status.IN_PROGRESS, 1, "")


def test_a_timeout_fails_the_export_in_plain_words(seeded, export_queue,
                                                   django_capture_on_commit_callbacks):
    from rq.timeouts import JobTimeoutException

    job, rq_job = started(seeded, export_queue, django_capture_on_commit_callbacks)
    on_export_job_failure(rq_job, export_queue.connection, JobTimeoutException,
                          JobTimeoutException(), None)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED
    assert job.error.startswith("The export took longer than the worker's time limit")


def test_a_late_callback_of_an_older_attempt_changes_nothing(seeded, export_queue,
                                                             django_capture_on_commit_callbacks):
    job = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    with django_capture_on_commit_callbacks(execute=True):
        services.export_job_start(job=job)
        services.export_job_cancel(job=job)
        services.export_job_start(job=job)
    old = export_queue.fetch_job(f"export-{job.id}-1")
    on_export_job_failure(old, export_queue.connection, RuntimeError, RuntimeError("boom"), None)
    job.refresh_from_db()
    assert (job.status, job.attempt, job.error) == (ExportJob.Status.IN_PROGRESS, 2, "")
