"""The hourly counts (LogHourlyCount) stay exact through every way logs are written and deleted,
and counting / seeking through them gives what the plain query gives."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from exports import services
from logs.bulk import bulk_insert_logs
from logs.counting import export_slice_size
from logs.filters import matching_logs, normalise_filters
from logs.hourly_counts import TimeRange, time_range
from logs.ingestion import insert_custom_logs
from logs.keyset import seek_slice
from logs.models import Log, LogHourlyCount
from logs.retention import delete_logs_before

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
HOURS = 8


def random_moment(rng: random.Random) -> datetime:
    # A third of the logs on a whole hour or on another log's second: the edges and the ties.
    if rng.random() < 0.15:
        return START + timedelta(hours=rng.randrange(HOURS))
    return START + timedelta(seconds=rng.randrange(HOURS * 3600 // 40) * 40,
                             microseconds=rng.choice([0, 0, rng.randrange(10**6)]))


def bulk_row(workspace_id, at: datetime) -> dict:
    return {
        "id": uuid.uuid4(), "workspace_id": workspace_id, "trace_id": "", "created_at": at,
        "request": {}, "response": {}, "ai_provider": "openai", "ai_model": "gpt-4o",
        "request_tokens": 1, "response_tokens": 1, "total_tokens": 2, "cost": "0.1",
        "cost_currency": "USD", "response_time": 5, "status_code": 200, "config": None,
        "prompt_slug": None, "metadata": {}, "request_url": "", "mode": "single",
    }


def recounted() -> Counter:
    """The hourly counts recomputed from the logs themselves."""
    hours = Counter()
    for workspace_id, created_at in Log.objects.values_list("workspace_id", "created_at"):
        hours[(workspace_id, created_at.replace(minute=0, second=0, microsecond=0))] += 1
    return hours


def stored() -> Counter:
    return Counter({(workspace_id, hour): count for workspace_id, hour, count in
                    LogHourlyCount.objects.values_list("workspace_id", "hour", "count")
                    if count})


def write_logs_every_way(rng: random.Random, workspace, other_workspace) -> None:
    Log.objects.bulk_create([  # the ORM
        Log(workspace=rng.choice([workspace, other_workspace]), created_at=random_moment(rng))
        for _ in range(150)
    ])
    with transaction.atomic():  # COPY FROM STDIN on PostgreSQL, executemany on SQLite
        bulk_insert_logs([bulk_row(workspace.id, random_moment(rng)) for _ in range(150)])
    custom_log = {"request": {"url": "https://api.openai.com/v1/chat/completions",
                              "body": {"model": "gpt-4o"}}, "response": {"status": 200, "body": {}}}
    insert_custom_logs([custom_log] * 3, workspace=workspace)  # what POST /v1/logs runs


def test_the_hourly_counts_follow_inserts_updates_and_deletions(workspace, other_workspace):
    rng = random.Random(12)
    write_logs_every_way(rng, workspace, other_workspace)
    assert stored() == recounted()
    moved = Log.objects.filter(workspace=workspace).order_by("id")[:5]
    Log.objects.filter(id__in=list(moved.values_list("id", flat=True))).update(
        created_at=START - timedelta(days=3))
    gone = Log.objects.filter(workspace=other_workspace).order_by("id")[:7]
    Log.objects.filter(id__in=list(gone.values_list("id", flat=True))).delete()
    assert stored() == recounted()
    cutoff = START + timedelta(hours=3, minutes=17)
    assert delete_logs_before(cutoff=cutoff, batch=40) > 0
    assert stored() == recounted()
    assert not LogHourlyCount.objects.filter(hour__lt=START + timedelta(hours=3)).exists()
    with transaction.atomic():  # a rolled-back insert leaves the counts as they were
        bulk_insert_logs([bulk_row(workspace.id, START) for _ in range(4)])
        transaction.set_rollback(True)
    assert stored() == recounted()
    if connection.vendor == "postgresql":  # SQLite has no TRUNCATE
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE logs_log")
        assert not LogHourlyCount.objects.exists()


def plain_position(logs, offset: int):
    return next(iter(logs.order_by("created_at", "id").values_list("created_at", "id")
                     [offset : offset + 1]), None)


@pytest.mark.parametrize("seed", [1, 2])
def test_counts_and_positions_by_hours_equal_the_plain_query(workspace, other_workspace, seed):
    rng = random.Random(seed)
    write_logs_every_way(rng, workspace, other_workspace)
    delete_logs_before(cutoff=START + timedelta(hours=1, minutes=rng.randrange(60)), batch=25)
    moments = list(Log.objects.filter(workspace=workspace).values_list("created_at", flat=True))
    bounds = [None, START - timedelta(hours=1), START + timedelta(hours=2),
              START + timedelta(hours=HOURS + 1)]
    for _ in range(30):
        gte, lte = sorted((rng.choice(bounds + moments), rng.choice(bounds + moments)),
                          key=lambda moment: moment or START)
        if rng.random() < 0.2 and gte is not None:
            lte = gte  # a range of one instant
        hourly = TimeRange(workspace_id=workspace.id, gte=gte, lte=lte)
        plain = Log.objects.filter(workspace=workspace)
        plain = plain if gte is None else plain.filter(created_at__gte=gte)
        plain = plain if lte is None else plain.filter(created_at__lte=lte)
        total = plain.count()
        assert hourly.count() == total, (gte, lte)
        for offset in {0, rng.randrange(total + 1), max(total - 1, 0), total, total + 3}:
            assert hourly.position(offset) == plain_position(plain, offset), (gte, lte, offset)
            assert export_slice_size(plain, limit=7, offset=offset, hourly=hourly) == max(
                0, min(7, total - offset))


def test_only_a_time_filter_is_counted_by_hours_and_the_slice_is_the_same(workspace):
    Log.objects.bulk_create([Log(workspace=workspace, created_at=START + timedelta(minutes=7 * i))
                             for i in range(60)])
    filters = normalise_filters({"created_at": {"gte": "2024-03-01T09:30:00Z"}})
    hourly = time_range(workspace_id=workspace.id, filters=filters)
    assert hourly == TimeRange(workspace_id=workspace.id, gte=START + timedelta(minutes=30),
                               lte=None)
    assert time_range(workspace_id=workspace.id,
                      filters={**filters, "ai_model": ["gpt-4o"]}) is None
    logs = matching_logs(workspace_id=workspace.id, filters=filters)
    assert list(seek_slice(logs, offset=20, limit=9, hourly=hourly)) == list(logs[20:29])
    # An export's count takes this path: the hourly counts, no count of offset + limit rows.
    with CaptureQueriesContext(connection) as queries:
        assert services.count_export_rows(workspace_id=workspace.id, filters=filters, limit=5,
                                          offset=40) == 5
    sqls = " ".join(query["sql"] for query in queries)
    assert "logs_loghourlycount" in sqls and "LIMIT 45" not in sqls
    # Bounds with another UTC offset (+05:30 puts the hour's edge at :30 UTC) count the same.
    india = timezone(timedelta(hours=5, minutes=30))
    shifted = TimeRange(workspace_id=workspace.id,
                        gte=(START + timedelta(minutes=100)).astimezone(india),
                        lte=(START + timedelta(hours=5, minutes=10)).astimezone(india))
    plain = Log.objects.filter(workspace=workspace, created_at__gte=shifted.gte,
                               created_at__lte=shifted.lte)
    assert shifted.count() == plain.count() == 30
    assert shifted.position(11) == plain_position(plain, 11)
