"""Exports in parts on real workers: 120,000 logs in parts of 50,000, two `manage.py rqworker`
processes, real Redis, the test database, the filesystem and S3 (SeaweedFS). One file, every log
once, in the export's order; the same file when a part's work horse is killed mid-part."""

from __future__ import annotations

import gzip
import json
import os
import signal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from exports import services
from exports.models import ExportJob, ExportPart
from logs.models import Log
from logs.seeding import seed_logs
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Status = ExportJob.Status

LOGS = 120_000
FIELDS = ["id", "created_at", "ai_model"]
FAST = {"EXPORTS_LEASE_SECONDS": "3", "EXPORTS_LEASE_RENEW_SECONDS": "1",
        "EXPORTS_RECONCILE_SECONDS": "1"}


@pytest.fixture
def logs_120k(workspace, settings):
    settings.EXPORTS_PART_LOGS = 50_000
    seed_logs(workspace_id=workspace.id, count=LOGS, now=timezone.now(), days=3, seed=18)
    return workspace


@pytest.fixture(params=["filesystem", "s3"])
def backend(request, export_storage_dir):
    """(read the stored file's bytes, overwrite them, environment for the workers)."""
    if request.param == "filesystem":
        return ((lambda name: (export_storage_dir / name).read_bytes()),
                (lambda name, data: (export_storage_dir / name).write_bytes(data)), {})
    client, prefix, worker_env = request.getfixturevalue("s3_storage")
    from tests.exports.s3_server import BUCKET

    def read(name):
        return client.get_object(Bucket=BUCKET, Key=f"{prefix}/{name}")["Body"].read()

    def write(name, data):
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/{name}", Body=data)

    return read, write, worker_env


def start_export(workspace, file_format="jsonl") -> ExportJob:
    job = services.export_job_create(workspace=workspace, filters={}, requested_data=FIELDS,
                                     limit=LOGS, file_format=file_format)
    return services.export_job_start(job=job)


def finished(job: ExportJob, rq_workers, *, timeout: float = 180) -> ExportJob:
    def done():
        job.refresh_from_db()
        return job.status != Status.IN_PROGRESS

    try:
        wait_for(done, timeout=timeout, interval=0.2)
    except AssertionError:
        parts = [(p.index, p.status, p.attempt, p.rows_written, p.retries)
                 for p in ExportPart.objects.filter(export=job).order_by("index")]
        logs = []
        for process in rq_workers.processes:
            process.log.seek(0)
            logs.append(process.log.read()[-3000:])
        raise AssertionError(f"the export did not finish: lease {job.lease_expires_at}, parts "
                             f"{parts}; workers said:\n" + "\n---\n".join(logs)) from None
    assert job.status == Status.SUCCESS, job.error
    return job


def ids_in_file(data: bytes, file_format: str) -> list[str]:
    if file_format == "jsonl.gz":
        data = gzip.decompress(data)
    return [json.loads(line)["id"] for line in data.splitlines()]


def test_an_export_in_parts_is_one_file_of_every_log_once_in_order_even_when_a_horse_dies(
    logs_120k, rq_workers, backend
):
    read, write, worker_env = backend
    expected = [str(pk) for pk in Log.objects.filter(workspace=logs_120k)
                .order_by("created_at", "id").values_list("id", flat=True)]
    for _ in range(2):
        rq_workers.start(burst=False, **FAST, **worker_env)

    job = start_export(logs_120k)
    assert (job.part_count, job.total_records) == (3, LOGS)
    finished(job, rq_workers)
    data = read(job.file_name)
    assert ids_in_file(data, job.format) == expected  # every log once, in the export's order
    assert job.rows_written == LOGS and job.file_size == len(data)
    manifest = job.manifest
    assert (manifest["rows"], manifest["bytes"], manifest["sha256"]) == (LOGS, len(data),
                                                                        job.sha256)
    assert [(p["index"], p["offset"], p["rows"]) for p in manifest["parts"]] == [
        (0, 0, 50_000), (1, 50_000, 50_000), (2, 100_000, 20_000)]
    assert sum(p["bytes"] for p in manifest["parts"]) == len(data)
    # The part objects are gone once joined.
    assert not ExportPart.objects.filter(export=job).exclude(status="success").exists()

    # Again, throttled so that a part is caught mid-way, and its work horse killed.
    rq_workers.stop_all()
    again = start_export(logs_120k)
    worker = rq_workers.start(burst=False, EXPORTS_MAX_ROWS_PER_SECOND="20000", **FAST,
                              **worker_env)

    def mid_part():
        again.refresh_from_db()
        return 5_000 <= again.rows_written <= 40_000

    wait_for(mid_part, timeout=60, interval=0.05, message="no part got going")
    assert 0 < again.rows_written < LOGS  # progress: the sum over the parts so far
    [horse] = wait_for(lambda: rq_workers.horses(worker), message="no work horse")
    os.kill(horse, signal.SIGKILL)
    rq_workers.start(burst=False, **FAST, **worker_env)  # a second worker joins in
    finished(again, rq_workers)
    assert again.sha256 == job.sha256
    assert ids_in_file(read(again.file_name), again.format) == expected  # no duplicate, no gap
    [retried] = [part for part in ExportPart.objects.filter(export=again) if part.retries]
    assert retried.attempt == 2
    assert "killed" in retried.retries[0]["reason"]

    # The manifest proves the file: exports_verify passes, and names the part of a changed byte.
    call_command("exports_verify", str(job.id))
    one_byte = manifest["parts"][1]["byte_offset"] + 10
    changed = bytearray(data)
    changed[one_byte] ^= 0x01
    write(job.file_name, bytes(changed))
    with pytest.raises(CommandError, match=r"^part 1: bytes \d+-\d+ have sha256"):
        call_command("exports_verify", str(job.id))
