"""The hourly counts (LogHourlyCount) stay exact through every way logs are written and deleted,
and counting / seeking through them gives what the plain query gives."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from accounts.models import Workspace
from exports import selectors
from logs.bulk import bulk_insert_logs
from logs.counting import export_slice_size
from logs.filters import matching_logs, normalise_filters
from logs.hourly_counts import TimeRange, time_range
from logs.ingestion import insert_custom_logs
from logs.keyset import seek_slice
from logs.models import Log, LogHourlyCount
from logs.retention import delete_logs_before
from tests.conftest import ROOT, _database_url

pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
HOURS = 8


def random_moment(rng: random.Random) -> datetime:
    # A third of the logs on a whole hour or on another log's second: the edges and the ties.
    if rng.random() < 0.15:
        return START + timedelta(hours=rng.randrange(HOURS))
    return START + timedelta(seconds=rng.randrange(HOURS * 3600 // 40) * 40,
                             microseconds=rng.choice([0, 0, rng.randrange(10**6)]))


# (provider, model): two providers share a model name, one model has no provider.
MODELS = [("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("azure-openai", "gpt-4o"),
          ("anthropic", "claude-3-haiku"), ("", "local-llama")]
STATUS_CODES = [200, 200, 200, 429, 500]
FACETS = ("ai_provider", "ai_model", "status_code")


def random_facets(rng: random.Random) -> dict:
    provider, model = rng.choice(MODELS)
    return {"ai_provider": provider, "ai_model": model, "status_code": rng.choice(STATUS_CODES)}


def bulk_row(workspace_id, at: datetime, facets: dict | None = None) -> dict:
    return {
        "id": uuid.uuid4(), "workspace_id": workspace_id, "trace_id": "", "created_at": at,
        "request": {}, "response": {}, "ai_provider": "openai", "ai_model": "gpt-4o",
        "request_tokens": 1, "response_tokens": 1, "total_tokens": 2, "cost": "0.1",
        "cost_currency": "USD", "response_time": 5, "status_code": 200, "config": None,
        "prompt_slug": None, "metadata": {}, "request_url": "", "mode": "single",
        **(facets or {}),
    }


def recounted() -> Counter:
    """The hourly counts recomputed from the logs themselves."""
    hours = Counter()
    for workspace_id, created_at, *facets in Log.objects.values_list(
            "workspace_id", "created_at", *FACETS):
        hours[(workspace_id, created_at.replace(minute=0, second=0, microsecond=0),
               *facets)] += 1
    return hours


def stored() -> Counter:
    rows = LogHourlyCount.objects.values_list("workspace_id", "hour", *FACETS, "count")
    return Counter({tuple(row[:-1]): row[-1] for row in rows if row[-1]})


def count_rows_written_by(write) -> int:
    """How many count rows `write` (which returns how many logs it wrote) writes, even to the
    same value: their new row versions (xmin) on PostgreSQL; on SQLite the rows written in all,
    triggers' included (total_changes()), less the logs."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            versions = "SELECT id, xmin::text FROM logs_loghourlycount"
            cursor.execute(versions)
            before = set(cursor.fetchall())
            write()
            cursor.execute(versions)
            return len(set(cursor.fetchall()) - before)
        cursor.execute("SELECT total_changes()")
        (before,) = cursor.fetchone()
        logs_written = write()
        cursor.execute("SELECT total_changes()")
        return cursor.fetchone()[0] - before - logs_written


