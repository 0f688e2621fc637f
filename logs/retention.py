"""Log retention without partitions: old logs leave in small batches, one workspace at a time.

Each batch is one DELETE of at most BATCH rows found through (workspace, created_at, id), in its
own transaction, so no lock is held long and the WAL grows evenly; the space freed is reused by
new logs once autovacuum has passed (the table does not grow while deletes keep pace with
inserts). docs/scaling.md ("Log retention") has the measured cost and when partitions pay off.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction

from accounts.models import Workspace
from logs.models import Log, LogHourlyCount

BATCH = 10_000


def delete_logs_before(*, cutoff: datetime, batch: int = BATCH) -> int:
    """Deletes every log created before cutoff; returns how many."""
    deleted = 0
    for workspace_id in Workspace.objects.order_by("id").values_list("id", flat=True):
        while True:
            with transaction.atomic():
                ids = list(
                    Log.objects.filter(workspace_id=workspace_id, created_at__lt=cutoff)
                    .order_by("created_at", "id").values_list("id", flat=True)[:batch]
                )
                if ids:
                    Log.objects.filter(workspace_id=workspace_id, id__in=ids)._raw_delete(
                        Log.objects.db)
            deleted += len(ids)
            if len(ids) < batch:
                break
    # The triggers have taken the deleted logs off their hours; hours left empty go with them.
    LogHourlyCount.objects.filter(hour__lt=cutoff, count__lte=0).delete()
    if deleted and connection.vendor == "postgresql" and connection.get_autocommit():
        # Deleted rows clear their pages' all-visible bits, and the bounded counts are
        # index-only scans only where those bits are set: set them again now rather than at
        # autovacuum's next pass (pages untouched since the last VACUUM are skipped).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) logs_log")
    return deleted
