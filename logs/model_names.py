"""The model names a workspace's logs use, for the Logs page's model filter."""

from __future__ import annotations

from django.db import connections

from logs.models import Log

# A loose index scan: one index seek per distinct name on (workspace, ai_model, ...), instead of
# reading every log of the workspace to find a handful of names.
SKIP_SCAN = """
WITH RECURSIVE names(ai_model) AS (
    (SELECT ai_model FROM logs_log WHERE workspace_id = %(workspace)s
     ORDER BY ai_model LIMIT 1)
    UNION ALL
    SELECT (SELECT l.ai_model FROM logs_log l
            WHERE l.workspace_id = %(workspace)s AND l.ai_model > names.ai_model
            ORDER BY l.ai_model LIMIT 1)
    FROM names WHERE names.ai_model IS NOT NULL
)
SELECT ai_model FROM names WHERE ai_model IS NOT NULL AND ai_model <> ''
"""


def workspace_model_names(*, workspace_id, database: str = "default") -> list[str]:
    connection = connections[database]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(SKIP_SCAN, {"workspace": workspace_id})
            return [row[0] for row in cursor.fetchall()]
    names = (
        Log.objects.using(database).filter(workspace_id=workspace_id).order_by("ai_model")
        .values_list("ai_model", flat=True).distinct()
    )
    return [name for name in names if name]
