"""The README's SDK example (docs/examples/sdk_export.py) runs as written: a live server with
demo-like logs (30 days up to now, as `make run` seeds them), a real RQ worker on a real Redis,
the script in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from exports.models import ExportJob
from logs.seeding import seed_logs
from tests.api.conftest import issue_key

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "sdk_export.py"


def test_the_sdk_example_runs_to_a_final_status_and_saves_the_file(
    live_server, workspace, rq_workers, tmp_path
):
    now = timezone.now()
    seed_logs(workspace_id=workspace.id, count=1500, now=now, days=30, seed=5)
    _, raw = issue_key(workspace, scopes=["logs.export"])
    rq_workers.start(burst=False)
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, env={**os.environ, "LOG_EXPORTS_API_KEY": raw,
                          "LOG_EXPORTS_URL": f"{live_server.url}/v1"},
    )
    assert done.returncode == 0, done.stderr
    job = ExportJob.objects.get()
    # The last 7 days, counted here a moment before the script asked for them.
    expected = workspace.logs.filter(created_at__gte=now - timedelta(days=7)).count()
    assert job.total_records > 0 and abs(job.total_records - expected) <= 2
    lines = done.stdout.splitlines()
    assert lines[0] == f"export {job.id}: {job.total_records} logs"
    assert lines[1] == f"export {job.id}: success"
    saved = tmp_path / f"export-{job.id}.jsonl"
    assert lines[2] == f"saved {job.total_records} logs to {saved.name}"
    assert len(saved.read_text().splitlines()) == job.total_records
