"""The read replica (DATABASE_REPLICA_URL): the Logs page, the preview and the export stream
read through it; writes, migrations and the services' counts stay on the primary.

The tests add a second alias, "replica", pointing at the test database itself (as a replica
holds the same rows); on PostgreSQL it connects with its own application_name, so the server
shows which alias a connection belongs to. Rows are committed (transactional tests), since the
two aliases are two connections.
"""

from __future__ import annotations

import copy
import io
from datetime import timedelta

import pytest
from django.db import connection, connections, router
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from exports.writer import write_export
from logs.models import Log
from logs.replica import REPLICA, read_database

REPLICA_APPLICATION = "log-exports-replica-test"


# Module scope: the alias must exist before a test sets up its databases.
@pytest.fixture(scope="module")
def replica():
    settings = copy.deepcopy(connections["default"].settings_dict)
    settings["TEST"] = {"MIRROR": "default"}
    if connection.vendor == "postgresql":
        settings["OPTIONS"] = {**settings.get("OPTIONS", {}),
                               "application_name": REPLICA_APPLICATION}
    connections.settings[REPLICA] = settings
    try:
        yield REPLICA
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        del connections.settings[REPLICA]


def make_logs(workspace, count: int):
    now = timezone.now()
    Log.objects.bulk_create([
        Log(workspace=workspace, created_at=now - timedelta(minutes=index), ai_model="gpt-4o",
            trace_id=f"t{index}")
        for index in range(count)
    ])


def logs_queries(queries) -> list[str]:
    return [query["sql"] for query in queries if '"logs_log"' in query["sql"]
            or "logs_log " in query["sql"]]


def test_without_a_replica_everything_reads_the_primary(db):  # runs before the fixture below
    assert read_database() == "default"


def test_the_router_keeps_writes_and_migrations_on_the_primary(replica):
    assert read_database() == REPLICA
    assert router.db_for_read(Log) == "default"  # only the named reads go to the replica
    assert router.db_for_write(Log) == "default"
    assert router.allow_migrate(REPLICA, "logs") is False
    assert router.allow_migrate("default", "logs") is True


@pytest.mark.django_db(transaction=True, databases=["default", REPLICA])
def test_the_logs_page_and_preview_read_the_replica(client, user, workspace, replica):
    make_logs(workspace, 60)
    client.force_login(user)
    for url in ("/logs/?time_range=24h", "/logs/?time_range=24h&ai_model=gpt-4o",
                "/exports/preview/?time_range=24h&requested_data=id&limit=10"):
        with CaptureQueriesContext(connections["default"]) as primary, \
                CaptureQueriesContext(connections[REPLICA]) as secondary:
            response = client.get(url)
        assert response.status_code == 200
        assert not logs_queries(primary), f"{url} read logs on the primary"
        assert logs_queries(secondary), f"{url} read no logs on the replica"
    assert "60 logs match" in client.get("/logs/?time_range=24h").content.decode()


@pytest.mark.django_db(transaction=True, databases=["default", REPLICA])
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY stream is PostgreSQL's")
def test_the_export_stream_reads_the_replica(workspace, replica):
    make_logs(workspace, 1200)
    streaming_from: list[set[str]] = []

    def checkpoint(rows: int) -> None:
        # While the COPY streams, its connection is open: whose is it?
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT application_name FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            streaming_from.append({row[0] for row in cursor.fetchall()})

    sink = io.BytesIO()
    result = write_export(workspace_id=workspace.id, filters={}, field_names=["id"], limit=1000,
                          offset=100, file_format="jsonl", sink=sink, checkpoint=checkpoint)
    assert result.rows == 1000 and len(sink.getvalue().splitlines()) == 1000
    assert streaming_from and all(REPLICA_APPLICATION in names for names in streaming_from)
