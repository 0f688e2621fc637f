"""bulk_insert_logs: COPY FROM on PostgreSQL, executemany elsewhere; both store exact values."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from logs.bulk import COLUMNS, bulk_insert_logs
from logs.models import Log
from tests.nasty import NASTY_PAYLOADS, NASTY_TEXT

pytestmark = pytest.mark.sqlite  # SQLite has code paths of its own here

AWKWARD_TEXT = [NASTY_TEXT[:95], "\\N", "tab\there", "line\nbreak\r\n", "back\\slash\\", "", "🚀"]


def _rows(workspace_id) -> list[dict]:
    start = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    rows = []
    for index, text in enumerate(AWKWARD_TEXT):
        payload = NASTY_PAYLOADS[index % len(NASTY_PAYLOADS)]
        rows.append({
            "id": uuid.uuid4(), "workspace_id": workspace_id, "trace_id": text,
            "created_at": start + timedelta(microseconds=index * 1001),
            "request": payload, "response": {"echo": text}, "ai_provider": text,
            "ai_model": "gpt-4o", "request_tokens": index, "response_tokens": 2 * index,
            "total_tokens": 3 * index, "cost": f"{index}.000123", "cost_currency": "USD",
            "response_time": 100 + index, "status_code": 200 + index,
            "config": None if index % 2 else text, "prompt_slug": text if index % 2 else None,
            "metadata": {"_user": text, "n": index}, "request_url": f"https://x.test/{text}",
            "mode": "single",
        })
    return rows


@pytest.mark.django_db
def test_bulk_insert_stores_awkward_text_and_payloads_exactly(workspace):
    rows = _rows(workspace.id)
    with transaction.atomic():
        assert bulk_insert_logs(rows, batch_size=3) == len(rows)
    stored = {log.id: log for log in Log.objects.filter(workspace=workspace)}
    assert len(stored) == len(rows)
    for row in rows:
        log = stored[row["id"]]
        for column in COLUMNS:
            if column == "workspace_id":
                continue
            expected = Decimal(row["cost"]) if column == "cost" else row[column]
            assert getattr(log, column) == expected, column
