"""SQLite, the embedded default: a running export lives through writes made meanwhile by other
processes (new logs, new drafts, logins, API keys marked used), as on any busy `make run`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import ApiKey
from exports import services
from exports.models import ExportJob
from logs.models import Log
from logs.seeding import seed_logs
from tests.conftest import ROOT, _database_url

pytestmark = [
    pytest.mark.sqlite,
    # Writes must land while the export runs: other tests' load beside it skews the two speeds.
    pytest.mark.serial,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's locking only"),
]

WRITES_PER_PROCESS = 25
# Each round: a log through the ingestion service, a draft through the export service, a login
# (session row + last_login) and an API key marked used, as the key authentication does.
WRITER = """
import os, time
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from accounts.models import ApiKey, Workspace
from exports import services
from exports.models import ExportJob
from logs.ingestion import insert_custom_logs

workspace = Workspace.objects.get(id=os.environ["WRITER_WORKSPACE"])
user = get_user_model().objects.get(username="ada")
key_id = os.environ["WRITER_KEY"]
log = {"request": {"url": "https://api.openai.com/v1/chat/completions", "body": {"n": 1}},
       "response": {"status": 200, "body": {"ok": True}}}
# Ready before the export starts (Django takes a while to start); go once it is writing.
export = ExportJob.objects.filter(id=os.environ["WRITER_EXPORT"])
while not export.filter(rows_written__gt=0).exists():
    time.sleep(0.02)
done = 0
for round in range(int(os.environ["WRITER_ROUNDS"])):
    kind = round % 4
    if kind == 0:
        insert_custom_logs(log, workspace=workspace)
    elif kind == 1:
        services.export_job_create(workspace=workspace, filters={}, requested_data=["id"],
                                   limit=10, description="written meanwhile")
    elif kind == 2:
        Client().force_login(user)
    else:
        ApiKey.objects.filter(id=key_id).update(last_used_at=timezone.now())
    done += 1
    print("write at", timezone.now().isoformat(), flush=True)
    time.sleep(0.05)
print(f"writes done: {done}")
"""


def test_an_export_ends_success_while_other_processes_write(workspace, user, rq_workers):
    seed_logs(workspace_id=workspace.id, count=15_000, now=timezone.now(), days=20, seed=3)
    key, _ = ApiKey.issue(organization=workspace.organization, workspace=workspace, name="sdk",
                          scopes=["logs.export"])
    job = services.export_job_create(
        workspace=workspace, filters={}, requested_data=["id", "created_at", "request", "cost"],
        limit=15_000,
    )
    env = {**os.environ, "DATABASE_URL": _database_url(), "WRITER_WORKSPACE": str(workspace.id),
           "WRITER_KEY": str(key.id), "WRITER_ROUNDS": str(WRITES_PER_PROCESS),
           "WRITER_EXPORT": str(job.id)}
    writers = [
        subprocess.Popen(  # noqa: S603 - fixed arguments
            [sys.executable, str(ROOT / "manage.py"), "shell", "-c", WRITER],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for _ in range(2)
    ]
    services.export_job_start(job=job)
    worker = rq_workers.start(burst=True, EXPORTS_MAX_ROWS_PER_SECOND="3000")  # 5 s of work
    write_times = []
    for writer in writers:
        output, _ = writer.communicate(timeout=120)
        assert writer.returncode == 0, output
        assert f"writes done: {WRITES_PER_PROCESS}" in output
        write_times += [datetime.fromisoformat(line.split()[-1])
                        for line in output.splitlines() if line.startswith("write at")]

    output = rq_workers.output(worker)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.SUCCESS, (job.error, output)
    assert job.rows_written == 15_000
    # Every write landed, and (nearly) all of them while the export was being written.
    assert len(write_times) == 2 * WRITES_PER_PROCESS
    during = [t for t in write_times if job.started_at < t < job.finished_at]
    assert len(during) >= 40, (len(during), job.started_at, job.finished_at, write_times)
    assert ExportJob.objects.filter(description="written meanwhile").count() == 2 * 6
    assert Log.objects.filter(workspace=workspace).count() == 15_000 + 2 * 7
