"""The writer inside whole jobs on a real RQ worker: gzip files, and cancelling the fast path."""

from __future__ import annotations

import gzip
import json
import re
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from exports import services
from exports.models import ExportJob
from logs.filters import matching_logs, normalise_filters
from logs.hourly_counts import time_range
from logs.seeding import seed_logs
from tests.conftest import wait_for
from tests.exports.test_export_jobs_integration import start, stored_bytes

pytestmark = [pytest.mark.sqlite, pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Status = ExportJob.Status
FIELDS = ["id", "created_at", "request", "response", "cost", "metadata"]


def test_a_gzip_job_decompresses_to_the_lines_of_the_plain_job(seeded, rq_workers, client):
    plain = start(services.export_job_create(workspace=seeded, filters={},
                                             requested_data=FIELDS))
    packed = start(services.export_job_create(workspace=seeded, filters={},
                                              requested_data=FIELDS, file_format="jsonl.gz"))
    rq_workers.run_burst()
    plain.refresh_from_db()
    packed.refresh_from_db()
    assert (plain.status, packed.status) == (Status.SUCCESS, Status.SUCCESS)
    assert plain.file_name.endswith(".jsonl") and packed.file_name.endswith(".jsonl.gz")
    plain_bytes, packed_bytes = stored_bytes(plain), stored_bytes(packed)
    assert packed_bytes[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed_bytes) == plain_bytes
    assert len(plain_bytes.splitlines()) == packed.rows_written == 300
    assert packed.file_size == len(packed_bytes) < len(plain_bytes)

    response = client.get(services.export_job_download_url(job=packed))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/gzip"
    assert re.fullmatch(rf'attachment; filename="logs-export-main-\d{{8}}-\d{{6}}-{packed.id}'
                        rf'\.jsonl\.gz"', response["Content-Disposition"])
    assert b"".join(response.streaming_content) == packed_bytes


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the fast path is PostgreSQL's")
def test_a_cancelled_fast_path_export_stops_promptly(workspace, rq_workers, export_storage_dir):
    seed_logs(workspace_id=workspace.id, count=20_000, now=timezone.now(), days=5, seed=5)
    job = start(services.export_job_create(workspace=workspace, filters={},
                                           requested_data=["id", "request", "response"]))
    worker = rq_workers.start(EXPORTS_MAX_ROWS_PER_SECOND="2000")  # ten seconds of work
    wait_for(lambda: ExportJob.objects.get(id=job.id).rows_written >= 1000, timeout=30,
             message="the worker never reported progress")
    services.export_job_cancel(job=job)
    cancelled_at = time.monotonic()
    output = rq_workers.output(worker, timeout=30)
    assert time.monotonic() - cancelled_at < 3, output  # burst worker exits after the job
    job.refresh_from_db()
    assert job.status == Status.STOPPED, output
    assert 1000 <= job.rows_written < 20_000
    assert job.file_name == ""
    assert [path for path in export_storage_dir.rglob("*") if path.is_file()] == []
    with connection.cursor() as cursor:  # the COPY was cancelled, not left running
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY (%%' "
                       "AND datname = current_database() "
                       "AND state = 'active' AND pid <> pg_backend_pid()")
        assert cursor.fetchone()[0] == 0


def test_a_job_with_a_model_filter_at_a_deep_offset_holds_the_rows_of_the_plain_offset(
        workspace, rq_workers):
    now = timezone.now()
    seed_logs(workspace_id=workspace.id, count=4_000, now=now, days=2, seed=9)
    filters = normalise_filters({"created_at": {"gte": (now - timedelta(hours=37, minutes=11))
                                                .isoformat()},
                                 "ai_model": "gpt-4o,claude-3-haiku", "status_code": "200"})
    assert time_range(workspace_id=workspace.id, filters=filters) is not None  # by the hours
    matching = matching_logs(workspace_id=workspace.id, filters=filters)
    offset = matching.count() // 2 + 7
    job = start(services.export_job_create(workspace=workspace, filters=filters,
                                           requested_data=["id", "ai_model"], limit=300,
                                           offset=offset))
    assert job.total_records == 300
    rq_workers.run_burst()
    job.refresh_from_db()
    assert job.status == Status.SUCCESS, job.error
    lines = [json.loads(line) for line in stored_bytes(job).splitlines()]
    # The plain OFFSET query, as a database without hourly counts would answer it.
    assert [line["id"] for line in lines] == [
        str(log_id) for log_id in matching.values_list("id", flat=True)[offset : offset + 300]]
