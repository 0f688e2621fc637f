"""DATABASE_STATEMENT_TIMEOUT_MS bounds each statement of a web request (PostgreSQL's
statement_timeout): past it the API answers 503 in its one error shape, the pages a plain 503;
an export's stream on a worker keeps its own, longer bound (EXPORTS_STATEMENT_TIMEOUT_MS).

SQLite has no statement timeout: these tests run on PostgreSQL only (set DATABASE_URL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone
from psycopg.errors import QueryCanceled

from exports.models import ExportJob
from logs.models import Log
from logs.seeding import seed_logs
from tests.api.conftest import ApiClient, assert_error, issue_key
from tests.exports.test_writer import export_bytes

pytestmark = pytest.mark.django_db(transaction=True)
# Counting 20,000 logs by a metadata pair (no index can answer it) takes tens of ms; the key
# and session look-ups of a request take a fraction of one.
LOGS = 20_000
BOUND_MS = 3


@pytest.fixture
def many_logs(workspace):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no statement timeout: set DATABASE_URL to a PostgreSQL database")
    seed_logs(workspace_id=workspace.id, count=LOGS, now=timezone.now(), days=10, seed=11)
    yield workspace
    with connection.cursor() as cursor:  # this test process's own connection: unbounded again
        cursor.execute("RESET statement_timeout")


def test_an_api_count_past_the_bound_is_503_and_creates_nothing(many_logs, settings):
    api = ApiClient(issue_key(many_logs)[1])
    body = {"requested_data": ["id"], "filters": {"metadata": {"team": "nobody"}}}
    settings.DATABASE_STATEMENT_TIMEOUT_MS = BOUND_MS
    error = assert_error(api.post("/v1/logs/exports", body), 503, code="database_timeout",
                         contains="took longer than")
    assert "canceling statement" not in error["message"]  # no database text on the wire
    assert not ExportJob.objects.exists()

    settings.DATABASE_STATEMENT_TIMEOUT_MS = 30_000  # the same request within a sane bound
    # Counted to the end this time: no log matches, which is refused as an empty export.
    assert_error(api.post("/v1/logs/exports", body), 422, code="no_matching_logs",
                 contains="no logs match metadata team=nobody")


def test_a_page_past_the_bound_is_a_plain_503(many_logs, user, client, settings):
    # The pages never count or scan more than they show, so their statement waits instead: on
    # a lock that another session (a migration, a VACUUM FULL) holds on the logs.
    client.force_login(user)
    settings.DATABASE_STATEMENT_TIMEOUT_MS = 300
    other = connection.get_new_connection(connection.get_connection_params())
    other.execute(f"LOCK TABLE {Log._meta.db_table} IN ACCESS EXCLUSIVE MODE")
    release = threading.Timer(10, other.close)  # without a bound the page waits this long
    release.start()
    try:
        response = client.get("/logs/")
    finally:
        release.cancel()
        other.close()
    assert response.status_code == 503
    html = response.content.decode()
    assert "took too long" in html and "canceling statement" not in html
    assert client.get("/logs/").status_code == 200


def test_an_export_stream_has_its_own_bound_not_the_webs(many_logs, settings):
    settings.DATABASE_STATEMENT_TIMEOUT_MS = BOUND_MS  # the web's: no concern of a worker's
    settings.EXPORTS_STATEMENT_TIMEOUT_MS = 60_000
    assert export_bytes(many_logs, fields=["id", "request"], limit=LOGS).count(b"\n") == LOGS

    settings.EXPORTS_STATEMENT_TIMEOUT_MS = BOUND_MS
    with pytest.raises(QueryCanceled, match="statement timeout"):
        export_bytes(many_logs, fields=["id", "request"], limit=LOGS, fast_path=True)
