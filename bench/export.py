"""Benchmark: a whole export job against PostgreSQL's own `\\copy`, and its peak memory.

    make bench                                   # PostgreSQL (DATABASE_URL), 50,000 rows
    make bench BENCH_ARGS="--rows 1000000"
    make bench BENCH_ARGS="--format csv"         # against \\copy ... WITH CSV HEADER
    make bench BENCH_ARGS="--format parquet"     # against \\copy to CSV + pyarrow to Parquet
    .venv/bin/python bench/export.py --sqlite    # SQLite mode: rows/s of the portable path
    make bench BENCH_ARGS="--redact"             # all five detectors against no redaction

On PostgreSQL it makes sure a dedicated workspace (`bench-<rows>`) holds the rows (seeded once
with ~1.4 KB of request/response JSON each, then reused), runs a full export job of those logs
with every catalogue field through the real job code (runtime.export_job_run, filesystem storage
in a temporary folder), each run in a fresh process so its peak RSS is the export's alone, and
times `psql \\copy (SELECT row_to_json(t) FROM (<the same query>) t) TO file` for the same rows in
the same order. Each is repeated (after one untimed warm-up of each) and the medians printed, with
one final line: rows=N export_s=... copy_s=... ratio=... peak_rss_mb=... format=...

The reference follows the format: for jsonl `\\copy (SELECT row_to_json(t) ...)`; for csv
`\\copy (SELECT <the columns> ...) TO file WITH CSV HEADER`; for parquet the pipeline a user
would write by hand: that CSV \\copy, then pyarrow reads the CSV and writes zstd Parquet. The
reference's file is fsynced, as the export's is.

With --redact the export applies all five redaction detectors and the reference is the same
export job without redaction (target: at least REDACT_TARGET_RATIO of its speed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_RATIOS = {"jsonl": 0.8, "jsonl.gz": 0.8, "csv": 0.9, "csv.gz": 0.9, "parquet": 1.0}
REDACT_TARGET_RATIO = 0.5
TARGET_RSS_MB = 150
# pyarrow's libraries are ~40 MB resident on top of Django's ~75 MB, and one row group is built
# in memory (exports.formats.parquet.ROW_GROUP_BYTES).
TARGET_RSS_MB_BY_FORMAT = {"parquet": 250}
REFERENCES = {
    "jsonl": "psql \\copy of row_to_json", "jsonl.gz": "psql \\copy of row_to_json",
    "csv": "psql \\copy WITH CSV HEADER", "csv.gz": "psql \\copy WITH CSV HEADER",
    "parquet": "psql \\copy to CSV, then pyarrow CSV -> zstd Parquet",
}


def setup_django(database_url: str, storage_dir: str | None = None, max_logs: int = 0) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["EXPORTS_STORAGE"] = "filesystem"
    if storage_dir:
        os.environ["EXPORTS_STORAGE_DIR"] = storage_dir
    if max_logs:
        os.environ["EXPORTS_MAX_LOGS_PER_EXPORT"] = str(max_logs)
    import django

    django.setup()


# --- Data --------------------------------------------------------------------------------------

# Earlier turns of the conversation, as chat clients resend them: they bring the request and
# response JSON of a bench log to ~1.4 KB, which is what production logs average.
HISTORY = [
    {"role": "user", "content": "We are planning the Q3 migration of the billing service to the "
     "new cluster. List the risks you see, with a \"severity\" for each.\n"},
    {"role": "assistant", "content": "1. Data loss during cut-over — severity: high.\n2. Latency "
     "regressions on C:\\\\billing\\\\reports — severity: medium.\n3. Stale DNS caches — "
     "severity: low. 🚦 Plan a rollback window and a dry run on staging first."},
    {"role": "user", "content": "Good. Now draft the announcement e-mail for the team, friendly "
     "but short; mention the maintenance window (Saturday 02:00–04:00 UTC). Merci ! 🙏"},
    {"role": "assistant", "content": "Subject: Billing maintenance, Saturday 02:00–04:00 UTC\n\n"
     "Hi all, billing moves to the new cluster this Saturday; expect a short read-only window."},
]


def bench_rows(*, workspace_id, count: int, seed: int):
    from django.utils import timezone

    from logs.canonical_json import CanonicalText, canonical_json
    from logs.seeding import generate_logs

    # jsonb keeps the order of array items: splicing canonical items in keeps the text canonical.
    history = canonical_json(HISTORY)[1:-1] + ", "
    for row in generate_logs(workspace_id=workspace_id, count=count, now=timezone.now(),
                             days=30, seed=seed):
        row["request"] = CanonicalText(row["request"].replace('"messages": [',
                                                              '"messages": [' + history, 1))
        yield row


def ensure_bench_logs(rows: int) -> object:
    from django.db import transaction

    from accounts.models import Organization, Workspace
    from logs.bulk import bulk_insert_logs
    from logs.models import Log

    organization, _ = Organization.objects.get_or_create(
        name="Benchmarks", defaults={"plan": Organization.Plan.ENTERPRISE}
    )
    workspace, _ = Workspace.objects.get_or_create(
        slug=f"bench-{rows}", defaults={"organization": organization, "name": f"Bench {rows}"}
    )
    present = Log.objects.filter(workspace=workspace).count()
    if present < rows:
        print(f"seeding {rows - present:,} logs into workspace {workspace.slug} ...", flush=True)
        started = time.perf_counter()
        with transaction.atomic():
            written = bulk_insert_logs(
                bench_rows(workspace_id=workspace.id, count=rows - present, seed=present)
            )
        elapsed = time.perf_counter() - started
        print(f"  seeded {written:,} logs in {elapsed:.1f}s ({written / elapsed:,.0f} rows/s)")
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE logs_log")
    return workspace


def payload_average(workspace) -> float:
    from django.db import connection

    sql = ("SELECT avg(octet_length(request::text) + octet_length(response::text)) "
           "FROM logs_log WHERE workspace_id = %s")
    if connection.vendor == "sqlite":
        sql = sql.replace("::text", "").replace("octet_length", "length")
    with connection.cursor() as cursor:
        cursor.execute(sql, [workspace.id.hex if connection.vendor == "sqlite" else workspace.id])
        return float(cursor.fetchone()[0])


# --- One export, in a process of its own -------------------------------------------------------

def run_one_export(workspace_slug: str, rows: int, file_format: str,
                   redact: bool = False) -> dict:
    """Runs in the child: a real job through the real job code; prints its time and memory."""
    from accounts.models import Workspace
    from exports import services
    from exports.fields import ALL_FIELD_NAMES
    from exports.redaction.detectors import DETECTORS

    workspace = Workspace.objects.get(slug=workspace_slug)
    job = services.export_job_create(
        workspace=workspace, filters={}, requested_data=list(ALL_FIELD_NAMES), limit=rows,
        description="benchmark", file_format=file_format,
        redaction={"detectors": list(DETECTORS)} if redact else None,
    )
    return run_job_here(job, rows=rows)


def run_job_here(job, *, rows: int) -> dict:
    """Runs a created job in this process, checks it wrote `rows` rows; its time and memory."""
    from django.utils import timezone

    from exports import runtime
    from exports.models import ExportJob

    # export_job_start would enqueue it for a worker; this process is the worker here.
    ExportJob.objects.filter(id=job.id).update(
        status=ExportJob.Status.IN_PROGRESS, attempt=1, started_at=timezone.now()
    )
    started = time.perf_counter()
    status = runtime.export_job_run(job_id=job.id, attempt=1)
    elapsed = time.perf_counter() - started
    job.refresh_from_db()
    assert status == ExportJob.Status.SUCCESS, (status, job.error)
    assert job.rows_written == rows, (job.rows_written, rows)
    return {
        "seconds": elapsed,
        "rows": job.rows_written,
        "bytes": job.file_size,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def export_in_fresh_process(database_url: str, workspace_slug: str, rows: int,
                            file_format: str, redact: bool = False) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        command = [sys.executable, __file__, "--child", workspace_slug, "--rows", str(rows),
                   "--storage-dir", folder, "--format", file_format,
                   *(["--redact"] if redact else [])]
        env = {**os.environ, "DATABASE_URL": database_url}
        output = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        return json.loads(output.stdout.strip().splitlines()[-1])


# --- The reference: PostgreSQL serialising the same rows itself --------------------------------

def reference_select(workspace, rows: int) -> str:
    """The SELECT of the same rows, in the same order, with every catalogue field."""
    from django.db import connection
    from django.db.models import BooleanField, ExpressionWrapper, Q

    from exports.fields import FIELDS
    from logs.filters import matching_logs

    is_success = ExpressionWrapper(Q(status_code__gte=200, status_code__lte=299),
                                   output_field=BooleanField())
    columns = [field.column for field in FIELDS if field.column]
    queryset = (matching_logs(workspace_id=workspace.id, filters={})
                .annotate(is_success=is_success)
                .values(*columns, "is_success")[:rows])
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        inner = cursor.mogrify(sql, params)
    return inner.decode() if isinstance(inner, bytes) else inner


def durable(path: Path | str) -> None:
    """fsync a reference's file, as the export's sink does before the file is the job's: without
    it the reference's file is deleted before most of it ever reaches the disk, and the
    comparison would time the export's disk writes against none."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def csv_to_parquet(source: Path) -> float:
    """The hand-written second step: pyarrow reads the CSV and writes zstd Parquet; its seconds.

    Runs in a process of its own: it holds the whole table in memory, and a process forked from
    one that big would report that size as its own peak RSS (Linux keeps ru_maxrss across exec).
    Only the conversion is timed, not the interpreter's start.
    """
    script = (
        "import sys, time\n"
        "import pyarrow.csv as c, pyarrow.parquet as p\n"
        "started = time.perf_counter()\n"
        "table = c.read_csv(sys.argv[1], parse_options=c.ParseOptions(newlines_in_values=True))\n"
        "p.write_table(table, sys.argv[1] + '.parquet', compression='zstd')\n"
        "import os; fd = os.open(sys.argv[1] + '.parquet', os.O_RDONLY); os.fsync(fd)\n"
        "print(time.perf_counter() - started)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(source)], check=True,
                          capture_output=True, text=True)
    return float(done.stdout.strip())


