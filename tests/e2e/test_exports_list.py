"""The Exports list and the export detail page: search, status filter, row context, delete."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest

from exports import services
from exports.models import ExportJob
from tests.e2e.conftest import (
    confirm_in_dialog,
    horizontal_overflow,
    log_in_member,
    open_row_menu,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def create(workspace, description: str, **extra) -> ExportJob:
    from django.contrib.auth import get_user_model

    return services.export_job_create(
        created_by=get_user_model().objects.filter(username="grace").first(),
        workspace=workspace, description=description, filters={},
        requested_data=["id", "created_at", "ai_model", "cost"], limit=extra.pop("limit", 50),
        **extra,
    )


def test_rows_name_their_export_show_fields_times_and_filter(
    sized_page, live_server, member, logs_3000
):
    page = sized_page
    create(logs_3000, "March finance")
    create(logs_3000, "")
    create(logs_3000, "Model comparison", offset=10)
    log_in_member(page, live_server)
    page.wait_for_selector("#export-rows tr >> nth=2")
    assert horizontal_overflow(page) == 0

    # Every action says which export it acts on; no two are alike.
    labels = page.eval_on_selector_all(
        ".col-actions [aria-label]", "nodes => nodes.map(n => n.getAttribute('aria-label'))")
    assert len(labels) == len(set(labels)) == 15
    assert "Start export March finance" in labels and "Delete export Model comparison" in labels
    assert "More actions for export March finance" in labels
    assert any(label.startswith("Start export export of ") and label.endswith(" UTC")
               for label in labels)  # no description: named by its date
    # A field count, the names on hover (and to a screen reader); the offset on the row.
    row = page.locator("#export-rows tr", has_text="Model comparison")
    assert row.locator(".field-count").get_attribute("title") == "ID, Created At, AI Model, Cost"
    assert row.locator(".field-count").inner_text().startswith("4 fields")
    assert "Offset 10 · up to 50" in row.inner_text()
    # Relative time, with the exact UTC time on hover.
    created = row.locator(".col-export time")
    assert created.inner_text() == "just now"
    job = ExportJob.objects.get(description="Model comparison")
    assert created.get_attribute("title") == job.created_at.astimezone(UTC).strftime(
        "%Y-%m-%d %H:%M:%S UTC")
    # On a phone, each export is a card with its status and actions in view.
    row.locator("summary").click()  # Details, Activity and Delete are in the row's menu
    for locator in (row.locator(".badge"), row.locator("button:has-text('Start')"),
                    row.locator("button:has-text('Delete')")):
        box = locator.bounding_box()
        assert box and box["x"] >= 0
        assert box["x"] + box["width"] <= page.viewport_size["width"]

    page.fill("#id_q", "finance")
    wait_until(page, "document.querySelectorAll('#export-rows tr').length === 1")
    assert "March finance" in page.inner_text("#export-rows")
    assert "q=finance" in page.url
    page.fill("#id_q", "")
    wait_until(page, "document.querySelectorAll('#export-rows tr').length === 3")
    page.select_option("#id_status", "success")
    page.wait_for_selector("text=No exports match")
    page.select_option("#id_status", "draft")
    wait_until(page, "document.querySelectorAll('#export-rows tr').length === 3")


def test_delete_from_the_list(page, live_server, member, logs_3000):
    keep = create(logs_3000, "Keep me")
    gone = create(logs_3000, "Delete me")
    log_in_member(page, live_server)
    open_row_menu(page, "Delete me")
    page.click("[aria-label='Delete export Delete me']")
    page.click("#confirm-dialog [data-confirm-keep]")  # "Keep it": nothing is deleted
    page.wait_for_timeout(300)
    assert ExportJob.objects.count() == 2
    open_row_menu(page, "Delete me")
    page.click("[aria-label='Delete export Delete me']")
    confirm_in_dialog(page)
    page.wait_for_selector(f"#export-{gone.id}", state="detached")
    assert list(ExportJob.objects.values_list("id", flat=True)) == [keep.id]
    assert "Delete me: deleted." in page.inner_text("#live-status")


def test_export_detail_page_and_its_actions(page, live_server, member, logs_3000, rq_workers,
                                            tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    broken = create(logs_3000, "Detail, failed")
    services.export_job_start(job=broken)
    rq_workers.run_burst(EXPORTS_STORAGE_DIR=str(blocker / "exports"))
    done = create(logs_3000, "Detail, done", limit=120, file_format="jsonl.gz")
    services.export_job_start(job=done)
    rq_workers.run_burst()
    done.refresh_from_db()
    broken.refresh_from_db()
    assert (done.status, broken.status) == ("success", "failed")

    log_in_member(page, live_server)
    open_row_menu(page, "Detail, done")
    page.click("[aria-label='Details of export Detail, done']")
    page.wait_for_selector("h1:has-text('Detail, done')")
    text = page.inner_text("main")
    for expected in ("All time", "120 logs", "JSONL, gzip-compressed", done.sha256,
                     f"{done.file_size:,} bytes", "Requested by grace", "Started", "Finished",
                     "1 attempt", "ran "):
        assert expected in text, expected
    assert page.locator(".field-list li").all_inner_texts() == [
        "ID", "Created At", "AI Model", "Cost"]
    with page.expect_download() as download_info:
        page.click("a:has-text('Download')")
    assert Path(download_info.value.path()).stat().st_size == done.file_size

    page.click("button:has-text('Delete')")
    confirm_in_dialog(page)
    page.wait_for_selector("h1:has-text('Exports')")
    assert "Detail, done: deleted." in page.inner_text(".messages")
    assert not ExportJob.objects.filter(id=done.id).exists()

    open_row_menu(page, "Detail, failed")
    page.click("[aria-label='Details of export Detail, failed']")
    assert "could not be saved in the export storage" in page.inner_text(".notice.error")
    assert "Not a directory" not in page.inner_text("main")
    page.click("button:has-text('Start Again')")
    page.wait_for_selector("h1:has-text('Detail, failed')")
    assert page.locator(".badge").first.inner_text() == "In progress"
    assert "attempt 2" in page.inner_text("main")
    page.click("button:has-text('Cancel')")
    confirm_in_dialog(page)
    page.wait_for_selector(".badge-stopped")
    assert ExportJob.objects.get(id=broken.id).status == "stopped"
    # Started again and run by a worker: the page follows the run by itself to Success.
    page.click("button:has-text('Start Again')")
    page.wait_for_selector("#export-detail[data-status='in_progress']")
    rq_workers.run_burst()
    page.wait_for_selector("#export-detail[data-status='success']", timeout=30_000)
    assert page.locator("a:has-text('Download')").is_visible()
    assert "attempt 3" in page.inner_text("main")


def test_the_sidebar_links_the_api_docs(page, live_server, member):
    log_in_member(page, live_server)
    assert page.get_attribute("nav[aria-label=Main] a:has-text('API docs')", "href") == "/v1/docs"
    page.click("nav[aria-label=Main] a:has-text('API docs')")
    page.wait_for_load_state()
    assert page.url.startswith(f"{live_server.url}/v1/docs")
