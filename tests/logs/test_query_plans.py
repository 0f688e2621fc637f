"""EXPLAIN every query the interactive requests send: none may read a workspace's logs by a
sequential scan (PostgreSQL only; SQLite keeps the plain table and is for one machine).

The workspace holds 20,000 seeded logs (ANALYZEd, as autovacuum would have), and the counting
bound is lowered to 1,000 so that a bounded count is a small fraction of the workspace, as it is
at millions of logs. At this size a sequential scan that stops after ~1,000 rows is honestly the
cheapest plan, so each query is EXPLAINed with enable_seqscan off: the question is whether an
index path that seeks to the rows exists, which is what keeps the query flat at 10,000,000 logs
(bench/scale.py measures that). If none exists PostgreSQL still plans a Seq Scan, and the test
fails. Where a filter has its own index the plan must use it (not one that reads the whole
workspace and filters). The queries are captured from the real views and services, so a query
added later is checked too.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from exports import selectors
from logs.filters import matching_logs, normalise_filters
from logs.hourly_counts import time_range
from logs.keyset import seek_slice
from logs.models import Log
from logs.seeding import seed_logs

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql",
                                reason="query plans are checked on PostgreSQL")

ROWS = 20_000


@pytest.fixture
def big_workspace(workspace, other_workspace, settings, monkeypatch):
    settings.EXPORTS_MAX_LOGS_PER_EXPORT = 1_000
    monkeypatch.setattr("logs.views.LIST_COUNT_BOUND", 1_000)  # the Logs page's count, bounded
    now = timezone.now()
    seed_logs(workspace_id=workspace.id, count=ROWS, now=now, days=30, seed=1)
    seed_logs(workspace_id=other_workspace.id, count=2_000, now=now, days=30, seed=2)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE logs_log")
    return workspace


def plan_of(sql: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]
        finally:
            cursor.execute("RESET enable_seqscan")
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def log_queries(queries) -> list[str]:
    return [query["sql"] for query in queries
            if re.search(r"\blogs_log\b", query["sql"])  # not logs_loghourlycount
            and query["sql"].lstrip().upper().startswith(
                ("SELECT", "WITH"))]


def assert_no_seq_scan(sql: str, *, uses: str | None = None) -> None:
    plan = plan_of(sql)
    scans = [node for node in nodes(plan) if node.get("Relation Name") == "logs_log"]
    seq = [node for node in scans if node["Node Type"] == "Seq Scan"]
    assert not seq, f"sequential scan of logs_log:\n{sql}\n{json.dumps(plan, indent=1)[:3000]}"
    assert scans, f"no scan of logs_log in the plan of:\n{sql}"
    if uses:
        indexes = {node.get("Index Name") for node in nodes(plan)}
        assert uses in indexes, f"{uses} not used ({indexes}) by:\n{sql}"


def test_the_logs_page_queries_use_indexes(client, user, big_workspace):
    client.force_login(user)
    newest = Log.objects.filter(workspace=big_workspace).order_by("-created_at", "-id")
    deep, recent = newest[15_000], newest[500]
    from logs.keyset import Position

    cases = {
        "": None,
        "time_range=30d": None,
        "time_range=30d&ai_model=gpt-4o": ("log_ws_model_created", '"ai_model" IN'),
        "time_range=30d&status_code=429": ("log_ws_status_created", '"status_code" IN'),
        f"time_range=30d&before={Position.of(deep).token()}": None,
        f"time_range=30d&after={Position.of(recent).token()}": None,
    }
    for query, expected in cases.items():
        index, marker = expected or (None, None)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/logs/?{query}").status_code == 200
        sqls = [sql for sql in log_queries(queries) if "EXPLAIN" not in sql]
        assert len(sqls) >= 3, sqls  # the page, its bounded total, the model names
        for sql in sqls:
            # A filtered query must use its filter's index.
            assert_no_seq_scan(sql, uses=index if marker and marker in sql else None)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/logs/{deep.id}/").status_code == 200
    for sql in log_queries(queries):
        assert_no_seq_scan(sql)


FILTERS = {
    "all": ({}, None),
    "model": ({"ai_model": ["gpt-4o"]}, "log_ws_model_created"),
    "provider": ({"ai_provider": ["anthropic"]}, "log_ws_provider_created"),
    "status code": ({"status_code": [429]}, "log_ws_status_created"),
    "metadata": ({"metadata": {"session": "s-42"}}, "log_metadata_path_ops"),
}


def test_export_counts_and_the_preview_use_indexes(client, user, big_workspace):
    trace = Log.objects.filter(workspace=big_workspace).values_list("trace_id", flat=True)[7]
    cases = {**FILTERS, "trace id": ({"trace_id": [trace]}, "log_ws_trace_created")}
    month = {"created_at": {"gte": (timezone.now() - timedelta(days=31)).isoformat()}}
    for name, (filters, index) in cases.items():
        with CaptureQueriesContext(connection) as queries:
            selectors.count_export_rows(workspace_id=big_workspace.id,
                                       filters={**month, **filters}, limit=1_000, offset=0)
        sqls = log_queries(queries)  # a time-only filter: the edge hours of the hourly counts
        assert sqls, name
        try:
            for sql in sqls:
                assert_no_seq_scan(sql, uses=index)
        except AssertionError as error:
            raise AssertionError(f"{name}: {error}") from None
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/exports/preview/?time_range=30d&ai_model=gpt-4o&status_code=200"
                              "&requested_data=id&requested_data=request&offset=1000")
        assert response.status_code == 200 and response.context["preview"].rows == 1_000
    sqls = log_queries(queries)
    # The bounded count; the size sample streams through a server-side cursor (not captured),
    # from the first matching row (no seek past the offset).
    assert sqls, sqls
    for sql in sqls:
        assert_no_seq_scan(sql)


def test_an_exports_first_row_is_found_in_the_index_alone(transactional_db, workspace):
    # Committed and vacuumed, as a workspace's older logs are: an index-only scan needs the
    # visibility map, which VACUUM (not possible inside a test's transaction) keeps.
    seed_logs(workspace_id=workspace.id, count=ROWS, now=timezone.now(), days=30, seed=1)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) logs_log")
    big_workspace = workspace
    logs = matching_logs(workspace_id=big_workspace.id, filters={})
    with CaptureQueriesContext(connection) as queries:
        sliced = seek_slice(logs, offset=15_000, limit=100)
    (seek,) = log_queries(queries)
    plan = plan_of(seek)
    assert any(node["Node Type"] == "Index Only Scan" for node in nodes(plan)), plan
    sql, params = sliced.query.sql_with_params()
    with connection.cursor() as cursor:
        assert_no_seq_scan(cursor.mogrify(sql, params).decode()
                           if isinstance(cursor.mogrify(sql, params), bytes)
                           else cursor.mogrify(sql, params))
    assert "OFFSET" not in sql.upper()


def entries_read(sql: str) -> int:
    """The rows every scan of logs_log in the query's plan read, index entries included
    (EXPLAIN ANALYZE: the query runs; both figures are per loop)."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    return round(sum(
        (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"]
        for node in nodes(plan) if node.get("Relation Name") == "logs_log"))


