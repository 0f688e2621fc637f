"""The Exports page in a real browser, with a real RQ worker exporting from the test database."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from exports import services
from exports.models import ExportJob
from tests.conftest import wait_for
from tests.e2e.conftest import PASSWORD, confirm_in_dialog, log_in, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FIVE_FIELDS = ["id", "created_at", "ai_model", "total_tokens", "cost"]


def row_of(page, job: ExportJob):
    return page.locator(f"#export-{job.id}")


def wait_for_status(page, job: ExportJob, status: str, timeout: float = 60_000) -> None:
    page.wait_for_selector(f"#export-{job.id}[data-status='{status}']", timeout=timeout)


def test_a_new_user_requests_starts_watches_and_downloads_an_export(
    page, live_server, member, logs_3000, rq_workers
):
    rq_workers.start(burst=False, EXPORTS_MAX_ROWS_PER_SECOND="100")  # 1,000 rows ≈ 10 s
    log_in(page, live_server, username="grace", password=PASSWORD)
    assert page.locator(".nav-link.active").inner_text() == "Exports"
    page.wait_for_selector("text=No exports yet")
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    page.click("header >> text=Request Data")
    page.wait_for_selector("#request-panel form")
    page.click("label.chip:has-text('Last 7 days')")
    page.fill("#id_limit", "1000")
    page.click("button:has-text('Select none')")
    error = page.wait_for_selector(
        "#request-panel .field-error:has-text('choose at least one field')")
    assert error.is_visible()
    assert page.locator("#preview button:has-text('Request Export and Start')").is_disabled()
    assert page.locator("#preview button:has-text('Save as draft')").is_disabled()
    assert ExportJob.objects.count() == 0

    for name in FIVE_FIELDS:
        page.check(f"input[name=requested_data][value={name}]")
    # Fixed: the error goes and the button comes back.
    page.wait_for_selector("#request-panel .field-error", state="detached")
    assert page.locator("#preview button:has-text('Request Export and Start')").is_enabled()
    page.fill("#id_description", "Weekly usage review")
    wait_until(page,
        "document.querySelector('[data-testid=preview-rows]')?.textContent.trim() === '1,000'"
    )
    assert page.inner_text("[data-testid=preview-matches]") == "3,000"
    assert re.fullmatch(r"about [\d.]+\xa0KB", page.inner_text("[data-testid=preview-size]"))

    page.click("button:has-text('Save as draft')")  # a draft, started from the list below
    page.wait_for_selector(".export-row .row-note:has-text('Export requested')")
    job = ExportJob.objects.get()
    assert (job.requested_data, job.limit, job.description) == (FIVE_FIELDS, 1000,
                                                                 "Weekly usage review")
    row = row_of(page, job)
    assert page.locator("#export-rows tr").first.get_attribute("id") == f"export-{job.id}"
    assert row.locator(".badge").inner_text() == "Draft"

    row.locator("button:has-text('Start')").click()
    wait_for_status(page, job, "in_progress")
    # The note was about the draft: once it is acted on, it goes.
    assert page.locator(".row-note:has-text('Export requested')").count() == 0
    column_widths = ("[...document.querySelectorAll('.exports-table thead th')]"
                     ".map(th => th.getBoundingClientRect().width)")
    widths_running = page.evaluate(column_widths)
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        # One read of both: the row may be redrawn as finished between two separate reads.
        status, value = row.evaluate(
            "row => [row.dataset.status, row.querySelector('progress')?.getAttribute('value')]"
        )
        if status != "in_progress":
            break
        if value is not None and (not seen or int(value) != seen[-1]):
            seen.append(int(value))
        time.sleep(0.2)
    wait_for_status(page, job, "success")
    assert page.evaluate(column_widths) == widths_running  # stable columns
    assert any(0 < value < 1000 for value in seen), f"progress never seen moving: {seen}"
    assert seen == sorted(seen)
    assert page.evaluate("window.__sameDocument") is True
    assert "Success" in page.inner_text("#live-status")

    with page.expect_download() as download_info:
        row.locator("a:has-text('Download')").click()
    download = download_info.value
    assert download.suggested_filename.endswith(f"{job.id}.jsonl")
    lines = Path(download.path()).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1000
    assert all(list(json.loads(line)) == FIVE_FIELDS for line in lines)


# Alone, and ≈ 15 s per run: under the parallel pass's load the run of 5 s could end before
# the Cancel in its dialog was confirmed.
@pytest.mark.serial
def test_start_cancel_stopped_start_again_success(
    page, live_server, member, logs_3000, rq_workers
):
    job = services.export_job_create(workspace=logs_3000, filters={}, requested_data=["id"],
                                     limit=1500)
    rq_workers.start(burst=False, EXPORTS_MAX_ROWS_PER_SECOND="100")  # ≈ 15 s per run
    log_in(page, live_server, username="grace", password=PASSWORD)
    row = row_of(page, job)
    row.locator("button:has-text('Start')").click()
    wait_for_status(page, job, "in_progress")
    wait_for(lambda: ExportJob.objects.get(id=job.id).rows_written > 0, timeout=30)
    row.locator("button:has-text('Cancel')").click()
    confirm_in_dialog(page)
    wait_for_status(page, job, "stopped")
    assert row.locator(".badge").inner_text() == "Stopped"
    assert "Stopped" in page.inner_text("#live-status")

    row.locator("button:has-text('Start Again')").click()
    wait_for_status(page, job, "in_progress")
    wait_for_status(page, job, "success")
    job.refresh_from_db()
    assert (job.status, job.rows_written, job.attempt) == ("success", 1500, 2)
    assert row.locator("a:has-text('Download')").is_visible()


def test_a_failure_shows_its_reason_and_starts_again_once_the_fault_is_gone(
    page, live_server, member, logs_3000, rq_workers, tmp_path, settings
):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the export folder should be")
    storage_dir = blocker / "exports"
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(storage_dir), "base_url": None},
        },
    }
    job = services.export_job_create(workspace=logs_3000, filters={}, requested_data=["id"],
                                     limit=200)
    rq_workers.start(burst=False, EXPORTS_STORAGE_DIR=str(storage_dir))
    log_in(page, live_server, username="grace", password=PASSWORD)
    row = row_of(page, job)
    row.locator("button:has-text('Start')").click()
    wait_for_status(page, job, "failed")
    assert row.locator(".badge").inner_text() == "Failure"
    # In plain words on the page; the technical text is kept for the admin.
    assert "could not be saved in the export storage" in row.inner_text()
    assert "Not a directory" not in row.inner_text()
    assert ExportJob.objects.get(id=job.id).error.startswith("Could not write the export file")

    blocker.unlink()
    row.locator("button:has-text('Start Again')").click()
    wait_for_status(page, job, "success")
    assert "Not a directory" not in row.inner_text()
    with page.expect_download() as download_info:
        row.locator("a:has-text('Download')").click()
    assert len(Path(download_info.value.path()).read_text(encoding="utf-8").splitlines()) == 200


def test_the_list_in_every_status(page, live_server, member, logs_3000, rq_workers, tmp_path):
    def create(description: str, **extra) -> ExportJob:
        return services.export_job_create(
            workspace=logs_3000, description=description,
            filters={"created_at": {"gte": (timezone.now() - timedelta(days=7)).isoformat()}},
            requested_data=["id", "created_at", "ai_model", "cost"], **extra,
        )

    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    failed = create("Finance, March", limit=100)
    services.export_job_start(job=failed)
    rq_workers.run_burst(EXPORTS_STORAGE_DIR=str(blocker / "exports"))
    succeeded = create("Model comparison", limit=800, file_format="jsonl.gz")
    services.export_job_start(job=succeeded)
    rq_workers.run_burst()
    stopped = create("Everything, last week")
    services.export_job_start(job=stopped)
    services.export_job_cancel(job=stopped)
    running = create("Support escalations", limit=3000)
    services.export_job_start(job=running)
    rq_workers.start(burst=False, EXPORTS_MAX_ROWS_PER_SECOND="200")
    draft = create("Latency audit", limit=1000, offset=1000)
    wait_for(lambda: ExportJob.objects.get(id=running.id).rows_written >= 500, timeout=30)

    log_in(page, live_server, username="grace", password=PASSWORD)
    for job, status in ((failed, "failed"), (succeeded, "success"), (stopped, "stopped"),
                        (running, "in_progress"), (draft, "draft")):
        wait_for_status(page, job, status)
    wait_until(page,
        f"Number(document.querySelector('#export-{running.id} progress')?.value) > 0"
    )
    # The main action on the row; Details, Activity and Delete in its menu.
    actions = {job.id: row_of(page, job).locator(".col-actions :is(a, button)").evaluate_all(
                   "nodes => nodes.map(node => node.textContent.trim())")
               for job in (failed, succeeded, stopped, running, draft)}
    assert actions == {failed.id: ["Start Again", "Details", "Activity", "Delete"],
                       succeeded.id: ["Download", "Details", "Activity", "Delete"],
                       stopped.id: ["Start Again", "Details", "Activity", "Delete"],
                       running.id: ["Cancel", "Details", "Activity"],
                       draft.id: ["Start", "Details", "Activity", "Delete"]}
    # Leave no job running: a worker finishes its current job before it stops, and a running
    # export would hold the tables the test database is emptied from.
    row_of(page, running).locator("button:has-text('Cancel')").click()
    confirm_in_dialog(page)
    wait_for_status(page, running, "stopped")
    rq_workers.stop_all()
