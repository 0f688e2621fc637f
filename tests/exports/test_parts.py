"""exports.parts: an export's slice as keyset ranges that neither overlap nor leave a gap, on
PostgreSQL and SQLite, through the hourly counts and by stepping through the index."""

from __future__ import annotations

import math
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from exports.models import ExportJob, ExportPart
from exports.parts import PlanError, part_bounds, part_queryset, part_rows, plan_parts
from logs.filters import matching_logs, normalise_filters
from logs.keyset import seek_slice
from logs.models import Log
from logs.seeding import seed_logs

pytestmark = pytest.mark.django_db(transaction=True)

LOGS, PART = 1_050, 100


@pytest.fixture
def logs_workspace(workspace):
    now = timezone.now().replace(microsecond=0)
    seed_logs(workspace_id=workspace.id, count=LOGS - 30, now=now, days=3, seed=5)
    # Ties: 30 logs on one instant, ordered by id alone, which a boundary may fall among.
    tied_at = Log.objects.filter(workspace=workspace).order_by("created_at")[500].created_at
    Log.objects.bulk_create(
        Log(workspace=workspace, created_at=tied_at, ai_provider="openai", ai_model="gpt-4o",
            status_code=200) for _ in range(30))
    return workspace


def _ids(queryset) -> list[uuid.UUID]:
    return list(queryset.values_list("id", flat=True))


def _parts_ids(workspace, filters, ranges) -> list[list[uuid.UUID]]:
    return [_ids(part_queryset(workspace_id=workspace.id, filters=filters, after=part.after,
                               through=part.through)) for part in ranges]


FILTERS = {
    "everything (hourly counts)": {},
    "time range and providers (hourly counts)": {
        "ai_provider": ["openai", "anthropic"],
        "created_at": {"gte": (timezone.now() - timedelta(days=2, minutes=30)).isoformat()}},
    "tokens (index steps)": {"total_tokens": {"gte": 1}},
}


@pytest.mark.parametrize("raw", FILTERS.values(), ids=FILTERS.keys())
@pytest.mark.parametrize(("offset", "limit"), [(0, 10_000), (37, 1_000), (0, 300), (250, 75)])
def test_the_parts_are_the_slice_in_order(logs_workspace, raw, offset, limit):
    filters = normalise_filters(raw)
    expected = _ids(seek_slice(matching_logs(workspace_id=logs_workspace.id, filters=filters),
                               offset=offset, limit=limit))
    assert expected  # every case holds logs

    ranges = plan_parts(workspace_id=logs_workspace.id, filters=filters, offset=offset,
                        limit=limit, part_logs=PART)

    assert len(ranges) == math.ceil(len(expected) / PART)
    assert [part.rows for part in ranges[:-1]] == [PART] * (len(ranges) - 1)
    assert sum(part.rows for part in ranges) == len(expected)
    assert [part.offset for part in ranges] == [offset + PART * i for i in range(len(ranges))]
    assert (ranges[0].after is None) == (offset == 0)
    parts = _parts_ids(logs_workspace, filters, ranges)
    assert [len(ids) for ids in parts] == [part.rows for part in ranges]
    assert [log_id for ids in parts for log_id in ids] == expected


def test_a_log_written_meanwhile_shifts_no_part(logs_workspace):
    """After planning, logs arrive before the slice, in the middle of it and after it: every
    planned log is still written exactly once and in order; the one inside the slice's range is
    written once, by the part whose range holds it; the others are in no part."""
    filters: dict = {}
    offset, limit = 120, 700
    matching = matching_logs(workspace_id=logs_workspace.id, filters=filters)
    planned = _ids(seek_slice(matching, offset=offset, limit=limit))
    ranges = plan_parts(workspace_id=logs_workspace.id, filters=filters, offset=offset,
                        limit=limit, part_logs=PART)

    def log_at(moment):
        return Log.objects.create(workspace=logs_workspace, created_at=moment,
                                  ai_provider="openai", ai_model="gpt-4o", status_code=200)

    last = Log.objects.get(id=planned[-1])
    middle_part = ranges[3]
    inside = log_at(middle_part.through.created_at - timedelta(microseconds=1))
    before = log_at(ranges[0].after.created_at - timedelta(microseconds=1))
    after = log_at(last.created_at + timedelta(microseconds=1))
    # An offset-based slice would now start one log earlier: every part would shift.
    assert _ids(seek_slice(matching, offset=offset, limit=limit))[1] == planned[0]

    parts = _parts_ids(logs_workspace, filters, ranges)

    union = [log_id for ids in parts for log_id in ids]
    assert len(union) == len(set(union))  # no part overlaps another
    assert [log_id for log_id in union if log_id != inside.id] == planned  # no gap, in order
    assert inside.id in parts[3]
    assert before.id not in union and after.id not in union
    assert [len(ids) for ids in parts] == [
        part.rows + (part.index == 3) for part in ranges]


def test_planning_seeks_keys_and_never_reads_the_logs(logs_workspace):
    for filters in ({}, normalise_filters({"total_tokens": {"gte": 1}})):
        with CaptureQueriesContext(connection) as queries:
            ranges = plan_parts(workspace_id=logs_workspace.id, filters=filters, offset=10,
                                limit=LOGS, part_logs=PART)
        assert len(ranges) == math.ceil((LOGS - 10) / PART)
        selects = [query["sql"] for query in queries if query["sql"].startswith("SELECT")]
        assert selects and len(selects) <= len(ranges) + 5
        assert not any('"request"' in sql or '"response"' in sql for sql in selects)


def test_an_empty_slice_has_no_parts(logs_workspace):
    assert plan_parts(workspace_id=logs_workspace.id, filters={}, offset=LOGS, limit=10,
                      part_logs=PART) == []
    assert plan_parts(workspace_id=logs_workspace.id,
                      filters=normalise_filters({"total_tokens": {"gte": 1}}),
                      offset=LOGS + 5, limit=10, part_logs=PART) == []


def test_a_limit_past_the_maximum_is_refused_naming_it(logs_workspace, settings):
    settings.EXPORTS_MAX_LOGS_PER_EXPORT = 500
    with pytest.raises(PlanError, match=r"^limit: at most 500 logs"):
        plan_parts(workspace_id=logs_workspace.id, filters={}, offset=0, limit=501)


def test_planned_parts_are_stored_and_read_back(logs_workspace):
    export = ExportJob.objects.create(workspace=logs_workspace, limit=LOGS, requested_data=["id"])
    ranges = plan_parts(workspace_id=logs_workspace.id, filters={}, offset=0, limit=LOGS,
                        part_logs=PART)
    ExportPart.objects.bulk_create(part_rows(export, ranges))
    stored = list(export.parts.order_by("index"))
    assert [(part.index, part.row_limit) for part in stored] == [
        (part.index, part.rows) for part in ranges]
    assert [part_bounds(part) for part in stored] == [(part.after, part.through) for part in ranges]
