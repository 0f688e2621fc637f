"""Hourly log counts by provider, model and status code (deep offsets with those filters).

The counts of 0004 become one row per (workspace, hour, ai_provider, ai_model, status_code), so
a time range narrowed to some providers, models or status codes is counted and seeked through
them too. The first step stops the counting (PostgreSQL: a lock that holds writes to logs_log,
not reads, until the migration commits; SQLite: its triggers go, and its one writer is this
migration) and empties the table; the last replaces the triggers' work and rebuilds every row
from the logs, all in the migration's transaction, so no log is counted twice or missed.

The triggers now apply the net change of a statement: an UPDATE that leaves a log's hour and
facets as they were (metadata, a save() of the same values) writes no count row at all.
"""

from __future__ import annotations

import importlib

from django.db import migrations, models

hourly_0004 = importlib.import_module("logs.migrations.0004_hourly_counts")

HOUR_PG = hourly_0004.HOUR_PG
HOUR_SQLITE = hourly_0004.HOUR_SQLITE
KEYS = "workspace_id, hour, ai_provider, ai_model, status_code"
FACETS = ("ai_provider", "ai_model", "status_code")


def _rows_pg(table: str, sign: int) -> str:
    return (f"SELECT workspace_id, {HOUR_PG} AS hour, ai_provider, ai_model, status_code, "
            f"{sign} AS n FROM {table}")


def _apply_pg(changes: str, *, removals: bool) -> str:
    """Add `changes` (KEYS, n) to the count rows in one upsert, in key order, so that two
    writers lock the rows they share in one order (no deadlock between two such statements).
    A removal only updates a row that exists (it always does, unless the rows went first, as a
    workspace's may when it is deleted: a row inserted then would hold its foreign key)."""
    same = " AND ".join(f"c.{key} = ch.{key}" for key in KEYS.split(", "))
    where = (f"WHERE ch.n > 0 OR EXISTS (SELECT 1 FROM logs_loghourlycount AS c WHERE {same})"
             if removals else "")
    return (f"INSERT INTO logs_loghourlycount ({KEYS}, count) "
            f"SELECT {KEYS}, n FROM ({changes}) AS ch {where} ORDER BY {KEYS} "
            f"ON CONFLICT ({KEYS}) "
            "DO UPDATE SET count = logs_loghourlycount.count + EXCLUDED.count;")


def _net_pg(*parts: str) -> str:
    return (f"SELECT {KEYS}, sum(n) AS n FROM ({' UNION ALL '.join(parts)}) AS m "
            f"GROUP BY {KEYS} HAVING sum(n) <> 0")


# The triggers of 0004 (one per operation, statement-level, transition tables `added` and
# `removed`) stay; they call this function by name.
POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION logs_hourly_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM logs_loghourlycount;
    ELSIF TG_OP = 'INSERT' THEN
        {_apply_pg(_net_pg(_rows_pg("added", 1)), removals=False)}
    ELSIF TG_OP = 'DELETE' THEN
        {_apply_pg(_net_pg(_rows_pg("removed", -1)), removals=True)}
    ELSE
        {_apply_pg(_net_pg(_rows_pg("added", 1), _rows_pg("removed", -1)), removals=True)}
    END IF;
    RETURN NULL;
END $$
"""
POSTGRES_BACKFILL = (
    f"INSERT INTO logs_loghourlycount ({KEYS}, count) "
    f"SELECT workspace_id, {HOUR_PG}, ai_provider, ai_model, status_code, count(*) "
    "FROM logs_log GROUP BY 1, 2, 3, 4, 5"
)


def _hour_sqlite(row: str) -> str:
    return HOUR_SQLITE.format(row=row)


_SQLITE_ADD = (
    f"INSERT INTO logs_loghourlycount ({KEYS}, count) VALUES (NEW.workspace_id, "
    f"{_hour_sqlite('NEW.')}, NEW.ai_provider, NEW.ai_model, NEW.status_code, 1) "
    f"ON CONFLICT ({KEYS}) DO UPDATE SET count = count + 1;"
)
_SQLITE_REMOVE = (
    "UPDATE logs_loghourlycount SET count = count - 1 WHERE workspace_id = OLD.workspace_id "
    f"AND hour = {_hour_sqlite('OLD.')} "
    + " ".join(f"AND {facet} = OLD.{facet}" for facet in FACETS) + ";"
)
_SQLITE_MOVED = " OR ".join(
    [f"{_hour_sqlite('OLD.')} IS NOT {_hour_sqlite('NEW.')}"]
    + [f"OLD.{column} IS NOT NEW.{column}" for column in ("workspace_id", *FACETS)]
)
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER logs_hourly_count_insert AFTER INSERT ON logs_log BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER logs_hourly_count_delete AFTER DELETE ON logs_log BEGIN {_SQLITE_REMOVE} END",
    f"CREATE TRIGGER logs_hourly_count_update AFTER UPDATE OF created_at, workspace_id, "
    f"{', '.join(FACETS)} ON logs_log WHEN {_SQLITE_MOVED} "
    f"BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END",
]
SQLITE_BACKFILL = (
    f"INSERT INTO logs_loghourlycount ({KEYS}, count) "
    f"SELECT workspace_id, {_hour_sqlite('')}, ai_provider, ai_model, status_code, count(*) "
    "FROM logs_log GROUP BY 1, 2, 3, 4, 5"
)


def _execute(schema_editor, statements) -> None:
    for statement in statements:
        schema_editor.execute(statement, params=None)


def stop_counting(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # SHARE ROW EXCLUSIVE: no insert, update or delete of logs until commit; reads go on.
        _execute(schema_editor, ["LOCK TABLE logs_log IN SHARE ROW EXCLUSIVE MODE"])
    else:
        _execute(schema_editor, [f"DROP TRIGGER IF EXISTS {name}"
                                 for name in hourly_0004.TRIGGERS])
    _execute(schema_editor, ["DELETE FROM logs_loghourlycount"])


def count_by_facets(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _execute(schema_editor, [POSTGRES_FUNCTION, POSTGRES_BACKFILL])
    else:
        _execute(schema_editor, [*SQLITE_TRIGGERS, SQLITE_BACKFILL])


def count_by_hour(apps, schema_editor):
    """Back to 0004: its function (its triggers are still there) or its SQLite triggers."""
    if schema_editor.connection.vendor == "postgresql":
        _execute(schema_editor, [hourly_0004.POSTGRES_FUNCTION, hourly_0004.POSTGRES_BACKFILL])
    else:
        _execute(schema_editor, [*hourly_0004.SQLITE_TRIGGERS, hourly_0004.SQLITE_BACKFILL])


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('logs', '0004_hourly_counts'),
    ]

    operations = [
        migrations.RunPython(stop_counting, count_by_hour),
        migrations.RemoveConstraint(
            model_name='loghourlycount',
            name='log_hourly_ws_hour',
        ),
        migrations.AddField(
            model_name='loghourlycount',
            name='ai_model',
            field=models.CharField(blank=True, default='', max_length=200),
        ),
        migrations.AddField(
            model_name='loghourlycount',
            name='ai_provider',
            field=models.CharField(blank=True, default='', max_length=100),
        ),
        migrations.AddField(
            model_name='loghourlycount',
            name='status_code',
            field=models.IntegerField(default=200),
        ),
        migrations.AddConstraint(
            model_name='loghourlycount',
            constraint=models.UniqueConstraint(fields=('workspace', 'hour', 'ai_provider', 'ai_model', 'status_code'), name='log_hourly_ws_hour_facets'),
        ),
        migrations.RunPython(count_by_facets, stop_counting),
    ]
