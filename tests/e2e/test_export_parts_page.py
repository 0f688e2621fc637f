"""An export in parts in a real browser: its parts' progress while two real workers write it,
then the manifest, its download and the Verify button on the detail page, at 1366 and 390 px."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exports import services
from exports.models import ExportJob
from tests.e2e.conftest import (
    horizontal_overflow,
    log_in_member,
    serious_accessibility_violations,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_an_export_in_parts_shows_its_parts_then_its_manifest_and_verifies(
    sized_page, live_server, member, logs_3000, rq_workers, settings
):
    page = sized_page
    settings.EXPORTS_PART_LOGS = 1000
    log_in_member(page, live_server)
    job = services.export_job_create(workspace=logs_3000, filters={}, requested_data=["id"],
                                     description="Everything, in parts")
    services.export_job_start(job=job)
    assert job.part_count == 3
    page.goto(f"{live_server.url}/exports/{job.id}/")
    page.wait_for_selector("#parts h2:has-text('Parts')")
    assert page.locator("#parts li").count() == 3
    assert "of 1,000 logs" in page.locator("#parts").inner_text()
    assert serious_accessibility_violations(page) == []
    assert horizontal_overflow(page) == 0

    for _ in range(2):
        rq_workers.start(burst=False, EXPORTS_MAX_ROWS_PER_SECOND="600")
    # The page polls itself while the parts run, and shows the manifest once joined.
    page.wait_for_selector("#export-detail[data-status='success']", timeout=60_000)
    page.wait_for_selector("#parts h2:has-text('Manifest')")
    job.refresh_from_db()
    text = page.locator("#parts").inner_text()
    assert "3,000 logs" in text and "in 3 parts" in text
    assert job.manifest["parts"][1]["sha256"] in text

    page.click("#parts button:has-text('Verify')")
    page.wait_for_selector("#verify-result:has-text('Verified.')")
    assert "3 part(s) match the manifest" in page.locator("#verify-result").inner_text()
    assert page.evaluate("document.activeElement?.textContent.trim()") == "Verify"

    with page.expect_download() as download:
        page.click("a:has-text('Manifest')")
    saved = Path(download.value.path())
    assert json.loads(saved.read_text()) == job.manifest
    assert download.value.suggested_filename.endswith(".manifest.json")

    assert serious_accessibility_violations(page) == []
    assert horizontal_overflow(page) == 0
    assert ExportJob.objects.get(id=job.id).status == ExportJob.Status.SUCCESS
