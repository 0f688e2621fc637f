"""Run inside `manage.py shell` against a running stack: one export through the services.

Prints `smoke export: success rows=N` when the worker of the stack has finished it.
"""

from __future__ import annotations

import sys
import time

from accounts.models import Workspace
from exports import services
from exports.models import ExportJob

workspace = Workspace.objects.get(slug="demo")
job = services.export_job_create(
    workspace=workspace,
    filters={},
    requested_data=["id", "created_at", "ai_model", "total_tokens", "cost"],
    limit=1000,
    description="smoke test",
)
services.export_job_start(job=job)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    job.refresh_from_db()
    if job.status not in (ExportJob.Status.IN_PROGRESS, ExportJob.Status.DRAFT):
        break
    time.sleep(0.5)
print(f"smoke export: {job.status} rows={job.rows_written} error={job.error!r}")
sys.exit(0 if job.status == ExportJob.Status.SUCCESS else 1)
