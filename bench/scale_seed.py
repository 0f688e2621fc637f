"""Seeding the bench-scale workspace, once: seed_logs' COPY lines in one transaction, with the
logs' secondary indexes set aside and built once at the end (logs.bulk), which at 10M logs is
several times faster than updating them row by row.

Chunk i holds CHUNK logs spread over DAYS_PER_CHUNK days, oldest chunk first (a gateway writes in
time order); the newest log is at the workspace's creation time, so that a rerun the next day
finds the same data. Chunks only make the progress visible: an interrupted seed rolls back.
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
    """Seeds the chunks not yet present; returns how many logs the workspace holds."""
    from django.db import connection, transaction

    from logs.bulk import copy_log_lines, secondary_indexes_set_aside
    from logs.models import Log
    from logs.seeding import generate_copy_lines

    present = Log.objects.filter(workspace=workspace).count()
    chunks = chunk_count(rows)
    first = present // CHUNK
    if present % CHUNK:
        raise SystemExit(f"workspace {workspace.slug} holds {present:,} logs, not a whole number "
                         f"of chunks of {CHUNK:,}: delete it and rerun")
    if first >= chunks:
        return present
    anchor = workspace.created_at
    started = time.perf_counter()
    with transaction.atomic(), secondary_indexes_set_aside():
        for index in range(first, chunks):
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
    seeded = present - first * CHUNK
    elapsed = time.perf_counter() - started
    print(f"  seeded {seeded:,} logs in {elapsed:.1f}s ({seeded / elapsed:,.0f} rows/s, "
          "indexes included)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) logs_log")
    return present
