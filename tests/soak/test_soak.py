"""`make soak`: 100 exports across 3 real workers while a random work horse is SIGKILLed every
few seconds for a minute. Every export must end Success by itself with a file identical to an
uninterrupted export of the same request; no duplicates, no leftover partial files.

Not part of the default suite (it takes a few minutes): SOAK=1 runs it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import signal
import statistics
import time
from datetime import datetime

import pytest
from django.db import connection
from django.utils import timezone

from exports import services
from exports.models import ExportJob
from exports.writer import write_export
from logs.seeding import seed_logs
from tests.conftest import children_of, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("SOAK"), reason="run by `make soak`"),
]

EXPORTS = int(os.environ.get("SOAK_EXPORTS", "100"))
WORKERS = 3
KILL_FOR = float(os.environ.get("SOAK_SECONDS", "60"))
KILL_EVERY = (2.0, 4.0)  # seconds between two kills, drawn at random
WORKER_ENV = {
    "EXPORTS_LEASE_SECONDS": "3",
    "EXPORTS_LEASE_RENEW_SECONDS": "1",
    "EXPORTS_RECONCILE_SECONDS": "1",
    # ~3 s per export, so the 100 take well over the minute of kills: a killed export goes to
    # the back of the queue, as a retry does in production, and kills spread over many exports.
    "EXPORTS_MAX_ROWS_PER_SECOND": "700",
}
FIELD_SETS = [
    ["id", "created_at", "request", "response", "cost", "status_code", "metadata"],
    ["id", "trace_id", "ai_model", "total_tokens", "is_success"],
]


class MemorySink:
    def __init__(self):
        self.buffer = io.BytesIO()

    def write(self, data: bytes) -> None:
        self.buffer.write(data)


def expected_digest(job: ExportJob) -> tuple[str, int]:
    """sha256 and row count of the same request written in one go, in this process."""
    sink = MemorySink()
    result = write_export(
        workspace_id=job.workspace_id, filters=job.filters, field_names=job.requested_data,
        limit=job.limit, offset=job.offset, file_format=job.format, sink=sink,
        checkpoint=lambda rows: None,
    )
    return hashlib.sha256(sink.buffer.getvalue()).hexdigest(), result.rows


def current_jobs(queue) -> dict[int, str]:
    """RQ job id each worker process (by pid) is running now."""
    from rq import Worker

    return {worker.pid: worker.get_current_job_id() for worker in Worker.all(queue=queue)}


def test_soak(workspace, rq_workers, export_storage_dir, export_queue, settings):
    # All 100 are started at once in one workspace: the per-workspace cap (a production guard,
    # tested in tests/exports/test_workspace_cap.py) would refuse the sixth.
    settings.EXPORTS_MAX_IN_PROGRESS_PER_WORKSPACE = 0
    rng = random.Random(int(os.environ.get("SOAK_SEED", "8")))
    seed_logs(workspace_id=workspace.id, count=6000, now=timezone.now(), days=10, seed=5)
    jobs = []
    for number in range(EXPORTS):
        job = services.export_job_create(
            workspace=workspace, filters={}, requested_data=FIELD_SETS[number % 2],
            limit=rng.randint(1000, 3000), offset=rng.randint(0, 2000),
            file_format="jsonl.gz" if number % 5 == 0 else "jsonl",
            description=f"soak {number}",
        )
        jobs.append(job)
    workers = [rq_workers.start(burst=False, **WORKER_ENV) for _ in range(WORKERS)]
    began = time.monotonic()
    for job in jobs:
        services.export_job_start(job=job)

    kills: list[tuple[datetime, str]] = []
    while time.monotonic() - began < KILL_FOR:
        time.sleep(rng.uniform(*KILL_EVERY))
        horses = [(pid, worker.pid) for worker in workers for pid in children_of(worker.pid)]
        if not horses:
            continue
        victim, parent = rng.choice(horses)
        rq_job = current_jobs(export_queue).get(parent)
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            continue
        if rq_job:
            kills.append((timezone.now(), rq_job))

    def all_done():
        return not ExportJob.objects.filter(
            id__in=[job.id for job in jobs],
            status__in=[ExportJob.Status.IN_PROGRESS, ExportJob.Status.DRAFT],
        ).exists()

    wait_for(all_done, timeout=600, interval=1, message="exports still in progress")
    elapsed = time.monotonic() - began
    # Partial files of the last killed attempts are swept within a lease and a tick.
    time.sleep(int(WORKER_ENV["EXPORTS_LEASE_SECONDS"]) + 2)

    statuses, verified, duplicate_rows, retries, attempts = {}, 0, 0, 0, []
    recoveries = []
    kill_times = {rq_job: at for at, rq_job in kills}
    for job in jobs:
        job.refresh_from_db()
        statuses[job.status] = statuses.get(job.status, 0) + 1
        retries += len(job.retries)
        attempts.append(len(job.retries) + 1)
        for retry in job.retries:
            killed = kill_times.get(f"export-{job.id}-{retry['attempt']}")
            if killed:
                recoveries.append((datetime.fromisoformat(retry["at"]) - killed).total_seconds())
        if job.status != ExportJob.Status.SUCCESS:
            continue
        data = (export_storage_dir / job.file_name).read_bytes()
        digest, rows = expected_digest(job)
        assert hashlib.sha256(data).hexdigest() == job.sha256 == digest, job.id
        assert job.rows_written == rows
        text = gzip.decompress(data) if job.format == "jsonl.gz" else data
        ids = [line.split(b'"', 4)[3] for line in text.splitlines()]
        assert len(ids) == rows
        duplicate_rows += len(ids) - len(set(ids))
        verified += 1
    files = [path for path in export_storage_dir.rglob("*") if path.is_file()]
    parts = [path for path in files if path.name.endswith(".part")]
    extra_files = len(files) - len(parts) - statuses.get(ExportJob.Status.SUCCESS, 0)

    print(f"\nsoak ({connection.vendor}): {EXPORTS} exports, {WORKERS} workers, "
          f"{len(kills)} work horses killed in {KILL_FOR:.0f} s")
    print(f"soak: all finished in {elapsed:.0f} s; statuses {statuses}")
    print(f"soak: retries {retries}; runs per export max {max(attempts)}, "
          f"exports retried {sum(1 for n in attempts if n > 1)}")
    if recoveries:
        print(f"soak: kill -> running again: median {statistics.median(recoveries):.1f} s, "
              f"max {max(recoveries):.1f} s ({len(recoveries)} measured)")
    print(f"soak: files verified {verified} (sha256 = uninterrupted export), duplicate rows "
          f"{duplicate_rows}, extra files {extra_files}, leftover .part files {len(parts)}")

    assert statuses == {ExportJob.Status.SUCCESS: EXPORTS}
    assert verified == EXPORTS and duplicate_rows == 0 and extra_files == 0 and parts == []
    assert len(kills) >= 10
