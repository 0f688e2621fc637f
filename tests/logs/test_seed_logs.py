from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from logs.bulk import COLUMNS, bulk_insert_logs, copy_log_lines, secondary_indexes_set_aside
from logs.canonical_json import canonical_json
from logs.models import Log, LogHourlyCount
from logs.seeding import generate_copy_lines, generate_logs, seed_logs

pytestmark = pytest.mark.sqlite  # SQLite has code paths of its own here


def test_seed_logs_writes_realistic_logs(workspace, capsys):
    call_command("seed_logs", count=2000, workspace="main", days=7, seed=1)
    assert "wrote 2000 logs to workspace main" in capsys.readouterr().out
    logs = Log.objects.filter(workspace=workspace)
    assert logs.count() == 2000
    assert logs.values("ai_provider").distinct().count() >= 4
    assert logs.values("ai_model").distinct().count() >= 6
    assert logs.filter(status_code=200).count() > 1700
    assert logs.exclude(status_code=200).count() > 40
    assert not logs.exclude(total_tokens=F("request_tokens") + F("response_tokens")).exists()
    assert logs.filter(cost__gt=0).count() > 1900
    oldest, newest = logs.order_by("created_at").first(), logs.order_by("created_at").last()
    assert timezone.now() - timedelta(days=7, minutes=1) < oldest.created_at
    assert newest.created_at <= timezone.now()
    # A few logs share each trace.
    assert logs.values("trace_id").distinct().count() == pytest.approx(2000 / 3, abs=2)
    contents = " ".join(
        json.dumps(log.request, ensure_ascii=False) for log in logs[:400]
    )
    for needle in ("🚀", "\\\\", '\\"', "\\n", "漢" if "漢" in contents else "量"):
        assert needle in contents
    sample = logs.first()
    assert sample.metadata.keys() == {"_user", "environment", "session"}
    assert sample.response["status"] == sample.status_code


def test_seeded_payload_text_is_canonical(workspace):
    call_command("seed_logs", count=300, workspace="main", days=1, seed=2)
    with connection.cursor() as cursor:
        cursor.execute("SELECT request, response, metadata FROM logs_log")
        for row in cursor.fetchall():
            for text in row:
                value = json.loads(text) if isinstance(text, str) else text
                if connection.vendor == "sqlite":
                    assert canonical_json(value) == text


def test_seed_logs_refuses_an_unknown_workspace(db):
    with pytest.raises(CommandError, match="no workspace with slug 'nowhere'"):
        call_command("seed_logs", count=10, workspace="nowhere")


POSTGRESQL_ONLY = pytest.mark.skipif(connection.vendor != "postgresql",
                                     reason="COPY and the index set-aside are PostgreSQL's")
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _stored(workspace) -> list[tuple]:
    columns = [column for column in COLUMNS if column != "workspace_id"]
    return list(Log.objects.filter(workspace=workspace).order_by("id").values_list(*columns))


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_the_copy_lines_store_the_same_logs_as_the_rows(workspace, other_workspace):
    """seed_logs on PostgreSQL writes generate_copy_lines; it must be generate_logs' data."""
    with transaction.atomic():
        copy_log_lines(generate_copy_lines(workspace_id=workspace.id, count=3000, now=NOW,
                                           days=2, seed=4))
    fast = _stored(workspace)
    Log.objects.filter(workspace=workspace).delete()  # the same seed draws the same ids
    with transaction.atomic():
        bulk_insert_logs(generate_logs(workspace_id=other_workspace.id, count=3000, now=NOW,
                                       days=2, seed=4))
    rows = _stored(other_workspace)
    assert len(fast) == 3000
    assert fast == rows
    # Every payload shape, the NULLs and the awkward characters went through.
    assert {row[COLUMNS.index("status_code") - 1] for row in fast} >= {200, 429, 500, 400, 401}
    assert any(row[COLUMNS.index("config") - 1] is None for row in fast)
    assert any("\\" in json.dumps(row[COLUMNS.index("response") - 1]) for row in fast)


def _schema() -> tuple[set, set]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'logs_log'")
        indexes = set(cursor.fetchall())
        cursor.execute("SELECT conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
                       "WHERE conrelid = 'logs_log'::regclass")
        constraints = set(cursor.fetchall())
    return indexes, constraints


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_seed_logs_bulk_builds_the_same_indexes_and_keys_again(workspace, capsys):
    before = _schema()
    assert len(before[0]) >= 8  # the primary key, six b-trees, the metadata GIN
    call_command("seed_logs", count=5000, workspace="main", days=3, seed=1, bulk=True)
    assert "wrote 5000 logs" in capsys.readouterr().out
    assert _schema() == before  # every index and the validated foreign key are back
    assert Log.objects.filter(workspace=workspace).count() == 5000
    assert LogHourlyCount.objects.filter(workspace=workspace).aggregate(
        total=Sum("count"))["total"] == 5000


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_a_failed_bulk_load_leaves_the_table_as_it_was(workspace):
    before = _schema()
    with (pytest.raises(RuntimeError, match="generator broke"), transaction.atomic(),
          secondary_indexes_set_aside()):
        assert len(_schema()[0]) == 1  # only the primary key while loading
        seed_logs(workspace_id=workspace.id, count=100, now=NOW, days=1, seed=1)
        raise RuntimeError("generator broke")
    assert _schema() == before
    assert not Log.objects.filter(workspace=workspace).exists()


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_the_index_set_aside_refuses_to_run_outside_a_transaction(db):
    before = _schema()
    with pytest.raises(RuntimeError, match="needs a transaction"), secondary_indexes_set_aside():
        pass
    assert _schema() == before
