"""Whole export jobs through a real RQ worker process on a real Redis."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from django.conf import settings
from django.core.signing import TimestampSigner

from exports import services
from exports.models import ExportJob
from exports.storage import DOWNLOAD_SALT
from logs.models import Log
from tests.conftest import wait_for
from tests.nasty import create_nasty_logs

pytestmark = [pytest.mark.sqlite, pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Status = ExportJob.Status


def start(job: ExportJob) -> ExportJob:
    services.export_job_start(job=job)  # autocommit: enqueued as the call returns
    return job


def stored_bytes(job: ExportJob) -> bytes:
    with open(settings.STORAGES["exports"]["OPTIONS"]["location"] + "/" + job.file_name,
              "rb") as file:
        return file.read()


def test_an_export_runs_to_success_with_an_exact_file(seeded, rq_workers, client):
    create_nasty_logs(seeded)
    fields = ["id", "created_at", "request", "response", "cost", "status_code", "metadata"]
    job = start(services.export_job_create(
        workspace=seeded, filters={}, requested_data=fields, limit=250, offset=10,
    ))
    rq_workers.run_burst()
    job.refresh_from_db()
    assert job.status == Status.SUCCESS, job.error
    data = stored_bytes(job)
    assert job.file_size == len(data)
    assert job.sha256 == hashlib.sha256(data).hexdigest()
    assert job.total_records == job.rows_written == 250  # min(limit, matches - offset)
    assert job.finished_at and job.expires_at

    lines = data.decode("utf-8").split("\n")
    assert lines.pop() == ""
    expected = list(Log.objects.order_by("created_at", "id")[10:260])
    assert len(lines) == len(expected) == 250
    for line, log in zip(lines, expected, strict=True):
        record = json.loads(line)
        assert list(record) == fields
        assert record["id"] == str(log.id)
        assert (record["request"], record["response"], record["metadata"]) == (
            log.request, log.response, log.metadata)
        assert record["status_code"] == log.status_code

    # The download link: signed, short-lived, an attachment with a telling name.
    url = services.export_job_download_url(job=job)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert re.fullmatch(
        rf'attachment; filename="logs-export-main-\d{{8}}-\d{{6}}-{job.id}\.jsonl"',
        response["Content-Disposition"],
    )
    assert response["Content-Type"].startswith("application/jsonl")


def test_download_links_expire_and_cannot_be_forged(seeded, rq_workers, client, settings):
    job = start(services.export_job_create(workspace=seeded, filters={}, requested_data=["id"]))
    rq_workers.run_burst()
    job.refresh_from_db()
    url = services.export_job_download_url(job=job)
    assert client.get(url.replace(url.split("/")[-2][-5:], "AAAAA")).status_code == 404
    forged = TimestampSigner(salt="another-salt").sign(f"{job.id}:{job.attempt}")
    assert client.get(f"/exports/file/{forged}/").status_code == 404
    stale = TimestampSigner(salt=DOWNLOAD_SALT).sign(f"{job.id}:{job.attempt - 1}")
    assert client.get(f"/exports/file/{stale}/").status_code == 404
    settings.EXPORTS_DOWNLOAD_URL_TTL = -1
    assert client.get(url).status_code == 410  # genuine but old: gone, and the page says so


def test_offset_pages_from_separate_jobs_join_without_gap_or_overlap(seeded, rq_workers):
    jobs = [
        start(services.export_job_create(workspace=seeded, filters={},
                                         requested_data=["id", "created_at"],
                                         limit=120, offset=offset))
        for offset in (0, 120, 240)
    ]
    rq_workers.run_burst()
    pages = []
    for job in jobs:
        job.refresh_from_db()
        assert job.status == Status.SUCCESS, job.error
        pages.append([json.loads(line)["id"] for line in stored_bytes(job).splitlines()])
    assert [len(page) for page in pages] == [120, 120, 60]
    joined = [i for page in pages for i in page]
    assert joined == [str(i) for i in Log.objects.order_by("created_at", "id")
                      .values_list("id", flat=True)]


def test_cancel_mid_run_ends_stopped_and_leaves_no_file(workspace, rq_workers,
                                                        export_storage_dir):
    from django.utils import timezone

    from logs.seeding import seed_logs

    seed_logs(workspace_id=workspace.id, count=4000, now=timezone.now(), days=5, seed=3)
    job = start(services.export_job_create(workspace=workspace, filters={},
                                           requested_data=["id", "request"]))
    worker = rq_workers.start(EXPORTS_MAX_ROWS_PER_SECOND="800")  # about five seconds of work
    wait_for(lambda: ExportJob.objects.get(id=job.id).rows_written > 0, timeout=30,
             message="the worker never reported progress")
    services.export_job_cancel(job=job)
    output = rq_workers.output(worker, timeout=15)  # the worker notices and finishes promptly
    job.refresh_from_db()
    assert job.status == Status.STOPPED, output
    assert 0 < job.rows_written < 4000
    assert job.file_name == ""
    assert [p for p in export_storage_dir.rglob("*") if p.is_file()] == []

    # Start Again runs it to the end.
    start(job)
    rq_workers.run_burst()
    job.refresh_from_db()
    assert (job.status, job.rows_written, job.attempt) == (Status.SUCCESS, 4000, 2)


def test_a_failing_job_ends_failed_with_a_reason_and_can_start_again(seeded, rq_workers,
                                                                     tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the export folder should be")
    job = start(services.export_job_create(workspace=seeded, filters={}, requested_data=["id"]))
    rq_workers.run_burst(EXPORTS_STORAGE_DIR=str(blocker / "exports"))
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert job.error.startswith("Could not write the export file: Not a directory")
    assert job.file_name == ""

    start(job)
    rq_workers.run_burst()
    job.refresh_from_db()
    assert job.status == Status.SUCCESS
    assert job.error == ""
    assert len(stored_bytes(job).splitlines()) == 300


def test_a_job_cancelled_before_the_worker_picks_it_up_writes_nothing(seeded, rq_workers,
                                                                      export_storage_dir):
    job = start(services.export_job_create(workspace=seeded, filters={}, requested_data=["id"]))
    services.export_job_cancel(job=job)
    rq_workers.run_burst()
    job.refresh_from_db()
    assert (job.status, job.rows_written) == (Status.STOPPED, 0)
    assert not export_storage_dir.exists() or not any(export_storage_dir.rglob("*.jsonl"))
