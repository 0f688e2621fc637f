from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F
from django.utils import timezone

from logs.canonical_json import canonical_json
from logs.models import Log


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
    from django.db import connection

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
