"""Progress reaches the database at most a few times a second, however fast rows are written."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from exports import runtime, services
from exports.models import ExportJob


@pytest.mark.django_db
def test_progress_is_saved_at_most_four_times_a_second(seeded):
    job = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    ExportJob.objects.filter(id=job.id).update(status=ExportJob.Status.IN_PROGRESS, attempt=1)
    checkpoint = runtime.ProgressCheckpoint(job_id=job.id, attempt=1)
    rows, started = 0, time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        while time.monotonic() - started < 1.2:
            rows += 50
            checkpoint(rows)  # far more often than the database should hear of it
    saves = [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert rows > 5_000
    assert 2 <= len(saves) <= 6  # every 0.25 s over 1.2 s
    assert 0 < ExportJob.objects.get(id=job.id).rows_written <= rows