def write_logs_every_way(rng: random.Random, workspace, other_workspace) -> None:
    Log.objects.bulk_create([  # the ORM
        Log(workspace=rng.choice([workspace, other_workspace]), created_at=random_moment(rng),
            **random_facets(rng))
        for _ in range(150)
    ])
    with transaction.atomic():  # COPY FROM STDIN on PostgreSQL, executemany on SQLite
        bulk_insert_logs([bulk_row(workspace.id, random_moment(rng), random_facets(rng))
                          for _ in range(150)])
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
    assert stored() == recounted()
    # An UPDATE that changes a log's model, provider or status code moves it between rows,
    # whether or not its hour changes too.
    some = list(Log.objects.filter(workspace=workspace).order_by("created_at", "id")
                .values_list("id", flat=True)[:60])
    Log.objects.filter(id__in=some[:20]).update(ai_model="gpt-4.1", ai_provider="openai")
    Log.objects.filter(id__in=some[10:30]).update(status_code=503)
    Log.objects.filter(id__in=some[25:40]).update(status_code=418, ai_model="claude-3-haiku",
                                                  created_at=START + timedelta(hours=5))
    log = Log.objects.get(id=some[45])
    log.ai_provider, log.status_code = "google", 400
    log.save()
    assert stored() == recounted()
    # One that leaves every log's hour and facets as they were writes no count row.
    def write_in_place() -> int:
        written = Log.objects.filter(id__in=some).update(metadata={"touched": "yes"})
        written += Log.objects.filter(id__in=some[:5]).update(status_code=F("status_code"))
        Log.objects.get(id=some[50]).save()  # save() sets every column, to the same values
        return written + 1

    assert count_rows_written_by(write_in_place) == 0
    # (The probe sees a write: a new status code takes one off a row and adds one to another.)
    assert count_rows_written_by(
        lambda: Log.objects.filter(id=some[0]).update(status_code=502)) == 2
    assert stored() == recounted()
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


def random_facet_filters(rng: random.Random) -> dict:
    """Some of the facets, each one or two values (some that no log has), as a user writes
    them: a list, or a comma-separated string."""
    choices = {"ai_provider": ["openai", "azure-openai", "anthropic", "google"],
               "ai_model": ["gpt-4o", "gpt-4o-mini", "claude-3-haiku", "local-llama", "gpt-5"],
               "status_code": [200, 429, 500, 404]}
    filters = {}
    for name, values in choices.items():
        if rng.random() < 0.5:
            picked = rng.sample(values, rng.randint(1, 2))
            filters[name] = picked if rng.random() < 0.5 else ",".join(map(str, picked))
    return filters


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counts_and_positions_by_hours_equal_the_plain_query(workspace, other_workspace, seed):
    rng = random.Random(seed)
    write_logs_every_way(rng, workspace, other_workspace)
    delete_logs_before(cutoff=START + timedelta(hours=1, minutes=rng.randrange(60)), batch=25)
    moments = list(Log.objects.filter(workspace=workspace).values_list("created_at", flat=True))
    bounds = [None, START - timedelta(hours=1), START + timedelta(hours=2),
              START + timedelta(hours=HOURS + 1)]
    for _ in range(40):
        gte, lte = sorted((rng.choice(bounds + moments), rng.choice(bounds + moments)),
                          key=lambda moment: moment or START)
        if rng.random() < 0.2 and gte is not None:
            lte = gte  # a range of one instant
        filters = normalise_filters({
            "created_at": {"gte": gte and gte.isoformat(), "lte": lte and lte.isoformat()},
            **(random_facet_filters(rng) if rng.random() < 0.7 else {}),
        })
        hourly = time_range(workspace_id=workspace.id, filters=filters)
        plain = matching_logs(workspace_id=workspace.id, filters=filters)
        total = plain.count()
        assert hourly.count() == total, filters
        for offset in {0, rng.randrange(total + 1), rng.randrange(total + 1), max(total - 1, 0),
                       total, total + 3}:
            assert hourly.position(offset) == plain_position(plain, offset), (filters, offset)
            assert export_slice_size(plain, limit=7, offset=offset, hourly=hourly) == max(
                0, min(7, total - offset))
            assert list(seek_slice(plain, offset=offset, limit=4, hourly=hourly)) == list(
                plain[offset : offset + 4]), (filters, offset)