@pytest.mark.parametrize("facets", [{"ai_model": ["gpt-4o"]},
                                    {"ai_provider": ["anthropic", "google"]},
                                    {"ai_model": ["claude-3-haiku"], "status_code": [200, 429]}])
def test_a_deep_offset_with_facet_filters_reads_about_an_hours_entries(big_workspace, facets):
    since = timezone.now() - timedelta(days=29, minutes=17)  # a leading edge inside an hour
    filters = normalise_filters({"created_at": {"gte": since.isoformat()}, **facets})
    matching = matching_logs(workspace_id=big_workspace.id, filters=filters)
    matches = matching.count()
    offset = matches - 40
    assert offset > 1_000, matches
    with CaptureQueriesContext(connection) as queries:
        size = selectors.count_export_rows(workspace_id=big_workspace.id, filters=filters,
                                          limit=1_000, offset=offset)
        hourly = time_range(workspace_id=big_workspace.id, filters=filters)
        page = list(seek_slice(matching, offset=offset, limit=25, hourly=hourly)
                    .values_list("id", flat=True))
        middle = list(seek_slice(matching, offset=matches // 2, limit=25, hourly=hourly)
                      .values_list("id", flat=True))
    assert size == 40
    assert page == list(matching.values_list("id", flat=True)[offset : offset + 25])
    assert middle == list(matching.values_list("id", flat=True)[matches // 2 :][:25])
    for sql in log_queries(queries):
        assert_no_seq_scan(sql)
    hour_sums = [query["sql"] for query in queries if "logs_loghourlycount" in query["sql"]]
    assert len(hour_sums) == 3, hour_sums  # the count's sum, each seek's hours
    for sql in hour_sums:  # each one index range of the workspace's hours
        plan = plan_of(sql)
        assert {node.get("Index Name") for node in nodes(plan)} >= {"log_hourly_ws_hour_facets"}
        assert not [node for node in nodes(plan) if node["Node Type"] == "Seq Scan"], plan
    read = sum(entries_read(sql) for sql in log_queries(queries))
    # 20,000 logs over 30 days are ~28 an hour: the count and the seeks read an edge hour, the
    # seeks' hours and the pages, not the `offset` entries before them (nor the ones after).
    assert read < 250, (read, offset)
