"""Indexes for the filters of the Logs page, the preview and exports (issue 12).

The GIN index on metadata exists on PostgreSQL only (jsonb_path_ops answers the `@>` containment
test of logs.metadata_filter); SQLite keeps the plain table.
"""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models

METADATA_INDEX = "log_metadata_path_ops"


def create_metadata_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {METADATA_INDEX} ON logs_log "
            "USING gin (metadata jsonb_path_ops)"
        )


def drop_metadata_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {METADATA_INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('logs', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='log',
            name='workspace',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='logs', to='accounts.workspace'),
        ),
        migrations.AlterField(
            model_name='log',
            name='trace_id',
            field=models.CharField(blank=True, default='', max_length=200),
        ),
        migrations.AddIndex(
            model_name='log',
            index=models.Index(fields=['workspace', 'ai_model', 'created_at', 'id'], name='log_ws_model_created'),
        ),
        migrations.AddIndex(
            model_name='log',
            index=models.Index(fields=['workspace', 'ai_provider', 'created_at', 'id'], name='log_ws_provider_created'),
        ),
        migrations.AddIndex(
            model_name='log',
            index=models.Index(fields=['workspace', 'status_code', 'created_at', 'id'], name='log_ws_status_created'),
        ),
        migrations.AddIndex(
            model_name='log',
            index=models.Index(fields=['workspace', 'trace_id', 'created_at', 'id'], name='log_ws_trace_created'),
        ),
        migrations.RunPython(create_metadata_index, drop_metadata_index, elidable=False),
    ]
