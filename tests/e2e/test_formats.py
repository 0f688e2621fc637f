"""Choosing a format on Request Data: each with its one line, the size estimate follows it."""

from __future__ import annotations

import pytest

from exports.formats import FORMATS
from exports.models import ExportJob
from tests.e2e.conftest import (
    PHONE,
    horizontal_overflow,
    log_in_member,
    serious_accessibility_violations,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def preview_settled(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("#preview:not(.htmx-request)")


def test_a_format_is_chosen_by_its_label_and_the_export_is_requested_in_it(
        browser, live_server, member, logs_3000):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        log_in_member(page, live_server)
        page.goto(f"{live_server.url}/exports/new/")
        choices = page.locator(".format-choice")
        assert choices.count() == len(FORMATS)
        for index, fmt in enumerate(FORMATS):
            text = choices.nth(index).inner_text()
            assert fmt.label in text and fmt.summary in text
        assert page.locator("input[name=file_format][value=jsonl]").is_checked()
        preview_settled(page)
        jsonl_size = page.locator("[data-testid=preview-size]").inner_text()

        page.locator(".format-choice", has_text="Parquet").click()
        assert page.locator("input[name=file_format][value=parquet]").is_checked()
        page.wait_for_function(
            "size => document.querySelector('[data-testid=preview-size]').innerText !== size",
            arg=jsonl_size)
        preview_settled(page)
        assert horizontal_overflow(page) == 0
        assert serious_accessibility_violations(page) == []
        page.fill("#id_description", "As Parquet")
        page.locator("#preview button:has-text('Request Export')").click()
        page.wait_for_selector(".export-row:has-text('As Parquet')")
        job = ExportJob.objects.get()
        assert job.format == "parquet"
        assert "Parquet" in page.locator(f"#export-{job.id}").inner_text()
    finally:
        context.close()