def psql_copy_seconds(database_url: str, workspace, rows: int, file_format: str) -> float:
    select = reference_select(workspace, rows)
    if file_format.startswith("jsonl"):
        return psql_copy_select_seconds(database_url, f"SELECT row_to_json(t) FROM ({select}) t")
    return psql_copy_select_seconds(database_url, select, csv=True,
                                    then_parquet=file_format == "parquet")


def psql_copy_select_seconds(database_url: str, select: str, *, csv: bool = False,
                             then_parquet: bool = False) -> float:
    """psql's `\\copy` of a SELECT to a file (fsynced, as the export's file is); with
    then_parquet, plus pyarrow turning that CSV into zstd Parquet (the pipeline by hand)."""
    with tempfile.TemporaryDirectory(prefix="bench-copy-") as folder:
        target = Path(folder) / "reference"
        copy = f"\\copy ({select}) TO '{target}'" + (" WITH CSV HEADER" if csv else "")
        command = ["psql", database_url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", copy]
        started = time.perf_counter()
        subprocess.run(command, check=True)
        if not then_parquet:
            durable(target)
        elapsed = time.perf_counter() - started
        if then_parquet:
            elapsed += csv_to_parquet(target)
        return elapsed


# --- Main --------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--format", default="jsonl", choices=sorted(TARGET_RATIOS),
                        help="the export's format (and the reference that fits it)")
    parser.add_argument("--sqlite", action="store_true",
                        help="SQLite mode (var/bench.sqlite3): rows/s of the portable path")
    parser.add_argument("--redact", action="store_true",
                        help="all five redaction detectors, against the export without them")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--storage-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        setup_django(os.environ["DATABASE_URL"], args.storage_dir, max_logs=args.rows)
        print(json.dumps(run_one_export(args.child, args.rows, args.format, args.redact)))
        return 0

    database_url = os.environ.get("DATABASE_URL", "")
    if args.sqlite:
        database_url = f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}"
        (ROOT / "var").mkdir(exist_ok=True)
    elif not database_url.startswith(("postgres://", "postgresql://")):
        print("DATABASE_URL is not a PostgreSQL URL: the benchmark compares the export with "
              "PostgreSQL's own \\copy. Set DATABASE_URL=postgres://... or pass --sqlite for "
              "the SQLite mode (rows/s only).", file=sys.stderr)
        return 2
    setup_django(database_url, max_logs=args.rows)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    workspace = ensure_bench_logs(args.rows)
    print(f"{connection.vendor}: {args.rows:,} logs in workspace {workspace.slug}, "
          f"request+response JSON {payload_average(workspace):,.0f} bytes on average")

    if args.redact:
        return bench_redaction(database_url, workspace.slug, args)  # type: ignore[attr-defined]
    # Untimed warm-up of each, so every timed run finds the same (warm) page cache.
    export_in_fresh_process(database_url, workspace.slug, args.rows, args.format)
    reference = connection.vendor == "postgresql"
    if reference:
        psql_copy_seconds(database_url, workspace, args.rows, args.format)

    exports, copies = [], []
    for run in range(1, args.repeat + 1):
        exports.append(export_in_fresh_process(database_url, workspace.slug, args.rows,
                                               args.format))
        line = (f"run {run}: export {exports[-1]['seconds']:.3f}s "
                f"({exports[-1]['bytes'] / 1e6:.1f} MB, peak RSS "
                f"{exports[-1]['peak_rss_mb']:.1f} MB)")
        if reference:
            copies.append(psql_copy_seconds(database_url, workspace, args.rows, args.format))
            line += f", reference {copies[-1]:.3f}s"
        print(line, flush=True)

    export_s = statistics.median(run["seconds"] for run in exports)
    peak_rss_mb = max(run["peak_rss_mb"] for run in exports)
    print(f"median export: {export_s:.3f}s ({args.rows / export_s:,.0f} rows/s)")
    if not reference:
        print(f"rows={args.rows} export_s={export_s:.3f} rows_per_s={args.rows / export_s:.0f} "
              f"peak_rss_mb={peak_rss_mb:.1f} format={args.format}")
        return 0
    copy_s = statistics.median(copies)
    ratio = copy_s / export_s
    target = TARGET_RATIOS[args.format]
    target_rss = TARGET_RSS_MB_BY_FORMAT.get(args.format, TARGET_RSS_MB)
    print(f"median reference ({REFERENCES[args.format]}): {copy_s:.3f}s")
    print(f"targets: ratio {ratio:.2f} (≥ {target}: "
          f"{'met' if ratio >= target else 'NOT met'}), peak RSS {peak_rss_mb:.1f} MB "
          f"(≤ {target_rss}: {'met' if peak_rss_mb <= target_rss else 'NOT met'})")
    print(f"rows={args.rows} export_s={export_s:.3f} copy_s={copy_s:.3f} ratio={ratio:.2f} "
          f"peak_rss_mb={peak_rss_mb:.1f} format={args.format}")
    return 0


