"""Issue 17, the pages as a product: one click to export, filters as chips, errors on the field,
the sticky Request Export button, no sideways scroll, the confirm dialog, compact rows, the
Logs row opening its drawer. Each at 1366×900 and 390×844 where the size matters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exports.models import ExportJob
from tests.e2e.conftest import horizontal_overflow, log_in_member, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PRIMARY = "#preview button:has-text('Request Export and Start')"
DRAFT = "#preview button:has-text('Save as draft')"


def preview_settled(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("#preview:not(.htmx-request)")


def test_one_click_requests_and_starts_the_export_to_success(
    sized_page, live_server, member, logs_3000, rq_workers
):
    page = sized_page
    rq_workers.start(burst=False)
    log_in_member(page, live_server)
    page.click("header >> text=Request Data")
    page.wait_for_selector(PRIMARY)
    page.fill("#id_limit", "250")
    page.fill("#id_description", "One click")
    preview_settled(page)
    page.click(PRIMARY)
    row = page.wait_for_selector(".export-row:has-text('One click')")
    job = ExportJob.objects.get()
    assert job.status in ("in_progress", "success")  # started by that one click
    page.wait_for_selector(f"#export-{job.id}[data-status='success']", timeout=60_000)
    assert "Export requested and started" in page.inner_text("#live-status") or \
        "Success" in page.inner_text("#live-status")
    with page.expect_download() as download_info:
        page.click(f"#export-{job.id} a:has-text('Download')")
    assert len(Path(download_info.value.path()).read_text().splitlines()) == 250
    assert row is not None and horizontal_overflow(page) == 0

    # Drafts stay: Save as draft makes one, and Start in the list runs it.
    page.click("header >> text=Request Data")
    page.wait_for_selector(DRAFT)
    page.fill("#id_description", "Kept as a draft")
    preview_settled(page)
    page.click(DRAFT)
    page.wait_for_selector(".export-row:has-text('Kept as a draft')")
    draft = ExportJob.objects.get(description="Kept as a draft")
    assert draft.status == "draft"
    assert page.evaluate("document.activeElement.textContent.trim()") == "Start"
    page.click(f"#export-{draft.id} button:has-text('Start')")
    page.wait_for_selector(f"#export-{draft.id}[data-status='success']", timeout=60_000)
    rq_workers.stop_all()


def test_enter_in_a_field_requests_and_starts(page, live_server, member, logs_3000,
                                              export_queue):
    log_in_member(page, live_server)
    page.goto(f"{live_server.url}/exports/new/")
    page.fill("#id_description", "Enter starts it")
    preview_settled(page)
    page.press("#id_description", "Enter")
    page.wait_for_selector(".export-row:has-text('Enter starts it')")
    assert ExportJob.objects.get().status == "in_progress"


def test_the_request_button_stays_in_view_after_scrolling(sized_page, live_server, member,
                                                          logs_3000):
    page = sized_page
    log_in_member(page, live_server)
    page.goto(f"{live_server.url}/exports/new/")
    button = page.locator(PRIMARY)
    height = page.viewport_size["height"]
    for scroll_y in (0, 600, 100_000):
        page.evaluate(f"window.scrollTo(0, {scroll_y})")
        page.wait_for_timeout(100)  # a scroll is applied on the next frame
        box = button.bounding_box()
        assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= height, (
            scroll_y, box)
    assert page.evaluate("window.scrollY") > 0  # the page did scroll
    assert horizontal_overflow(page) == 0


def read_lines(download) -> list[dict]:
    return [json.loads(line) for line in Path(download.path()).read_text().splitlines()]


__all__ = ["wait_until", "read_lines"]
