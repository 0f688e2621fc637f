"""bench-scale's last step: the whole workspace exported as one JSONL file on 2 real RQ workers.

One real export of all the workspace's logs (every catalogue field, limit = its logs), started
as the web process starts one (export_job_start plans the parts and enqueues them), written by
2 `manage.py rqworker` processes (bench.parts.start_workers; the machine has 2 cores), joined
into one file by the worker that finishes the last part. Timed from the start to Success, what
a user waits for, with its phases from the database's own timestamps: planning (the start
call), parts (until the last part's finished_at), join (until the export's finished_at, the
manifest included). Then the file is checked: its lines counted (= the logs) and the manifest
verified (exports.manifest.verify, what `manage.py exports_verify` runs), both timed, and the
file deleted. The reference is `psql \\copy (SELECT row_to_json(t) FROM (<the same query>) t)`
of the same rows in the same order, fsynced, run once before and once after the export (the
page cache favours whichever runs second); the ratio is against the faster of the two.

RSS flat: bench.rss samples every process of the export (the creator, both workers, every work
horse, the horse that joins); when the workspace holds more than RSS_REFERENCE_ROWS logs, an
export of the first RSS_REFERENCE_ROWS logs runs first on the same workers, so the last line
sets the peak RSS per process at both sizes side by side:
whole_export rows=N seconds=... psql_seconds=... ratio=... peak_rss_mb_per_process=...
rss_at_1M=...
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import psutil

from bench.rss import MB, RssPeaks, RssSampler, stop_workers

WHOLE_DESCRIPTION = "bench-scale whole export"
RSS_REFERENCE_ROWS = 1_000_000
WORKERS = 2
# The parts and the joined file are both on disk at the end of the join (the parts go once the
# file is complete); the reference's file comes after the export's is deleted.
DISK_MARGIN = 1.5
POLL_SECONDS = 0.1


@dataclass
class WholeRun:
    rows: int
    parts: int
    bytes: int
    seconds: float
    plan_s: float
    parts_s: float
    join_s: float
    rss: RssPeaks
    tenths: list[float] = field(default_factory=list)
    disk_read_gb: float = 0.0
    disk_written_gb: float = 0.0


def disk_needed(*, rows: int, bytes_per_row: float) -> int:
    """Bytes of free disk an export of `rows` logs needs at its peak: its parts and its joined
    file side by side, with a margin for the estimate (row_to_json's lines, which it is taken
    from, are a little shorter than the export's: ~1,200 against ~1,280 bytes a log here)."""
    return int(2 * rows * bytes_per_row * DISK_MARGIN)


def count_lines(path: Path | str, chunk: int = 8 * MB) -> int:
    """Newlines in the file, read in chunks (a JSONL file of 10M logs is several GB)."""
    lines = 0
    with open(path, "rb") as source:
        while block := source.read(chunk):
            lines += block.count(b"\n")
    return lines


def tenths(started, finished: list) -> list[float]:
    """Seconds each tenth of the parts took to finish, from `started` (datetimes, in any order;
    None, a part without a time of its own, as in an export of one part, is left out): steady
    tenths mean a steady speed; a rising series, an export slowing down as it goes."""
    ends = sorted(moment for moment in finished if moment is not None)
    if not ends:
        return []
    marks = [started] + [ends[max(0, round(len(ends) * tenth / 10) - 1)] for tenth in range(1, 11)]
    return [(later - earlier).total_seconds() for earlier, later in pairwise(marks)]


def summary_line(*, whole: WholeRun, psql_s: float, reference: WholeRun | None) -> str:
    """The step's last line. rss_at_1M is the peak RSS per process of the 1M-log export: the
    reference export, or the whole export itself when the workspace holds RSS_REFERENCE_ROWS."""
    at_1m = reference if reference is not None else (
        whole if whole.rows == RSS_REFERENCE_ROWS else None)
    return (f"whole_export rows={whole.rows} seconds={whole.seconds:.1f} "
            f"psql_seconds={psql_s:.1f} ratio={psql_s / whole.seconds:.2f} "
            f"peak_rss_mb_per_process={whole.rss.peak() / MB:.0f} "
            f"rss_at_1M={'n/a' if at_1m is None else f'{at_1m.rss.peak() / MB:.0f}'}")


def estimated_bytes_per_row(workspace) -> float:
    """row_to_json's length of the workspace's newest logs (a few thousand: no scan)."""
    from django.db import connection

    from bench.export import reference_select

    with connection.cursor() as cursor:
        cursor.execute("SELECT avg(octet_length(row_to_json(t)::text)) + 1 FROM ("
                       f"{reference_select(workspace, 2_000)}) t")
        return float(cursor.fetchone()[0] or 0)


def timed_export(workspace, rows: int, worker_pids: list[int]) -> tuple[WholeRun, Any]:
    """One export of the workspace's first `rows` logs, every field, start to Success."""
    from exports import services
    from exports.fields import ALL_FIELD_NAMES
    from exports.models import ExportJob, ExportPart

    job = services.export_job_create(workspace=workspace, filters={},
                                     requested_data=list(ALL_FIELD_NAMES), limit=rows,
                                     description=WHOLE_DESCRIPTION)
    disk = psutil.disk_io_counters()
    with RssSampler(worker_pids) as sampler:
        started = time.perf_counter()
        services.export_job_start(job=job)
        plan_s = time.perf_counter() - started
        while True:
            job.refresh_from_db()
            if job.status != ExportJob.Status.IN_PROGRESS:
                break
            # The join's claim is the export's own lease, empty while the parts run.
            sampler.joining = job.part_count > 1 and job.lease_expires_at is not None
            time.sleep(POLL_SECONDS)
        seconds = time.perf_counter() - started
    if job.status != ExportJob.Status.SUCCESS:
        raise SystemExit(f"the export of {rows:,} logs ended {job.status}: {job.error}")
    disk_after = psutil.disk_io_counters()
    assert job.started_at is not None and job.finished_at is not None  # a Success has both
    finished = list(ExportPart.objects.filter(export=job).values_list("finished_at", flat=True))
    parts_end = max((moment for moment in finished if moment), default=None) or job.finished_at
    run = WholeRun(rows=job.rows_written, parts=job.part_count, bytes=job.file_size or 0,
                   seconds=seconds, plan_s=plan_s,
                   parts_s=(parts_end - job.started_at).total_seconds(),
                   join_s=(job.finished_at - parts_end).total_seconds(), rss=sampler.peaks,
                   tenths=tenths(job.started_at, finished))
    if disk is not None and disk_after is not None:  # the machine's, other work included
        run.disk_read_gb = (disk_after.read_bytes - disk.read_bytes) / 1e9
        run.disk_written_gb = (disk_after.write_bytes - disk.write_bytes) / 1e9
    return run, job


def verify_file(job, rows: int) -> None:
    """Lines = logs, and the manifest verifies (what `manage.py exports_verify` runs); timed."""
    from exports.manifest import verify
    from exports.storage import export_storage

    path = export_storage().path(job.file_name)
    started = time.perf_counter()
    lines = count_lines(path)
    count_s = time.perf_counter() - started
    if lines != rows:
        raise SystemExit(f"the file holds {lines:,} lines, not {rows:,}")
    started = time.perf_counter()
    result = verify(job)
    verify_s = time.perf_counter() - started
    if not result.ok:
        raise SystemExit(f"the manifest does not verify: {result.message}")
    print(f"  file checked: {lines:,} lines ({count_s:.1f}s); manifest verified in "
          f"{verify_s:.1f}s: {result.message}", flush=True)


def describe(label: str, run: WholeRun) -> str:
    return (f"{label}: {run.seconds:.1f}s for {run.rows:,} logs in {run.parts} parts "
            f"({run.bytes / 1e9:.2f} GB; plan {run.plan_s:.1f}s, parts {run.parts_s:.1f}s, "
            f"join {run.join_s:.1f}s; {run.rows / run.seconds:,.0f} logs/s); peak RSS: "
            f"{run.rss.describe()}\n  each tenth of the parts took (s): "
            f"{' '.join(f'{value:.0f}' for value in run.tenths)}; the machine's disks read "
            f"{run.disk_read_gb:.1f} GB, wrote {run.disk_written_gb:.1f} GB meanwhile; load "
            f"{os.getloadavg()[0]:.2f}")


def export_and_check(workspace, rows: int, worker_pids: list[int], label: str) -> WholeRun:
    from exports.storage import export_storage

    run, job = timed_export(workspace, rows, worker_pids)
    print(describe(label, run), flush=True)
    try:
        verify_file(job, rows)
    finally:
        export_storage().delete(job.file_name)
        job.delete()
    return run


def whole_export_step(database_url: str, workspace, rows: int, folder: str) -> str:
    """Runs the step (see the module's note) with the export storage in `folder`; returns the
    last line."""
    from bench.export import psql_copy_seconds
    from bench.parts import start_workers
    from exports.models import ExportJob

    # An export left in progress by an earlier, interrupted run would be taken up again by the
    # workers' reconciler, in the middle of the measurement.
    ExportJob.objects.filter(workspace=workspace, description=WHOLE_DESCRIPTION).delete()
    per_row = estimated_bytes_per_row(workspace)
    needed, free = disk_needed(rows=rows, bytes_per_row=per_row), shutil.disk_usage(folder).free
    print(f"\nWhole workspace as one JSONL file ({rows:,} logs, every field, {WORKERS} workers; "
          f"~{rows * per_row / 1e9:.1f} GB; {free / 1e9:.0f} GB free in {folder}; load "
          f"{os.getloadavg()[0]:.2f}):", flush=True)
    if free < needed:
        raise SystemExit(f"{folder}: {free / 1e9:.1f} GB free, the export needs about "
                         f"{needed / 1e9:.1f} GB: pass --scratch-dir on a larger disk")

    psql_before = psql_copy_seconds(database_url, workspace, rows, "jsonl")
    print(f"psql \\copy of the same rows (before): {psql_before:.1f}s", flush=True)
    workers = start_workers(WORKERS, {**os.environ, "EXPORTS_STORAGE_DIR": folder})
    try:
        reference = None
        if rows > RSS_REFERENCE_ROWS:
            reference = export_and_check(workspace, RSS_REFERENCE_ROWS,
                                         [w.pid for w in workers],
                                         f"first {RSS_REFERENCE_ROWS:,} logs (RSS reference)")
        whole = export_and_check(workspace, rows, [w.pid for w in workers],
                                 "whole workspace")
    finally:
        stop_workers(workers)
        print(f"workers stopped (pids {', '.join(str(w.pid) for w in workers)})", flush=True)
    psql_after = psql_copy_seconds(database_url, workspace, rows, "jsonl")
    psql_s = min(psql_before, psql_after)
    print(f"psql \\copy of the same rows (after): {psql_after:.1f}s; load "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    return summary_line(whole=whole, psql_s=psql_s, reference=reference)