def bench_redaction(database_url: str, slug: str, args) -> int:
    """The export with all five detectors against the same export without redaction."""
    export_in_fresh_process(database_url, slug, args.rows, args.format)  # warm-up
    plain, redacted = [], []
    for run in range(1, args.repeat + 1):
        plain.append(export_in_fresh_process(database_url, slug, args.rows, args.format))
        redacted.append(export_in_fresh_process(database_url, slug, args.rows, args.format,
                                                redact=True))
        print(f"run {run}: without {plain[-1]['seconds']:.3f}s, redacted "
              f"{redacted[-1]['seconds']:.3f}s (peak RSS {redacted[-1]['peak_rss_mb']:.1f} MB)",
              flush=True)
    plain_s = statistics.median(run["seconds"] for run in plain)
    redacted_s = statistics.median(run["seconds"] for run in redacted)
    peak_rss_mb = max(run["peak_rss_mb"] for run in redacted)
    ratio = plain_s / redacted_s
    print(f"targets: ratio {ratio:.2f} (≥ {REDACT_TARGET_RATIO}: "
          f"{'met' if ratio >= REDACT_TARGET_RATIO else 'NOT met'})")
    print(f"rows={args.rows} redacted_s={redacted_s:.3f} plain_s={plain_s:.3f} ratio={ratio:.2f} "
          f"peak_rss_mb={peak_rss_mb:.1f} format={args.format} redact=all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
