"""Request Data as people use it: Enter, the preview's refusals, the panel's URL, Esc."""

from __future__ import annotations

import pytest

from exports.models import ExportJob
from tests.e2e.conftest import horizontal_overflow, log_in_member, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def watch_urls(page) -> list[str]:
    """Every URL the tab asks for, to check that no CSRF token ever lands in one."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls


def preview_settled(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("#preview:not(.htmx-request)")


def test_enter_in_description_and_in_limit_creates_the_draft_in_the_panel(
    sized_page, live_server, member, logs_3000
):
    page = sized_page
    urls = watch_urls(page)
    log_in_member(page, live_server)
    page.click("header >> text=Request Data")
    page.wait_for_selector("#request-panel form")
    assert page.url == f"{live_server.url}/exports/new/"  # pushed: a reload keeps the form
    assert horizontal_overflow(page) == 0
    page.check("input[name=requested_data][value=cost]")
    page.fill("#id_limit", "700")
    page.fill("#id_description", "Enter in the description")
    preview_settled(page)  # a preview in flight while Enter is pressed must not matter
    page.press("#id_description", "Enter")
    row = page.wait_for_selector(".export-row:has-text('Enter in the description')")
    job = ExportJob.objects.get()
    assert (job.description, job.limit, "cost" in job.requested_data) == (
        "Enter in the description", 700, True)
    # Enter means the primary button: Request Export and Start.
    assert job.status == "in_progress"
    assert "Export requested and started" in row.inner_text()
    assert page.locator("#request-panel form").count() == 0
    assert page.url == f"{live_server.url}/"
    # Keyboard users land on the new export's name.
    assert page.evaluate("document.activeElement.className") == "export-title"

    page.click("header >> text=Request Data")
    page.wait_for_selector("#request-panel form")
    page.fill("#id_limit", "25")
    page.press("#id_limit", "Enter")  # at once, the preview still on its way
    wait_until(page, "document.querySelectorAll('#export-rows tr').length === 2")
    assert sorted(ExportJob.objects.values_list("limit", flat=True)) == [25, 700]
    # The note of the first export went when the list was redrawn for the second.
    assert page.locator(".row-note").count() == 1
    assert not [url for url in urls if "csrfmiddlewaretoken" in url]


def test_the_request_data_page_of_its_own(page, live_server, member, logs_3000):
    urls = watch_urls(page)
    log_in_member(page, live_server)
    page.goto(f"{live_server.url}/exports/new/")
    assert page.locator("h1").all_inner_texts() == ["Request Data"]
    assert page.locator("h2:has-text('Request Data')").count() == 0  # no duplicate heading
    page.fill("#id_description", "From the page")
    preview_settled(page)
    page.fill("#id_limit", "40")
    page.press("#id_limit", "Enter")
    page.wait_for_selector(".export-row:has-text('From the page')")
    assert page.url.startswith(f"{live_server.url}/#export-")
    assert ExportJob.objects.get().limit == 40
    assert not [url for url in urls if "csrfmiddlewaretoken" in url]


def test_the_preview_names_each_problem_and_never_lets_an_empty_export_through(
    page, live_server, member, logs_3000
):
    log_in_member(page, live_server)
    page.goto(f"{live_server.url}/exports/new/")
    submit = page.locator("#preview button:has-text('Request Export')")

    page.click("button:has-text('Select none')")
    page.wait_for_selector(
        "#preview .field-error:has-text('Requested fields: choose at least one field')")
    assert page.inner_text("[data-testid=preview-size]") == "—"  # no estimate of no fields
    assert submit.is_disabled()

    page.click("button:has-text('Select all')")
    page.fill("#id_limit", "0")
    page.wait_for_selector(
        "#preview .field-error:has-text('Maximum number of logs: must be at least 1')")
    assert submit.is_disabled()

    page.fill("#id_limit", "100")
    page.fill("#id_offset", "5000")  # 3,000 logs match
    page.wait_for_selector(
        "#preview .field-error:has-text('the offset skips all 3,000 matching logs')")
    assert page.inner_text("[data-testid=preview-rows]") == "0"
    assert submit.is_disabled()
    assert submit.get_attribute("aria-describedby") == "request-blocked"
    assert "for the rest" not in page.inner_text("#preview")
    page.press("#id_description", "Enter")  # nothing is sent for an empty export
    page.wait_for_timeout(500)
    assert ExportJob.objects.count() == 0

    page.fill("#id_offset", "2950")
    page.wait_for_selector("[data-testid=preview-rows]:text-is('50')")
    assert submit.is_enabled()

    page.click("label.chip:has-text('Custom')")
    page.fill("#id_created_from", "2024-02-01T00:00")
    page.fill("#id_created_to", "2024-01-01T00:00")
    page.wait_for_selector(
        "#preview .field-error:has-text('From (UTC): must not be after To (UTC)')")
    assert submit.is_disabled()
    assert ExportJob.objects.count() == 0


def test_an_offset_past_the_end_posted_anyway_is_refused(page, live_server, member, logs_3000):
    """Without JavaScript's disabled button (an old tab, a script), the server refuses too."""
    log_in_member(page, live_server)
    page.goto(f"{live_server.url}/exports/new/?offset=9000")
    page.evaluate("document.querySelector('#preview button[type=submit]').disabled = false")
    page.click("#preview button:has-text('Request Export')")
    page.wait_for_selector(".field-error:has-text('Offset: skips all 3,000 matching logs')")
    assert ExportJob.objects.count() == 0


def test_panel_url_reload_esc_and_the_empty_state(sized_page, live_server, member, logs_3000):
    page = sized_page
    log_in_member(page, live_server)
    empty_button = page.locator(".empty-state a:has-text('Request Data')")
    assert empty_button.is_visible()
    page.click("header >> text=Request Data")
    page.wait_for_selector("#request-panel form")
    assert not empty_button.is_visible()  # one Request Data while the panel is open
    assert page.locator("h1").all_inner_texts() == ["Exports"]

    page.keyboard.press("Escape")
    page.wait_for_selector("#request-panel form", state="detached")
    assert page.url == f"{live_server.url}/"
    assert empty_button.is_visible()
    assert page.evaluate("document.activeElement.textContent.trim()") == "Request Data"

    page.click("header >> text=Request Data")
    page.wait_for_url(f"{live_server.url}/exports/new/")
    page.reload()
    page.wait_for_selector("form[action='/exports/deliver/']")
    assert page.locator("h1").all_inner_texts() == ["Request Data"]
    assert horizontal_overflow(page) == 0


def test_on_a_phone_preview_and_request_export_stay_in_view(browser, live_server, member,
                                                             logs_3000):
    from tests.e2e.conftest import PHONE

    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        log_in_member(page, live_server)
        page.goto(f"{live_server.url}/exports/new/")
        button = page.locator("#preview button:has-text('Request Export')")

        def in_view() -> bool:
            box = button.bounding_box()
            return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844

        assert in_view()  # before scrolling...
        page.locator("input[name=requested_data][value=metadata]").scroll_into_view_if_needed()
        assert in_view()  # ...and among the field cards
        assert page.locator("[data-testid=preview-rows]").is_visible()
        assert horizontal_overflow(page) == 0
    finally:
        context.close()
