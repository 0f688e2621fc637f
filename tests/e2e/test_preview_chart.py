"""Request Data's chart and first rows in a real browser: drawn on the server, named for screen
readers, following the time range and the format chosen, and fitting a phone."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import (
    PHONE,
    horizontal_overflow,
    log_in_member,
    serious_accessibility_violations,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SAMPLE_HEADING = "document.querySelector('[data-testid=sample-rows] h3').innerText"


def settled(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("#preview:not(.htmx-request)")


def choose_format(page, label: str, shown_as: str) -> None:
    page.locator(".format-choice", has_text=label).first.click()
    wait_until(page, f"{SAMPLE_HEADING}.includes({json.dumps(shown_as)})")
    settled(page)


def test_the_chart_and_first_rows_follow_the_form_and_fit_a_phone(browser, live_server, member,
                                                                  logs_3000, screenshot):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        log_in_member(page, live_server)
        page.goto(f"{live_server.url}/exports/new/")
        settled(page)

        # Last 7 days (the default): by day, the SVG named for what it shows, its bars drawn.
        chart = page.locator("#preview-detail svg[role=img]")
        name = chart.get_attribute("aria-label")
        assert name.startswith("Matching logs by day, ") and ", peak " in name, name
        assert chart.locator("rect.chart-bar").count() >= 6
        box = chart.bounding_box()
        assert box is not None and box["width"] <= PHONE["width"]
        summary = page.locator("#preview-detail details.chart-table summary")
        summary.click()
        assert page.locator("#preview-detail details.chart-table tbody tr").count() == 8

        # JSON lines first; the three rows change with the format.
        sample = page.locator("[data-testid=sample-text]")
        jsonl_lines = sample.inner_text().split("\n")
        assert len(jsonl_lines) == 3 and all(line.startswith('{"id": "') for line in jsonl_lines)
        assert horizontal_overflow(page) == 0
        assert serious_accessibility_violations(page) == []

        choose_format(page, "CSV, gzip-compressed", "CSV, gzip-compressed")
        csv_text = page.locator("[data-testid=sample-text]").inner_text()
        assert csv_text.startswith("id,") and csv_text != "\n".join(jsonl_lines)
        assert "Shown unzipped" in page.locator("[data-testid=sample-rows]").inner_text()

        choose_format(page, "Parquet", "Parquet")
        table = page.locator("[data-testid=sample-table]")
        assert table.locator("tbody tr").count() == 3
        assert "id (string)" in table.locator("thead").inner_text()
        page.locator("#preview-detail").scroll_into_view_if_needed()
        screenshot(page, "request-data-preview-phone", full_page=False)
        assert horizontal_overflow(page) == 0  # the wide table scrolls inside its own box
        assert serious_accessibility_violations(page) == []

        choose_format(page, "Fine-tuning JSONL", "Fine-tuning JSONL")
        rows = page.locator("[data-testid=sample-rows]").inner_text()
        assert '{"messages":' in rows or "skipped" in rows

        # Last 24 hours: by hour.
        page.locator(".time-range .chip", has_text="Last 24 hours").click()
        wait_until(page, "document.querySelector('#preview-detail svg[role=img]')"
                         "?.getAttribute('aria-label').startsWith('Matching logs by hour')")
        settled(page)
        assert horizontal_overflow(page) == 0
        assert serious_accessibility_violations(page) == []
    finally:
        context.close()


def test_the_chart_and_first_rows_on_a_laptop(page, live_server, member, logs_3000, screenshot):
    log_in_member(page, live_server)
    page.goto(f"{live_server.url}/exports/new/?time_range=24h&file_format=csv")
    settled(page)
    name = page.locator("#preview-detail svg[role=img]").get_attribute("aria-label")
    assert name.startswith("Matching logs by hour, ") and name.endswith(":00"), name
    assert page.locator("[data-testid=sample-text]").inner_text().startswith("id,")
    assert horizontal_overflow(page) == 0
    assert serious_accessibility_violations(page) == []
    page.locator("#preview-detail").scroll_into_view_if_needed()
    screenshot(page, "request-data-preview", full_page=False)
