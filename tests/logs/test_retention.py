"""prune_logs: logs past the retention leave in batches; newer logs stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from logs.models import Log
from logs.retention import delete_logs_before

pytestmark = pytest.mark.sqlite  # SQLite has code paths of its own here


def make_logs(workspace, *, days_ago: list[float]):
    now = timezone.now()
    Log.objects.bulk_create([Log(workspace=workspace, created_at=now - timedelta(days=days))
                             for days in days_ago])


def test_old_logs_of_every_workspace_leave_in_batches(workspace, other_workspace):
    make_logs(workspace, days_ago=[0.5, 1, 9, 31, 40, 41, 42, 90])
    make_logs(other_workspace, days_ago=[2, 35])
    deleted = delete_logs_before(cutoff=timezone.now() - timedelta(days=30), batch=2)
    assert deleted == 6
    remaining = sorted((timezone.now() - log.created_at).days for log in Log.objects.all())
    assert remaining == [0, 1, 2, 9]


def test_the_command_keeps_everything_unless_told(workspace, settings, capsys):
    make_logs(workspace, days_ago=[1, 400])
    settings.LOGS_RETENTION_DAYS = 0
    call_command("prune_logs")
    assert Log.objects.count() == 2 and "retention is off" in capsys.readouterr().out
    settings.LOGS_RETENTION_DAYS = 365
    call_command("prune_logs")
    assert Log.objects.count() == 1 and "deleted 1 log(s) older than 365 days" in \
        capsys.readouterr().out
