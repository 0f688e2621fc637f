"""Seeding the bench-scale workspace, once: seed_logs' COPY lines in one transaction, with the
logs' secondary indexes set aside and built once at the end (logs.bulk): at 10M logs faster
than updating them row by row (docs/scaling.md, "Seeding speed").

Chunk i holds CHUNK logs spread over DAYS_PER_CHUNK days, oldest chunk first (a gateway writes in
time order); the newest log is at the workspace's creation time, so that a rerun the next day
finds the same data. Chunks only make the progress visible: an interrupted seed rolls back, and
a rerun seeds again from nothing.
"""

from __future__ import annotations

import time
from datetime import timedelta

CHUNK = 1_000_000
DAYS_PER_CHUNK = 3


def chunk_count(rows: int) -> int:
    return (rows + CHUNK - 1) // CHUNK


def ensure_scale_workspace(rows: int):
    from accounts.models import Organization, Workspace

    organization, _ = Organization.objects.get_or_create(
        name="Benchmarks", defaults={"plan": Organization.Plan.ENTERPRISE}
    )
    workspace, _ = Workspace.objects.get_or_create(
        slug=f"scale-{rows}", defaults={"organization": organization, "name": f"Scale {rows}"}
    )
    return workspace


def seed_scale_logs(workspace, rows: int) -> int:
    """Seeds the workspace unless it holds its logs already; returns how many it holds."""
    from django.db import connection, transaction

    from logs.bulk import copy_log_lines, secondary_indexes_set_aside
    from logs.models import Log
    from logs.seeding import generate_copy_lines

    present = Log.objects.filter(workspace=workspace).count()
    if present == rows:
        return present
    if present:
        raise SystemExit(f"workspace {workspace.slug} holds {present:,} logs, not {rows:,}: "
                         "delete it and rerun")
    chunks = chunk_count(rows)
    anchor = workspace.created_at
    started = time.perf_counter()
    with transaction.atomic(), secondary_indexes_set_aside():
        for index in range(chunks):
            count = min(CHUNK, rows - index * CHUNK)
            end = anchor - timedelta(days=DAYS_PER_CHUNK * (chunks - 1 - index))
            chunk_started = time.perf_counter()
            written = copy_log_lines(generate_copy_lines(
                workspace_id=workspace.id, count=count, now=end, days=DAYS_PER_CHUNK, seed=index,
            ))
            elapsed = time.perf_counter() - chunk_started
            present += written
            print(f"  chunk {index + 1}/{chunks}: {written:,} logs in {elapsed:.1f}s "
                  f"({written / elapsed:,.0f} rows/s), {present:,} in all", flush=True)
        print("  building the indexes and checking the foreign key...", flush=True)
    elapsed = time.perf_counter() - started
    print(f"  seeded {present:,} logs in {elapsed:.1f}s ({present / elapsed:,.0f} rows/s, "
          "indexes included)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) logs_log")
    return present
