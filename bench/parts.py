"""Benchmark: an export in parts on 1 and on 2 real RQ workers, against `psql \\copy`.

    make bench-parts                                  # PostgreSQL (DATABASE_URL), 1,000,000 rows
    make bench-parts BENCH_ARGS="--rows 200000"

Uses the workspace `bench-<rows>` of bench/export.py (seeded once, every catalogue field, ~1.4 KB
of request/response JSON a log). For each worker count it starts that many `manage.py rqworker`
processes on a queue of its own (REDIS_URL), waits until they are listening, then times one
export of all the rows with every field, from `export_job_start` (which plans the parts) to
Success (the parts written by the workers, joined by the last one, the manifest built); the
file goes to a temporary folder. The reference is `psql \\copy (SELECT row_to_json(t) ...)` of
the same rows in the same order. One final line:
rows=N parts=P one_worker_s=... two_workers_s=... copy_s=... speedup=...
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.export import (  # noqa: E402 - after the path is set
    ensure_bench_logs,
    psql_copy_seconds,
    setup_django,
)
from bench.rss import stop_workers  # noqa: E402


def start_workers(count: int, env: dict) -> list[subprocess.Popen]:
    from rq import Worker

    from exports.services import export_queue

    workers = [
        subprocess.Popen(  # noqa: S603 - fixed arguments
            [sys.executable, str(ROOT / "manage.py"), "rqworker", env["EXPORTS_QUEUE"]],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]
    queue = export_queue()
    deadline = time.monotonic() + 60
    while len(Worker.all(queue=queue)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not start")
        time.sleep(0.2)
    return workers


def timed_export(workspace, rows: int) -> tuple[float, object]:
    from exports import services
    from exports.fields import ALL_FIELD_NAMES
    from exports.models import ExportJob

    job = services.export_job_create(workspace=workspace, filters={},
                                     requested_data=list(ALL_FIELD_NAMES), limit=rows,
                                     description="benchmark in parts")
    started = time.perf_counter()
    services.export_job_start(job=job)
    while True:
        job.refresh_from_db()
        if job.status != ExportJob.Status.IN_PROGRESS:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    assert job.status == ExportJob.Status.SUCCESS, job.error
    assert job.rows_written == rows == job.manifest["rows"], (job.rows_written, rows)
    return elapsed, job


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--part-logs", type=int, default=50_000)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        print("DATABASE_URL is not a PostgreSQL URL: the benchmark compares with psql's \\copy.",
              file=sys.stderr)
        return 2
    folder = tempfile.mkdtemp(prefix="bench-parts-")
    os.environ.update({
        "EXPORTS_QUEUE": f"bench-parts-{uuid.uuid4().hex[:8]}",
        "EXPORTS_PART_LOGS": str(args.part_logs),
        "EXPORTS_MAX_LOGS_PER_EXPORT": str(max(args.rows, 10_000_000)),
        "EXPORTS_MAX_IN_PROGRESS_PER_WORKSPACE": "0",
    })
    setup_django(database_url, folder)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    workspace = ensure_bench_logs(args.rows)
    env = {**os.environ, "EXPORTS_STORAGE_DIR": folder}

    seconds, parts = {}, 0
    for count in (1, 2):
        workers = start_workers(count, env)
        try:
            seconds[count], job = timed_export(workspace, args.rows)
        finally:
            stop_workers(workers)
        parts = job.part_count
        print(f"{count} worker(s): {seconds[count]:.2f}s for {args.rows:,} rows in {parts} parts "
              f"({job.file_size / 1e6:.0f} MB, sha256 {job.sha256[:12]}…)", flush=True)
        (Path(folder) / job.file_name).unlink()
    copy_s = psql_copy_seconds(database_url, workspace, args.rows, "jsonl")
    print(f"psql \\copy of the same rows: {copy_s:.2f}s")
    speedup = seconds[1] / seconds[2]
    print(f"2 workers {'faster' if speedup > 1 else 'NOT faster'} than 1: {speedup:.2f}×")
    print(f"rows={args.rows} parts={parts} one_worker_s={seconds[1]:.2f} "
          f"two_workers_s={seconds[2]:.2f} copy_s={copy_s:.2f} speedup={speedup:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
