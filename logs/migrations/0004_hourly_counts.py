"""Hourly log counts per workspace, kept by triggers (issue 12: deep offsets without counting).

PostgreSQL: one statement-level trigger per operation with transition tables, so a COPY of a
million logs costs one grouped upsert, not a million; SQLite: row triggers. Both are created
before the backfill, in the migration's transaction (CREATE TRIGGER locks logs_log against
writes until commit), so no log is counted twice or missed.
"""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models

HOUR_PG = "date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
HOUR_SQLITE = "strftime('%Y-%m-%d %H:00:00', {row}created_at)"

POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION logs_hourly_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM logs_loghourlycount;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE logs_loghourlycount AS c SET count = c.count - r.n
        FROM (SELECT workspace_id, {HOUR_PG} AS hour, count(*) AS n
              FROM removed GROUP BY 1, 2) AS r
        WHERE c.workspace_id = r.workspace_id AND c.hour = r.hour;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        -- In (workspace, hour) order, so that two writers lock the rows they share in one order.
        INSERT INTO logs_loghourlycount (workspace_id, hour, count)
        SELECT workspace_id, {HOUR_PG}, count(*) FROM added GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (workspace_id, hour)
        DO UPDATE SET count = logs_loghourlycount.count + EXCLUDED.count;
    END IF;
    RETURN NULL;
END $$
"""
POSTGRES_TRIGGERS = [
    "CREATE TRIGGER logs_hourly_count_insert AFTER INSERT ON logs_log "
    "REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION logs_hourly_count_apply()",
    "CREATE TRIGGER logs_hourly_count_delete AFTER DELETE ON logs_log "
    "REFERENCING OLD TABLE AS removed FOR EACH STATEMENT "
    "EXECUTE FUNCTION logs_hourly_count_apply()",
    "CREATE TRIGGER logs_hourly_count_update AFTER UPDATE ON logs_log "
    "REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT "
    "EXECUTE FUNCTION logs_hourly_count_apply()",
    "CREATE TRIGGER logs_hourly_count_truncate AFTER TRUNCATE ON logs_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION logs_hourly_count_apply()",
]
POSTGRES_BACKFILL = (
    "INSERT INTO logs_loghourlycount (workspace_id, hour, count) "
    f"SELECT workspace_id, {HOUR_PG}, count(*) FROM logs_log GROUP BY 1, 2"
)

_SQLITE_ADD = (
    "INSERT INTO logs_loghourlycount (workspace_id, hour, count) "
    f"VALUES (NEW.workspace_id, {HOUR_SQLITE.format(row='NEW.')}, 1) "
    "ON CONFLICT (workspace_id, hour) DO UPDATE SET count = count + 1;"
)
_SQLITE_REMOVE = (
    "UPDATE logs_loghourlycount SET count = count - 1 WHERE workspace_id = OLD.workspace_id "
    f"AND hour = {HOUR_SQLITE.format(row='OLD.')};"
)
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER logs_hourly_count_insert AFTER INSERT ON logs_log BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER logs_hourly_count_delete AFTER DELETE ON logs_log BEGIN {_SQLITE_REMOVE} END",
    "CREATE TRIGGER logs_hourly_count_update AFTER UPDATE OF created_at, workspace_id "
    f"ON logs_log BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END",
]
SQLITE_BACKFILL = (
    "INSERT INTO logs_loghourlycount (workspace_id, hour, count) "
    f"SELECT workspace_id, {HOUR_SQLITE.format(row='')}, count(*) FROM logs_log GROUP BY 1, 2"
)
TRIGGERS = ("logs_hourly_count_insert", "logs_hourly_count_delete", "logs_hourly_count_update",
            "logs_hourly_count_truncate")  # the last on PostgreSQL only


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        statements = [POSTGRES_FUNCTION, *POSTGRES_TRIGGERS, POSTGRES_BACKFILL]
    else:
        statements = [*SQLITE_TRIGGERS, SQLITE_BACKFILL]
    for statement in statements:
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for name in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON logs_log" if postgres else ""))
    if postgres:
        schema_editor.execute("DROP FUNCTION IF EXISTS logs_hourly_count_apply()")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('logs', '0003_model_status_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='LogHourlyCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('hour', models.DateTimeField(help_text="The hour's start, UTC.")),
                ('count', models.BigIntegerField(default=0)),
                ('workspace', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.workspace')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('workspace', 'hour'), name='log_hourly_ws_hour')],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
