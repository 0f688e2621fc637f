"""The benchmarks under bench/ (export, scale, seed) run end to end at a small size; no
figure is asserted: the targets are met in the benchmarks themselves, at real sizes.
bench-scale once broke unseen when the per-workspace cap began refusing its sixth start, and
refused to rerun below 1,000,000 logs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import psutil
import psycopg
import pytest
from django.db import connection

from tests.conftest import _database_url

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql",
                                reason="the benchmarks compare with PostgreSQL's \\copy")


@pytest.fixture
def bench_database(db):
    """A PostgreSQL database of the benchmark's own on the test server, dropped afterwards."""
    server = _database_url().rsplit("/", 1)[0]
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def run_bench(script: str, *args: str, database_url: str, redis_url: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "false"}
    done = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, str(ROOT / "bench" / script), *args], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_bench_scale_runs_every_request_and_reuses_its_workspace(bench_database, redis_url):
    # Five timed runs and a warm-up: six starts in one workspace, past the default cap of 5.
    first = run_bench("scale.py", "--rows", "20000", "--repeat", "5", "--stream-repeat", "1",
                      database_url=bench_database, redis_url=redis_url)
    assert "seeded 20,000 logs" in first
    for request in ("Logs page, deep page", "Log detail", "Preview, 30 days + model, offset",
                    "Create export, time range + metadata", "Update export", "Start export",
                    "Exports page (1,000+ exports)", "newest 20,000 logs"):
        assert re.search(rf"^{re.escape(request)}.*(p50|ratio)", first, re.MULTILINE), request
    assert "HTTP 4" not in first and "HTTP 5" not in first
    assert re.search(r"^rows=20000 worst_p50_ms=[\d.]+ worst_p95_ms=[\d.]+ ratio=[\d.]+ "
                     r"peak_rss_mb=\d+$", first, re.MULTILINE), first[-500:]
    # Last, the whole workspace as one file (one part at 20,000 logs), checked and timed.
    assert "file checked: 20,000 lines" in first
    assert re.search(r"whole_export rows=20000 seconds=[\d.]+ psql_seconds=[\d.]+ ratio=[\d.]+ "
                     r"peak_rss_mb_per_process=\d+ rss_at_1M=n/a$", first.strip()), first[-500:]

    again = run_bench("scale.py", "--rows", "20000", "--repeat", "1", "--no-stream",
                      "--no-whole-export", database_url=bench_database, redis_url=redis_url)
    assert "workspace scale-20000: 20,000 logs" in again
    assert "seeded" not in again  # the workspace was reused, not seeded a second time
    assert re.search(r"^rows=20000 .* ratio=skipped$", again, re.MULTILINE), again[-500:]
    assert "whole_export" not in again


def test_bench_scale_whole_export_alone_in_parts(bench_database, redis_url):
    output = run_bench("scale.py", "--rows", "12000", "--only-whole-export", "--part-logs",
                       "5000", database_url=bench_database, redis_url=redis_url)
    assert "p50" not in output  # no interactive request was timed
    assert "12,000 logs in 3 parts" in output
    assert "file checked: 12,000 lines" in output and "3 part(s) match the manifest" in output
    # Every process of the export was sampled: the creator, the workers and their horses.
    horses = re.search(r"worker (\d+) MB, horse (\d+) MB \((\d+) horses\), join horse (\d+) MB",
                       output)
    # (The join of 12,000 logs may end between two samples: its own figure is not asserted.)
    assert horses and all(int(value) > 0 for value in horses.groups()[:3]), output[-1500:]
    assert re.search(r"whole_export rows=12000 .* rss_at_1M=n/a$", output.strip())
    # No stray worker: the workers it started are gone, with their horses.
    pids = re.search(r"workers stopped \(pids ([\d, ]+)\)", output)
    assert pids, output[-1500:]
    assert not any(psutil.pid_exists(int(pid)) for pid in pids.group(1).split(", "))


def test_bench_export_compares_with_psql(bench_database, redis_url):
    for file_format in ("jsonl", "csv", "parquet"):
        output = run_bench("export.py", "--rows", "2000", "--repeat", "1",
                           "--format", file_format,
                           database_url=bench_database, redis_url=redis_url)
        assert re.search(r"^rows=2000 export_s=[\d.]+ copy_s=[\d.]+ ratio=[\d.]+ "
                         rf"peak_rss_mb=[\d.]+ format={file_format}$",
                         output, re.MULTILINE), output[-500:]


def test_bench_seed_times_seed_logs_against_psql(bench_database, redis_url):
    output = run_bench("seed.py", "--rows", "3000", "--repeat", "1",
                       database_url=bench_database, redis_url=redis_url)
    for load in ("seed_logs", "seed_logs --bulk", "psql, table", "psql, bare",
                 "psql, bare unlogged"):
        assert re.search(rf"^{re.escape(load)} +[\d,]+ rows/s", output, re.MULTILINE), load
    assert re.search(r"^rows=3000 seed_rows_s=\d+ bulk_rows_s=\d+ psql_table_rows_s=\d+ "
                     r"psql_bare_rows_s=\d+ target=100000$", output, re.MULTILINE), output[-500:]
    # Every load was rolled back: the benchmark's database keeps no log.
    with psycopg.connect(bench_database) as check:
        assert check.execute("SELECT count(*) FROM logs_log").fetchone()[0] == 0
