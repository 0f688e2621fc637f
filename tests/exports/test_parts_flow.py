"""Exports in parts, driven in this process with the real Redis queue: the plan on start, one
RQ job per part, progress summed over parts, the join by whoever finishes last, the manifest
(API, page, Verify), the reconciler per part, cancel. The same on real workers:
test_parts_workers.py."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone
from rq.job import Job

from exports import part_runtime, reconciler, runtime, services, tasks
from exports.manifest import verify
from exports.models import ExportJob, ExportPart
from exports.part_runtime import PartCheckpoint
from logs.models import Log
from logs.seeding import seed_logs
from tests.api.conftest import ApiClient, assert_error, issue_key
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db(transaction=True)
Status = ExportJob.Status


@pytest.fixture
def logs_250(workspace, settings, export_queue, export_storage_dir):
    settings.EXPORTS_PART_LOGS = 100
    seed_logs(workspace_id=workspace.id, count=250, now=timezone.now(), days=3, seed=5)
    return workspace


def started(workspace, **options) -> ExportJob:
    job = services.export_job_create(workspace=workspace, filters={},
                                     requested_data=["id", "created_at"], **options)
    return services.export_job_start(job=job)


def run_part(job: ExportJob, index: int) -> str:
    part = ExportPart.objects.get(export=job, index=index)
    return part_runtime.export_part_run(job_id=job.id, attempt=job.attempt, index=index,
                                        part_attempt=part.attempt)


def file_ids(folder, job: ExportJob) -> list[str]:
    return [json.loads(line)["id"] for line in (folder / job.file_name).read_text().splitlines()]


def ordered_ids(workspace) -> list[str]:
    return [str(pk) for pk in Log.objects.filter(workspace=workspace)
            .order_by("created_at", "id").values_list("id", flat=True)]


def test_start_plans_parts_and_queues_one_job_per_part(logs_250, export_queue):
    job = started(logs_250, limit=240, offset=5)
    assert (job.part_count, job.total_records, job.lease_expires_at) == (3, 240, None)
    parts = list(ExportPart.objects.filter(export=job).order_by("index"))
    assert [(p.index, p.row_limit, p.status, p.attempt) for p in parts] == [
        (0, 100, "in_progress", 1), (1, 100, "in_progress", 1), (2, 40, "in_progress", 1)]
    assert sorted(export_queue.job_ids) == sorted(
        services.part_rq_job_id(job_id=job.id, attempt=job.attempt, index=i, part_attempt=1)
        for i in range(3))
    queued = Job.fetch(export_queue.job_ids[0], connection=export_queue.connection)
    assert queued.func_name == "exports.tasks.run_export_part"
    assert queued.args[0] == str(job.id)  # ids only


def test_the_last_part_to_finish_joins_one_file_in_order_with_its_manifest(
    logs_250, export_storage_dir
):
    job = started(logs_250)
    assert run_part(job, 2) == Status.SUCCESS
    assert run_part(job, 0) == Status.SUCCESS
    job.refresh_from_db()
    assert (job.status, job.rows_written) == (Status.IN_PROGRESS, 150)  # summed over parts
    assert run_part(job, 1) == Status.SUCCESS  # the last one joins
    job.refresh_from_db()
    assert job.status == Status.SUCCESS, job.error
    assert file_ids(export_storage_dir, job) == ordered_ids(logs_250)
    manifest = job.manifest
    assert [(p["index"], p["offset"], p["rows"]) for p in manifest["parts"]] == [
        (0, 0, 100), (1, 100, 100), (2, 200, 50)]
    assert manifest["sha256"] == job.sha256 and manifest["rows"] == 250
    first = Log.objects.filter(workspace=logs_250).order_by("created_at", "id").first()
    assert manifest["parts"][0]["first_created_at"].startswith(
        first.created_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert sorted(p.name for p in export_storage_dir.rglob("*") if p.is_file()) == [
        job.file_name.rsplit("/", 1)[1]]  # the part objects are gone


def test_a_gzip_export_in_parts_is_one_valid_gzip_file(logs_250, export_storage_dir):
    job = started(logs_250, file_format="jsonl.gz")
    for index in (1, 0, 2):
        run_part(job, index)
    job.refresh_from_db()
    assert job.status == Status.SUCCESS, job.error
    lines = gzip.decompress((export_storage_dir / job.file_name).read_bytes()).splitlines()
    assert [json.loads(line)["id"] for line in lines] == ordered_ids(logs_250)
    assert verify(job).ok


def test_progress_is_the_sum_over_the_parts(logs_250):
    job = started(logs_250)
    parts = list(ExportPart.objects.filter(export=job).order_by("index"))
    PartCheckpoint(part=parts[0], attempt=job.attempt).save(60)
    PartCheckpoint(part=parts[2], attempt=job.attempt).save(25)
    job.refresh_from_db()
    assert job.rows_written == 85


def test_an_export_of_one_part_is_written_by_one_job_and_has_a_manifest(logs_250, export_queue,
                                                                        export_storage_dir):
    job = started(logs_250, limit=80)
    assert job.part_count == 1
    assert [Job.fetch(i, connection=export_queue.connection).func_name
            for i in export_queue.job_ids] == ["exports.tasks.run_export"]
    assert runtime.export_job_run(job_id=job.id, attempt=job.attempt) == Status.SUCCESS
    job.refresh_from_db()
    [part] = job.manifest["parts"]
    assert (part["rows"], part["bytes"], part["byte_offset"]) == (80, job.file_size, 0)
    assert job.manifest["sha256"] == job.sha256
    assert part["last_created_at"] is not None


def test_the_reconciler_runs_a_dead_part_again_alone_then_gives_up(logs_250, export_queue,
                                                                   settings, export_storage_dir):
    settings.EXPORTS_MAX_ATTEMPTS = 2
    job = started(logs_250)
    export_queue.empty()  # the queued jobs are lost: only the lease tells the parts are dead
    passed = timezone.now() - timedelta(seconds=5)
    ExportPart.objects.filter(export=job, index=1).update(lease_expires_at=passed)

    report = reconciler.reconcile()
    parts = {p.index: p for p in ExportPart.objects.filter(export=job)}
    assert (parts[1].attempt, len(parts[1].retries)) == (2, 1)
    assert "no longer in the queue" in parts[1].retries[0]["reason"]
    assert (parts[0].attempt, parts[2].attempt) == (1, 1)  # the others are left alone
    assert export_queue.job_ids == [services.part_rq_job_id(
        job_id=job.id, attempt=job.attempt, index=1, part_attempt=2)]
    assert report.retried == [f"{job.id} part 1"]

    assert run_part(job, 0) == Status.SUCCESS  # written, then of no use once the export fails
    export_queue.empty()
    ExportPart.objects.filter(export=job, index=1).update(lease_expires_at=passed)
    reconciler.reconcile()
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "part 2 of 3" in job.error and "stopped twice" in job.error
    assert not [p for p in export_storage_dir.rglob("*") if p.is_file()]


def test_a_join_nobody_claimed_or_whose_worker_died_is_handed_on(logs_250, export_queue,
                                                                 monkeypatch, settings):
    settings.EXPORTS_LEASE_SECONDS = 0  # the export's last change is already a lease ago
    job = started(logs_250)
    # The last part's worker dies between writing its part and claiming the join.
    monkeypatch.setattr(part_runtime, "export_job_claim_join", lambda **_: False)
    for index in range(3):
        assert run_part(job, index) == Status.SUCCESS
    export_queue.empty()
    reconciler.reconcile()
    job.refresh_from_db()
    assert job.status == Status.IN_PROGRESS and job.lease_expires_at is not None  # claimed
    [queued] = export_queue.jobs
    assert (queued.func_name, queued.args) == ("exports.tasks.join_export",
                                               (str(job.id), job.attempt))
    # That joiner dies too: once its lease has passed the join is queued again.
    export_queue.empty()
    ExportJob.objects.filter(id=job.id).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1))
    reconciler.reconcile()
    [queued] = export_queue.jobs
    assert queued.func_name == "exports.tasks.join_export"
    assert tasks.join_export(*queued.args) == Status.SUCCESS
    job.refresh_from_db()
    assert (job.status, job.manifest["rows"]) == (Status.SUCCESS, 250)


def test_cancel_stops_every_part_and_removes_written_ones(logs_250, export_storage_dir):
    job = started(logs_250)
    assert run_part(job, 0) == Status.SUCCESS
    assert any(export_storage_dir.rglob("*.p00000-1"))
    services.export_job_cancel(job=job)
    assert run_part(job, 1) == Status.STOPPED
    assert not [p for p in export_storage_dir.rglob("*") if p.is_file()]


def finished_in_parts(workspace) -> ExportJob:
    job = started(workspace)
    for index in range(job.part_count):
        run_part(job, index)
    job.refresh_from_db()
    assert job.status == Status.SUCCESS, job.error
    return job


def test_the_api_returns_the_manifest_once_the_export_has_succeeded(logs_250):
    api = ApiClient(issue_key(logs_250)[1])
    draft = services.export_job_create(workspace=logs_250, filters={}, requested_data=["id"])
    assert_error(api.get(f"/v1/logs/exports/{draft.id}/manifest"), 404, code="not_found",
                 contains="Draft")
    job = finished_in_parts(logs_250)
    response = api.get(f"/v1/logs/exports/{job.id}/manifest")
    assert response.status_code == 200
    assert response.json() == job.manifest
    other = ApiClient(issue_key(logs_250, scopes=["logs.view"])[1])
    assert other.get(f"/v1/logs/exports/{job.id}/manifest").status_code == 403


def test_the_detail_page_shows_the_manifest_offers_it_and_verifies_the_file(
    logs_250, client, user, export_storage_dir
):
    job = finished_in_parts(logs_250)
    client.force_login(user)
    page = client.get(f"/exports/{job.id}/").content.decode()
    assert "Manifest" in page and job.manifest["parts"][2]["sha256"] in page
    assert f"/exports/{job.id}/manifest/" in page and "Verify" in page
    download = client.get(f"/exports/{job.id}/manifest/")
    assert download.json() == job.manifest
    assert "attachment" in download["Content-Disposition"]

    verified = client.post(f"/exports/{job.id}/verify/", headers={"HX-Request": "true"})
    assert "Verified." in verified.content.decode()
    path = export_storage_dir / job.file_name
    data = bytearray(path.read_bytes())
    data[job.manifest["parts"][2]["byte_offset"] + 3] ^= 0x01
    path.write_bytes(bytes(data))
    mismatch = client.post(f"/exports/{job.id}/verify/", headers={"HX-Request": "true"})
    assert "Mismatch." in mismatch.content.decode()
    assert "part 2: bytes" in mismatch.content.decode()


def test_the_preview_says_how_many_logs_and_in_how_many_parts(logs_250, client, user):
    client.force_login(user)
    response = client.get("/exports/preview/?requested_data=id&limit=240")
    preview = response.context["preview"]
    assert (preview.matches, preview.rows, preview.parts) == (250, 240, 3)
    body = response.content.decode()
    assert "3 parts of up to 100 logs, joined into one file" in body


@pytest.mark.parametrize(("environment", "cap"), [
    ({}, "10000000"),
    ({"EXPORTS_MAX_LOGS_PER_JOB": "123"}, "123"),  # the old name, still read
    ({"EXPORTS_MAX_LOGS_PER_JOB": "123", "EXPORTS_MAX_LOGS_PER_EXPORT": "456"}, "456"),
])
def test_the_cap_setting_and_its_old_name(environment, cap):
    env = {key: value for key, value in os.environ.items()
           if key not in ("EXPORTS_MAX_LOGS_PER_JOB", "EXPORTS_MAX_LOGS_PER_EXPORT")}
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.EXPORTS_MAX_LOGS_PER_EXPORT)")
    found = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
        env={**env, **environment, "DJANGO_SETTINGS_MODULE": "config.settings"})
    assert found.stdout.strip() == cap
