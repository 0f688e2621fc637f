"""Bounded counts: exact up to a bound, "more than N" past it, never a count of everything."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from exports import selectors
from logs.counting import bounded_count, export_slice_size
from logs.models import Log

pytestmark = pytest.mark.sqlite  # SQLite has code paths of its own here


def make_logs(workspace, count: int, **fields):
    now = timezone.now()
    Log.objects.bulk_create([
        Log(workspace=workspace, created_at=now - timedelta(minutes=index), **fields)
        for index in range(count)
    ])


def test_exact_up_to_the_bound_and_more_than_past_it(workspace):
    make_logs(workspace, 12)
    logs = Log.objects.filter(workspace=workspace)
    assert bounded_count(logs, bound=12) == bounded_count(logs, bound=100)
    assert (bounded_count(logs, bound=12).value, bounded_count(logs, bound=12).exact) == (12, True)
    past = bounded_count(logs, bound=5, estimate=True)
    assert (past.value, past.exact, past.more_than) == (5, False, 5)
    if connection.vendor == "postgresql":
        assert past.estimate is None or past.estimate > 5
    else:
        assert past.estimate is None


def test_the_count_reads_no_further_than_the_bound(workspace):
    make_logs(workspace, 12)
    with CaptureQueriesContext(connection) as queries:
        bounded_count(Log.objects.filter(workspace=workspace), bound=5)
        export_slice_size(Log.objects.filter(workspace=workspace), limit=3, offset=4)
    assert "LIMIT 6" in queries[0]["sql"].upper()
    assert "LIMIT 7" in queries[1]["sql"].upper()


@pytest.mark.parametrize(("limit", "offset", "expected"),
                         [(5, 0, 5), (20, 0, 12), (5, 10, 2), (5, 12, 0), (5, 30, 0), (12, 0, 12)])
def test_an_exports_size_is_exact_whatever_the_bound(workspace, limit, offset, expected):
    make_logs(workspace, 12)
    logs = Log.objects.filter(workspace=workspace)
    assert export_slice_size(logs, limit=limit, offset=offset) == expected
    assert selectors.count_export_rows(workspace_id=workspace.id, filters={}, limit=limit,
                                      offset=offset) == expected


def test_the_logs_page_counts_its_filters_exactly_past_the_cap(client, user, workspace,
                                                                settings):
    # Every filter the page offers (time range, model, status code) is counted from the hourly
    # counts: exact past the cap, never "more than".
    settings.EXPORTS_MAX_LOGS_PER_EXPORT = 10
    make_logs(workspace, 15)
    make_logs(workspace, 4, status_code=500, ai_model="gpt-4o")
    client.force_login(user)
    response = client.get("/logs/?time_range=24h&status_code=200")
    assert (response.context["total"].value, response.context["total"].exact) == (15, True)
    assert "15 logs match" in response.content.decode()
    assert "19 logs match" in client.get("/logs/?time_range=24h").content.decode()
    assert "4 logs match" in client.get(
        "/logs/?time_range=24h&status_code=500&ai_model=gpt-4o").content.decode()


def test_the_preview_counts_exactly_past_the_cap_and_sizes_the_export(client, user, workspace,
                                                                      settings):
    settings.EXPORTS_MAX_LOGS_PER_EXPORT = 10
    make_logs(workspace, 25)
    client.force_login(user)
    query = "/exports/preview/?time_range=24h&status_code=200&requested_data=id&limit=10"
    response = client.get(f"{query}&offset=4")
    preview = response.context["preview"]
    assert (preview.matches, preview.matches_exact, preview.rows) == (25, True, 10)
    assert "more than" not in response.content.decode()
    exact = client.get(f"{query}&offset=20")
    assert (exact.context["preview"].matches, exact.context["preview"].rows) == (25, 5)
    by_hours = client.get("/exports/preview/?time_range=24h&requested_data=id&limit=10&offset=4")
    preview = by_hours.context["preview"]
    assert (preview.matches, preview.matches_exact, preview.rows) == (25, True, 10)
