"""The writer's bytes: exact fields, order, escaping and numbers, on both paths."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from exports.fields import ALL_FIELD_NAMES
from exports.writer import write_export
from logs.filters import matching_logs, normalise_filters
from logs.hourly_counts import time_range
from logs.models import Log
from logs.seeding import seed_logs
from tests.nasty import create_nasty_logs

# Committed data: PostgreSQL's fast path streams on a connection of its own.
pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]


class MemorySink:
    def __init__(self):
        self.buffer = io.BytesIO()

    def write(self, data: bytes) -> None:
        self.buffer.write(data)

    @property
    def data(self) -> bytes:
        return self.buffer.getvalue()


def export_bytes(workspace, *, fields=ALL_FIELD_NAMES, limit=1000, offset=0, fast_path=None,
                 file_format="jsonl", filters=None) -> bytes:
    sink = MemorySink()
    checkpoints: list[int] = []
    result = write_export(
        workspace_id=workspace.id, filters=filters or {}, field_names=list(fields), limit=limit,
        offset=offset, file_format=file_format, sink=sink, checkpoint=checkpoints.append,
        fast_path=fast_path,
    )
    assert checkpoints[-1] == result.rows if result.rows else checkpoints == []
    return sink.data


def expected_value(log: Log, name: str):
    if name == "id":
        return str(log.id)
    if name == "created_at":
        return log.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if name == "cost":
        return log.cost
    if name == "is_success":
        return 200 <= log.status_code < 300
    return getattr(log, name)


def test_every_line_holds_exactly_the_fields_and_values_of_its_log(workspace):
    logs = create_nasty_logs(workspace)
    data = export_bytes(workspace)
    assert data.endswith(b"\n")
    lines = data.decode("utf-8").split("\n")[:-1]
    ordered = sorted(logs, key=lambda log: (log.created_at, log.id.hex))
    assert len(lines) == len(ordered)
    for line, log in zip(lines, ordered, strict=True):
        record = json.loads(line, parse_float=Decimal)
        assert list(record) == list(ALL_FIELD_NAMES)
        log.refresh_from_db()
        for name in ALL_FIELD_NAMES:
            value = record[name]
            if name in ("request", "response", "metadata"):
                assert json.loads(json.dumps(value, default=float)) == getattr(log, name)
            else:
                assert value == expected_value(log, name), name


def test_requested_fields_only_in_catalogue_order_and_numbers_stay_numbers(workspace):
    create_nasty_logs(workspace)
    data = export_bytes(workspace, fields=["id", "total_tokens", "cost", "status_code"])
    first = data.split(b"\n")[0].decode()
    assert first.startswith('{"id": "')
    assert '"total_tokens": 15, "cost": 0, "status_code": 200}' in first
    records = [json.loads(line) for line in data.splitlines()]
    assert all(list(r) == ["id", "total_tokens", "cost", "status_code"] for r in records)
    assert [r["cost"] for r in records[:5]] == [0, 0.000001, 12.5, 1000, 0.123456]


def test_a_payload_is_copied_through_in_jsonb_normal_form(workspace):
    create_nasty_logs(workspace)
    line = export_bytes(workspace, fields=["request"]).split(b"\n")[1].decode()
    # Keys by length then bytes, ", " and ": ", control characters escaped, UTF-8 kept.
    assert line == ('{"request": {"text": "\\\\\\\\server\\\\share\\\\file.txt", '
                    '"q\\"uote": "\\u0001", "tab\\tkey": "new\\nline"}}')


def test_limit_and_offset_pages_join_without_gap_or_overlap(seeded):
    everything = export_bytes(seeded, fields=["id", "created_at"], limit=300).splitlines()
    pages = [export_bytes(seeded, fields=["id", "created_at"], limit=70, offset=offset)
             for offset in range(0, 300, 70)]
    assert b"".join(pages).splitlines() == everything
    assert [len(page.splitlines()) for page in pages] == [70, 70, 70, 70, 20]
    ids = [json.loads(line)["id"] for line in everything]
    assert ids == [str(i) for i in Log.objects.order_by("created_at", "id")
                   .values_list("id", flat=True)]


def test_gzip_output_decompresses_to_the_same_lines(seeded):
    plain = export_bytes(seeded)
    packed = export_bytes(seeded, file_format="jsonl.gz")
    assert packed[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed) == plain


def test_an_empty_selection_gives_an_empty_file(seeded):
    filters = {"created_at": {"gte": "2001-01-01T00:00:00Z", "lte": "2001-01-02T00:00:00Z"}}
    assert export_bytes(seeded, filters=filters) == b""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the fast path is PostgreSQL's")
def test_fast_and_portable_paths_give_identical_bytes(seeded):
    create_nasty_logs(seeded, start=datetime(2030, 1, 1, tzinfo=UTC))
    for fields in (ALL_FIELD_NAMES, ["metadata", "id"], ["cost", "is_success"]):
        fast = export_bytes(seeded, fields=fields, fast_path=True)
        portable = export_bytes(seeded, fields=fields, fast_path=False)
        assert len(fast.splitlines()) == 307
        assert fast == portable
    assert export_bytes(seeded, fast_path=True, limit=50, offset=250) == \
        export_bytes(seeded, fast_path=False, limit=50, offset=250)



@pytest.mark.parametrize("fast_path", [
    pytest.param(True, marks=pytest.mark.skipif(connection.vendor != "postgresql",
                                                reason="the fast path is PostgreSQL's")),
    False,
])
def test_a_model_and_status_filter_at_any_offset_gives_the_rows_of_the_plain_offset(
        workspace, fast_path):
    now = timezone.now()
    seed_logs(workspace_id=workspace.id, count=2_000, now=now, days=1, seed=4)
    filters = normalise_filters({"created_at": {"gte": (now - timedelta(hours=20, minutes=33))
                                                .isoformat()},
                                 "ai_model": ["gpt-4o-mini"], "status_code": [200, 429]})
    assert time_range(workspace_id=workspace.id, filters=filters) is not None
    ids = [str(log_id) for log_id in matching_logs(workspace_id=workspace.id, filters=filters)
           .values_list("id", flat=True)]
    for offset in (1, 17, len(ids) // 3, len(ids) - 5, len(ids), len(ids) + 4):
        data = export_bytes(workspace, fields=["id"], limit=40, offset=offset, filters=filters,
                            fast_path=fast_path)
        assert [json.loads(line)["id"] for line in data.splitlines()] == ids[offset:][:40]
