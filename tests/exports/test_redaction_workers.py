"""Redaction end to end on real `manage.py rqworker` processes, real Redis and the test
database: an export in parts and one in a single job; none of the planted values is in the
file, and the counts (summed over the parts) are on the export, its manifest and its page."""

from __future__ import annotations

import gzip
import json

import pytest
from django.test import Client

from exports import services
from exports.models import ExportJob
from exports.redaction.detectors import DETECTORS
from logs.models import Log
from tests.conftest import wait_for
from tests.exports.redaction_corpus import KINDS, create_redaction_corpus

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
RULES = {"detectors": list(DETECTORS), "patterns": [{"name": "ticket", "regex": "ticket 42"}],
         "drop_keys": ["metadata.team"]}


def run(workspace, file_format: str) -> ExportJob:
    job = services.export_job_create(workspace=workspace, filters={}, limit=10_000,
                                     requested_data=["id", "created_at", "request", "response",
                                                     "metadata", "total_tokens"],
                                     file_format=file_format, redaction=RULES)
    job = services.export_job_start(job=job)

    def done():
        job.refresh_from_db()
        return job.status not in (ExportJob.Status.IN_PROGRESS,)

    wait_for(done, timeout=120, interval=0.2, message="the export did not finish")
    assert job.status == ExportJob.Status.SUCCESS, job.error
    return job


@pytest.mark.parametrize(("part_logs", "file_format", "parts"),
                         [(100, "jsonl.gz", 3), (10_000, "jsonl", 1)])
def test_a_redacted_export_on_real_workers(workspace, user, rq_workers, export_storage_dir,
                                           settings, part_logs, file_format, parts):
    settings.EXPORTS_PART_LOGS = part_logs
    corpus = create_redaction_corpus(workspace)
    rq_workers.start(burst=False)
    job = run(workspace, file_format)
    assert job.part_count == parts and job.rows_written == corpus.logs
    data = (export_storage_dir / job.file_name).read_bytes()
    text = (gzip.decompress(data) if file_format.endswith(".gz") else data).decode()
    values = [json.loads(line) for line in text.splitlines()]
    payload_text = json.dumps([[row["request"], row["response"], row["metadata"]]
                               for row in values], ensure_ascii=False)
    planted = {kind: len(corpus.planted[kind]) for kind in KINDS}
    for kind in KINDS:
        assert not [value for value in corpus.planted[kind]
                    if json.dumps(value)[1:-1] in payload_text], kind
    assert all("team" not in row["metadata"] for row in values)
    counts = job.redaction_counts
    assert {kind: counts[kind] for kind in KINDS} == planted
    tickets = sum("ticket 42" in json.dumps(log.request)
                  for log in Log.objects.filter(workspace=workspace))
    assert counts["metadata.team"] == corpus.logs and counts["ticket"] == tickets > 0
    manifest = job.manifest
    assert manifest is not None
    assert manifest["redaction"] == RULES and manifest["redaction_counts"] == counts
    client = Client()
    client.force_login(user)
    page = client.get(f"/exports/{job.id}/").content.decode()
    assert f"email: {planted['email']}" in page and "metadata.team" in page


def test_a_pattern_that_could_run_for_ever_fails_the_export_instead_of_hanging_it(
        workspace, rq_workers, settings):
    create_redaction_corpus(workspace)
    rq_workers.start(burst=False)
    job = services.export_job_create(workspace=workspace, filters={}, limit=10_000,
                                     requested_data=["id", "request"])
    # Rules that never went through the checks (written to the database by hand).
    ExportJob.objects.filter(id=job.id).update(redaction={
        "detectors": [], "drop_keys": [], "patterns": [{"name": "slow", "regex": "(.*a){25}"}]})
    job.refresh_from_db()
    job = services.export_job_start(job=job)

    def ended():
        job.refresh_from_db()
        return job.status != ExportJob.Status.IN_PROGRESS

    wait_for(ended, timeout=60, interval=0.2, message="the export hung")
    assert job.status == ExportJob.Status.FAILED
    assert "redaction pattern slow" in job.error and "runs too long" in job.error
