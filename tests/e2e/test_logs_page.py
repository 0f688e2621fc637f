"""The Logs page: a filter it cannot read never widens the list; an opened log is a drawer."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from accounts.models import Organization
from logs.models import Log
from tests.e2e.conftest import horizontal_overflow, log_in_member

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def rows(page) -> int:
    return page.locator(".logs-table tbody tr").count()


@pytest.mark.parametrize("bad_code", ["abc", "999"])
def test_a_status_code_it_cannot_read_shows_an_error_and_lists_nothing(
    page, live_server, member, logs_3000, bad_code
):
    model = Log.objects.filter(workspace=logs_3000).values_list("ai_model", flat=True).first()
    log_in_member(page, live_server)
    page.goto(f"{live_server.url}/logs/")
    page.select_option("#id_ai_model", model)
    matching = Log.objects.filter(ai_model=model).count()
    page.wait_for_selector(f".list-head p:has-text('{matching:,}')")

    # Applied in place (htmx): the error shows beside the field and no list replaces it.
    page.fill("#id_status_code", bad_code)
    page.click("button:has-text('Apply')")
    error = page.wait_for_selector(f"#errors-status_code .field-error:has-text('{bad_code}')")
    assert "Status code" in error.inner_text() and "100-599" in error.inner_text()
    page.wait_for_selector("[data-testid=filters-invalid]")
    assert rows(page) == 0
    assert page.locator("a:has-text('Export these logs')").count() == 0

    # On a full load of that URL: the same, never the 20,000 unfiltered logs.
    page.reload()
    page.wait_for_selector(f"#errors-status_code .field-error:has-text('{bad_code}')")
    assert rows(page) == 0 and page.locator("[data-testid=filters-invalid]").is_visible()
    assert page.input_value("#id_ai_model") == model  # every other filter kept

    # Fixed: the error goes and the list comes back, filtered by both.
    page.fill("#id_status_code", "200")
    page.click("button:has-text('Apply')")
    page.wait_for_selector("#errors-status_code .field-error", state="detached")
    page.wait_for_selector(".logs-table tbody tr")
    expected = Log.objects.filter(ai_model=model, status_code=200).count()
    assert page.inner_text(".list-head p").startswith(f"{expected:,} log")
    # "Export these logs" keeps every filter.
    href = page.get_attribute("a:has-text('Export these logs')", "href")
    query = parse_qs(urlparse(href).query)
    assert (query["ai_model"], query["status_code"], query["time_range"]) == (
        [model], ["200"], ["30d"])
    page.click("a:has-text('Export these logs')")
    page.wait_for_selector("[data-testid=preview-matches]")
    assert page.inner_text("[data-testid=preview-matches]") == f"{expected:,}"


def test_opening_a_log_keeps_the_table_and_brings_the_log_into_view(
    sized_page, live_server, member, logs_3000
):
    page = sized_page
    log_in_member(page, live_server)
    page.goto(f"{live_server.url}/logs/")
    table = page.locator(".logs-table")
    width_before = table.bounding_box()["width"]
    assert horizontal_overflow(page) == 0
    # A log far down the page: on a phone the detail must come to the reader.
    opener = page.locator(".logs-table tbody tr").nth(40).locator("a:has-text('View JSON')")
    opener.scroll_into_view_if_needed()
    opener.click()
    heading = page.wait_for_selector("#log-detail h2")
    assert table.bounding_box()["width"] == width_before  # the table is not squeezed
    assert page.evaluate("document.activeElement.tagName") == "H2"
    box = heading.bounding_box()
    assert 0 <= box["y"] < page.viewport_size["height"]
    # Each "View JSON" link stays whole on one line.
    heights = page.eval_on_selector_all(
        ".logs-table a.nowrap", "links => links.map(a => a.getClientRects().length)")
    assert set(heights) == {1}
    assert horizontal_overflow(page) == 0
    page.keyboard.press("Escape")
    page.wait_for_selector("#log-detail h2", state="detached")
    assert page.evaluate("document.activeElement.textContent").startswith("View JSON")


def test_on_a_free_plan_the_logs_page_offers_no_export(page, live_server, member, logs_3000):
    logs_3000.organization.plan = Organization.Plan.FREE
    logs_3000.organization.save()
    log_in_member(page, live_server)
    assert "need the Enterprise plan" in page.inner_text(".empty-state")
    assert page.locator("a:has-text('Request Data')").count() == 0
    page.goto(f"{live_server.url}/logs/")
    page.wait_for_selector(".logs-table")
    assert page.locator("a:has-text('Export these logs')").count() == 0
