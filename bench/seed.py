"""Benchmark: seed_logs on PostgreSQL in rows/s, against the database's own COPY ceiling.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_seed make bench-seed
    DATABASE_URL=... make bench-seed BENCH_ARGS="--rows 200000 --repeat 3"

Every load runs in a transaction that is rolled back once timed (the foreign keys checked
first, as a commit would), so the database keeps nothing and a rerun measures the same thing;
use a database of its own all the same: each load is followed by an (untimed) VACUUM of
logs_log to clear its rolled-back rows. Timed, --repeat times each, interleaved, median printed:

  seed_logs          seed_logs' own path: COPY text made in a forked process, one COPY
  seed_logs --bulk   the same with the secondary indexes and the FK set aside, built after
  psql, table        psql \\copy of a ready file of the same rows into logs_log as it is
  psql, bare         the same file into a bare copy of logs_log (no index, key or trigger)
  psql, bare unlogged  the same, no WAL either

plus the generator alone (lines/s of COPY text on one core). Last line:
rows=N seed_rows_s=... bulk_rows_s=... psql_table_rows_s=... psql_bare_rows_s=... target=100000
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.export import setup_django  # noqa: E402

TARGET_ROWS_S = 100_000
NOW = datetime(2026, 1, 1, tzinfo=UTC)  # any fixed moment: the rows are rolled back


def ensure_workspace():
    from accounts.models import Organization, Workspace

    organization, _ = Organization.objects.get_or_create(
        name="Benchmarks", defaults={"plan": Organization.Plan.ENTERPRISE})
    workspace, _ = Workspace.objects.get_or_create(
        slug="bench-seed", defaults={"organization": organization, "name": "Seed benchmark"})
    return workspace


def seed_seconds(workspace, rows: int, *, bulk: bool) -> float:
    """seed_logs as the command runs it, in a transaction rolled back once timed."""
    from contextlib import nullcontext

    from django.db import connection, transaction

    from logs.bulk import secondary_indexes_set_aside
    from logs.seeding import seed_logs

    started = time.perf_counter()
    with transaction.atomic():
        with secondary_indexes_set_aside() if bulk else nullcontext():
            written = seed_logs(workspace_id=workspace.id, count=rows, now=NOW, days=30, seed=1)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the FK checks a commit would run
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    assert written == rows, (written, rows)
    return elapsed


def write_copy_file(workspace, rows: int, path: Path) -> float:
    """The same rows as COPY text in a file (for psql); returns the generator's seconds."""
    from logs.seeding import generate_copy_lines

    started = time.perf_counter()
    with path.open("w") as out:
        out.writelines(generate_copy_lines(workspace_id=workspace.id, count=rows, now=NOW,
                                           days=30, seed=1))
    return time.perf_counter() - started


def psql_seconds(database_url: str, path: Path, *, into: str) -> float:
    """psql \\copy of the file in a transaction rolled back at the end; `into` is "table",
    "bare" or "bare unlogged" (a copy of logs_log's columns made in the same transaction)."""
    from logs.bulk import COLUMNS

    target = "logs_log"
    prepare = ""
    if into != "table":
        target = "bench_seed_bare"
        kind = "UNLOGGED " if into == "bare unlogged" else ""
        prepare = (f"CREATE {kind}TABLE {target} (LIKE logs_log INCLUDING DEFAULTS);\n")
    script = (f"BEGIN;\n{prepare}\\copy {target} ({', '.join(COLUMNS)}) FROM '{path}'\n"
              "SET CONSTRAINTS ALL IMMEDIATE;\nROLLBACK;\n")
    started = time.perf_counter()
    subprocess.run(["psql", database_url, "-X", "-q", "-v", "ON_ERROR_STOP=1"],  # noqa: S603,S607
                   input=script, text=True, check=True)
    return time.perf_counter() - started


def vacuum() -> None:
    """Clears the rolled-back rows of the last load."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM logs_log")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each load")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        print("DATABASE_URL is not a PostgreSQL URL: seed_logs' COPY path is PostgreSQL's. Set "
              "DATABASE_URL=postgres://... (a database of its own).", file=sys.stderr)
        return 2
    setup_django(database_url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    workspace = ensure_workspace()
    rows = args.rows
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores, shared); {rows:,} logs "
          f"a load, {args.repeat} run(s) each, interleaved")
    loads = {
        "seed_logs": lambda: seed_seconds(workspace, rows, bulk=False),
        "seed_logs --bulk": lambda: seed_seconds(workspace, rows, bulk=True),
    }
    with tempfile.TemporaryDirectory(prefix="bench-seed-") as folder:
        path = Path(folder) / "logs.copy"
        generator_s = write_copy_file(workspace, rows, path)
        print(f"{'generator (COPY text, one core)':<34} {rows / generator_s:>9,.0f} lines/s  "
              f"({path.stat().st_size / rows:,.0f} bytes a log)")
        for into in ("table", "bare", "bare unlogged"):
            loads[f"psql, {into}"] = lambda into=into: psql_seconds(database_url, path, into=into)
        seconds: dict[str, list[float]] = {name: [] for name in loads}
        for _ in range(args.repeat):
            for name, load in loads.items():
                connection.close()  # each load on a fresh connection, as the command has
                seconds[name].append(load())
                vacuum()  # untimed: the next load's index builds would read these dead rows
    rates = {name: rows / statistics.median(times) for name, times in seconds.items()}
    for name, rate in rates.items():
        spread = ", ".join(f"{rows / s:,.0f}" for s in seconds[name])
        print(f"{name:<34} {rate:>9,.0f} rows/s  (runs: {spread})")
    met = "met" if rates["seed_logs --bulk"] >= TARGET_ROWS_S else "not met"
    print(f"target {TARGET_ROWS_S:,} rows/s: {met}; load average at end: "
          f"{os.getloadavg()[0]:.2f}")
    print(f"rows={rows} seed_rows_s={rates['seed_logs']:.0f} "
          f"bulk_rows_s={rates['seed_logs --bulk']:.0f} "
          f"psql_table_rows_s={rates['psql, table']:.0f} "
          f"psql_bare_rows_s={rates['psql, bare']:.0f} target={TARGET_ROWS_S}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
