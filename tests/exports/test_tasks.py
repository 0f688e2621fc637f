"""RQ's failure callback, called as RQ calls it, with real jobs on the real Redis."""

from __future__ import annotations

from rq.exceptions import AbandonedJobError

from exports import services
from exports.models import ExportJob
from exports.tasks import on_export_job_failure


def test_an_abandoned_job_turns_failed_with_a_reason(seeded, export_queue,
                                                     django_capture_on_commit_callbacks):
    job = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    with django_capture_on_commit_callbacks(execute=True):
        services.export_job_start(job=job)
    rq_job = export_queue.fetch_job(f"export-{job.id}-1")
    on_export_job_failure(rq_job, export_queue.connection, AbandonedJobError,
                          AbandonedJobError(), None)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED
    assert job.error.startswith("The export worker stopped unexpectedly")


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