def test_only_a_time_filter_is_counted_by_hours_and_the_slice_is_the_same(workspace):
    Log.objects.bulk_create([Log(workspace=workspace, created_at=START + timedelta(minutes=7 * i))
                             for i in range(60)])
    filters = normalise_filters({"created_at": {"gte": "2024-03-01T09:30:00Z"}})
    hourly = time_range(workspace_id=workspace.id, filters=filters)
    assert hourly == TimeRange(workspace_id=workspace.id, gte=START + timedelta(minutes=30),
                               lte=None)
    assert time_range(workspace_id=workspace.id,
                      filters={**filters, "trace_id": ["t-1"]}) is None
    logs = matching_logs(workspace_id=workspace.id, filters=filters)
    assert list(seek_slice(logs, offset=20, limit=9, hourly=hourly)) == list(logs[20:29])
    # An export's count takes this path: the hourly counts, no count of offset + limit rows.
    with CaptureQueriesContext(connection) as queries:
        assert selectors.count_export_rows(workspace_id=workspace.id, filters=filters, limit=5,
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


def test_a_time_range_with_model_provider_or_status_filters_is_counted_by_hours(workspace):
    # Each shape either dialect normalises to: one name, a comma list, a list, codes as text.
    for raw in ({"ai_model": "gpt-4o"}, {"ai_provider": "openai, anthropic"},
                {"status_code": [429, "500"]}, {"created_at": {"gte": "2024-03-01T09:30:00Z"},
                                                "ai_model": ["gpt-4o", "gpt-4o-mini"]},
                {"time_of_generation_min": "2024-03-01T09:30:00+02:00", "ai_provider": "openai",
                 "ai_model": "gpt-4o", "status_code": "200,429"}):
        filters = normalise_filters(raw)
        hourly = time_range(workspace_id=workspace.id, filters=filters)
        assert hourly is not None, raw
        assert (hourly.ai_provider, hourly.ai_model, hourly.status_code) == tuple(
            None if filters.get(name) is None else tuple(filters[name])
            for name in ("ai_provider", "ai_model", "status_code")), raw
    # Filters the hourly rows do not know keep the bounded count.
    for raw in ({"trace_id": "t-1"}, {"metadata": {"user": "ada"}}, {"cost": {"gte": 1}},
                {"ai_org_model": "openai__gpt-4o"}, {"workspace_slug": "main"},
                {"configs": "pc-1", "ai_model": "gpt-4o"}):
        assert time_range(workspace_id=workspace.id, filters=normalise_filters(raw)) is None, raw
    # Anything `__in` would not read as exactly these values (not the normal form) is refused.
    for filters in ({"ai_model": "gpt-4o"}, {"status_code": [True]}, {"status_code": ["200"]},
                    {"ai_provider": [None]}, {"status_code": 200}):
        assert time_range(workspace_id=workspace.id, filters=filters) is None, filters


def test_the_migration_counts_the_existing_logs_by_facets_and_back(workspace, other_workspace):
    write_logs_every_way(random.Random(5), workspace, other_workspace)
    by_hour = Counter()
    for (workspace_id, hour, *_), count in recounted().items():
        by_hour[(workspace_id, hour)] += count

    def stored_by_hour() -> Counter:
        with connection.cursor() as cursor:
            cursor.execute("SELECT workspace_id, hour, count FROM logs_loghourlycount")
            rows = cursor.fetchall()
        field = LogHourlyCount._meta.get_field("hour")
        converted = Counter()
        for workspace_id, hour, count in rows:  # SQLite answers text
            hour = field.to_python(hour) if isinstance(hour, str) else hour
            converted[(uuid.UUID(str(workspace_id)), hour.replace(tzinfo=UTC))] += count
        return +converted

    executor = MigrationExecutor(connection)
    executor.migrate([("logs", "0004_hourly_counts")])
    try:
        assert stored_by_hour() == by_hour  # 0005 backwards: 0004's rows, rebuilt
        # 0004's triggers count again meanwhile.
        bulk_insert_logs([bulk_row(workspace.id, START, random_facets(random.Random(6)))])
        by_hour[(workspace.id, START)] += 1
        assert stored_by_hour() == by_hour
    finally:
        executor.loader.build_graph()
        executor.migrate([("logs", "0005_hourly_counts_by_facets")])
    assert stored() == recounted()
    Log.objects.filter(workspace=workspace).update(status_code=418)  # and the new triggers run
    assert stored() == recounted()


def test_a_deleted_workspace_takes_its_counts_along(workspace, other_workspace):
    write_logs_every_way(random.Random(8), workspace, other_workspace)
    other_workspace.delete()  # its logs and its count rows, in the order Django picks
    assert stored() == recounted()
    # The other order: the count rows first, then the logs, whose removal must not bring a
    # (negative) count row back: it would hold the workspace's foreign key when it goes.
    with transaction.atomic():
        LogHourlyCount.objects.filter(workspace=workspace).delete()
        Log.objects.filter(workspace=workspace).delete()
        assert not LogHourlyCount.objects.exists()
        Workspace.objects.filter(id=workspace.id).delete()
    assert not LogHourlyCount.objects.exists() and not Log.objects.exists()


# Each writer, in rounds: a bulk insert of logs on a few shared hours (one COPY / executemany),
# a single-log insert (POST /v1/logs), an update of its own logs' facets and hours, a delete.
WRITER = """
import os, random, time
from datetime import timedelta
from pathlib import Path
from django.db import transaction
from accounts.models import Workspace
from logs.bulk import bulk_insert_logs
from logs.ingestion import insert_custom_logs
from logs.models import Log
from tests.logs.test_hourly_counts import START, bulk_row, random_facets

rng = random.Random(int(os.environ["WRITER_SEED"]))
workspaces = list(Workspace.objects.order_by("slug").values_list("id", flat=True))
folder = Path(os.environ["WRITER_DIR"])
(folder / f"ready-{os.getpid()}").touch()
while not (folder / "go").exists():
    time.sleep(0.01)
mine = []
custom = {"request": {"url": "https://api.openai.com/v1/chat/completions",
                      "body": {"model": "gpt-4o"}}, "response": {"status": 429, "body": {}}}
for round in range(int(os.environ["WRITER_ROUNDS"])):
    rows = [bulk_row(rng.choice(workspaces), START + timedelta(minutes=rng.randrange(180)),
                     random_facets(rng)) for _ in range(rng.randint(1, 30))]
    with transaction.atomic():
        bulk_insert_logs(rows)
    mine += [row["id"] for row in rows]
    insert_custom_logs(custom, workspace=Workspace.objects.get(id=rng.choice(workspaces)))
    moved = rng.sample(mine, min(len(mine), 8))
    moment = START + timedelta(minutes=rng.randrange(180))
    Log.objects.filter(id__in=moved).update(status_code=rng.choice([200, 500]), created_at=moment)
    gone = rng.sample(mine, min(len(mine), 3))
    Log.objects.filter(id__in=gone).delete()
    mine = [log for log in mine if log not in gone]
print("rounds done")
"""


def test_the_counts_stay_exact_while_processes_write_at_once(workspace, other_workspace,
                                                             tmp_path):
    env = {**os.environ, "DATABASE_URL": _database_url(), "WRITER_DIR": str(tmp_path),
           "WRITER_ROUNDS": "25"}
    writers = [
        subprocess.Popen(  # noqa: S603 - fixed arguments
            [sys.executable, str(ROOT / "manage.py"), "shell", "-c", WRITER], cwd=ROOT,
            env={**env, "WRITER_SEED": str(seed)}, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        for seed in range(3)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < len(writers) and time.monotonic() < deadline:
        time.sleep(0.05)
    (tmp_path / "go").touch()  # all at once, once Django has started in each
    for writer in writers:
        output, _ = writer.communicate(timeout=180)
        assert writer.returncode == 0 and "rounds done" in output, output
    assert Log.objects.count() > 3 * 25 * 10
    assert stored() == recounted()
