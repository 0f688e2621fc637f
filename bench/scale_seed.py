"""Seeding the bench-scale workspace: once, in chunks of one transaction each, so that an
interrupted seed resumes where it stopped instead of starting over.

Chunk i holds CHUNK logs spread over DAYS_PER_CHUNK days, oldest chunk first (a gateway writes in
time order, and so the indexes fill at their ends); the newest log is at the workspace's creation
time, so that a rerun the next day finds the same data.
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

    from logs.bulk import bulk_insert_logs
    from logs.models import Log
    from logs.seeding import generate_logs

    present = Log.objects.filter(workspace=workspace).count()
    chunks = chunk_count(rows)
    first = present // CHUNK
    if present % CHUNK:
        raise SystemExit(f"workspace {workspace.slug} holds {present:,} logs, not a whole number "
                         f"of chunks of {CHUNK:,}: delete it and rerun")
    anchor = workspace.created_at
    for index in range(first, chunks):
        count = min(CHUNK, rows - index * CHUNK)
        end = anchor - timedelta(days=DAYS_PER_CHUNK * (chunks - 1 - index))
        started = time.perf_counter()
        with transaction.atomic():
            written = bulk_insert_logs(generate_logs(
                workspace_id=workspace.id, count=count, now=end, days=DAYS_PER_CHUNK, seed=index,
            ))
        elapsed = time.perf_counter() - started
        present += written
        print(f"  chunk {index + 1}/{chunks}: {written:,} logs in {elapsed:.1f}s "
              f"({written / elapsed:,.0f} rows/s), {present:,} in all", flush=True)
    if first < chunks and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) logs_log")
    return present
