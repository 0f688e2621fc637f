"""Issue 17, the pages as a product: one click to export, filters as chips, errors on the field,
the sticky Request Export button, no sideways scroll, the confirm dialog, compact rows, the
Logs row opening its drawer. Each at 1366×900 and 390×844 where the size matters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exports.models import ExportJob
from tests.e2e.conftest import horizontal_overflow, log_in_member, open_row_menu, wait_until

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
    """The panel over a list of exports (a page taller than the form): the button was at
    y = -266 at scrollY 600, its column stretched to the form's height and never sticking."""
    from exports import services

    page = sized_page
    for number in range(12):
        services.export_job_create(workspace=logs_3000, filters={}, requested_data=["id"],
                                   description=f"Earlier export {number}")
    log_in_member(page, live_server)
    page.click("header >> text=Request Data")
    button = page.locator(PRIMARY)
    button.wait_for()
    height = page.viewport_size["height"]

    def assert_in_view(where: str) -> None:
        page.wait_for_timeout(100)  # a scroll is applied on the next frame
        box = button.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, (
            where, box)

    for scroll_y in (0, 300, 600):
        page.evaluate(f"window.scrollTo(0, {scroll_y})")
        assert_in_view(f"scrollY {scroll_y}")
    assert page.evaluate("window.scrollY") == 600  # the page did scroll that far
    for field in ("input[value=metadata]", "#id_description"):  # down to the form's end
        page.locator(field).scroll_into_view_if_needed()
        assert_in_view(field)
    assert horizontal_overflow(page) == 0


def read_lines(download) -> list[dict]:
    return [json.loads(line) for line in Path(download.path()).read_text().splitlines()]



def test_filters_as_chips_narrow_the_preview_and_the_file(
    sized_page, live_server, member, logs_3000, rq_workers
):
    from logs.models import Log

    page = sized_page
    rq_workers.start(burst=False)
    log_in_member(page, live_server)
    page.goto(f"{live_server.url}/exports/new/")
    page.wait_for_selector("[data-testid=preview-matches]:text-is('3,000')")
    assert page.locator(".filter-chip:visible").count() == 0  # no filter until one is added
    model = Log.objects.values_list("ai_model", flat=True).order_by("ai_model").first()
    matching = Log.objects.filter(ai_model=model).count()

    page.select_option("#add-filter", "ai_model")
    chip = page.locator(".filter-chip[data-filter=ai_model]")
    assert chip.is_visible()
    # A choice list with counts (from the hourly counts).
    assert f"{matching:,}" in chip.locator(f"label.choice:has(input[value='{model}'])").inner_text()
    chip.locator(f"input[value='{model}']").check()
    page.wait_for_selector(f"[data-testid=preview-matches]:text-is('{matching:,}')")
    assert f"ai_model={model}" in page.url  # kept in the URL
    page.reload()
    page.wait_for_selector(f"[data-testid=preview-matches]:text-is('{matching:,}')")
    assert page.locator(".filter-chip[data-filter=ai_model]").is_visible()

    page.fill("#id_description", "Only one model")
    preview_settled(page)
    page.click(PRIMARY)
    page.wait_for_selector(".export-row:has-text('Only one model')")
    job = ExportJob.objects.get()
    assert job.filters["ai_model"] == [model]
    page.wait_for_selector(f"#export-{job.id}[data-status='success']", timeout=60_000)
    with page.expect_download() as download_info:
        page.click(f"#export-{job.id} a:has-text('Download')")
    lines = read_lines(download_info.value)
    assert len(lines) == matching and {line["ai_model"] for line in lines} == {model}
    assert horizontal_overflow(page) == 0
    rq_workers.stop_all()


def test_every_kind_of_filter_and_removing_a_chip(sized_page, live_server, member, logs_3000):
    from decimal import Decimal

    from logs.models import Log

    page = sized_page
    log_in_member(page, live_server)
    page.goto(f"{live_server.url}/exports/new/")
    page.wait_for_selector("[data-testid=preview-matches]:text-is('3,000')")

    def matches() -> str:
        preview_settled(page)
        return page.inner_text("[data-testid=preview-matches]")

    provider = Log.objects.values_list("ai_provider", flat=True).order_by("ai_provider").first()
    page.select_option("#add-filter", "ai_provider")
    page.check(f".filter-chip[data-filter=ai_provider] input[value='{provider}']")
    by_provider = Log.objects.filter(ai_provider=provider)
    page.wait_for_selector(f"[data-testid=preview-matches]:text-is('{by_provider.count():,}')")

    page.select_option("#add-filter", "cost")
    assert page.evaluate("document.activeElement.id") == "id_cost_min"  # focus goes to it
    page.fill("#id_cost_min", "0.01")  # dollars: 1 cent
    page.locator("#id_cost_min").dispatch_event("change")
    expected = by_provider.filter(cost__gte=Decimal(1)).count()
    page.wait_for_selector(f"[data-testid=preview-matches]:text-is('{expected:,}')")
    page.select_option("#add-filter", "total_tokens")
    page.fill("#id_total_tokens_max", "900")
    page.locator("#id_total_tokens_max").dispatch_event("change")
    expected = by_provider.filter(cost__gte=Decimal(1), total_tokens__lte=900).count()
    page.wait_for_selector(f"[data-testid=preview-matches]:text-is('{expected:,}')")

    log = by_provider.exclude(trace_id="").first()
    page.select_option("#add-filter", "metadata")
    page.fill("#id_metadata", f"_user = {log.metadata['_user']}")
    page.locator("#id_metadata").dispatch_event("change")
    page.select_option("#add-filter", "trace_id")
    page.fill("#id_trace_id", log.trace_id)
    page.locator("#id_trace_id").dispatch_event("change")
    page.fill("#id_cost_min", "")
    page.fill("#id_total_tokens_max", "")
    page.locator("#id_total_tokens_max").dispatch_event("change")
    page.wait_for_selector("[data-testid=preview-matches]:text-is('1')")

    # Removing a chip clears it: the preview widens at once.
    page.click(".filter-chip[data-filter=trace_id] [data-remove-filter]")
    assert not page.locator(".filter-chip[data-filter=trace_id]").is_visible()
    expected = by_provider.filter(metadata___user=log.metadata["_user"]).count()
    page.wait_for_selector(f"[data-testid=preview-matches]:text-is('{expected:,}')")
    assert log.trace_id not in page.url
    assert horizontal_overflow(page) == 0
    assert matches() == f"{expected:,}"


def test_the_logs_filters_arrive_as_editable_chips(page, live_server, member, logs_3000):
    from logs.models import Log

    model = Log.objects.values_list("ai_model", flat=True).order_by("ai_model").first()
    log_in_member(page, live_server)
    page.goto(f"{live_server.url}/logs/?time_range=30d&ai_model={model}&status_code=200")
    page.click("a:has-text('Export these logs')")
    chip = page.locator(".filter-chip[data-filter=ai_model]")
    chip.wait_for()
    assert chip.locator(f"input[value='{model}']").is_checked()
    assert page.locator(".filter-chip[data-filter=status_code] input[value='200']").is_checked()
    expected = Log.objects.filter(ai_model=model, status_code=200).count()
    page.wait_for_selector(f"[data-testid=preview-matches]:text-is('{expected:,}')")
    page.click(".filter-chip[data-filter=status_code] [data-remove-filter]")
    expected = Log.objects.filter(ai_model=model).count()
    page.wait_for_selector(f"[data-testid=preview-matches]:text-is('{expected:,}')")


def test_errors_sit_on_the_field(sized_page, live_server, member, logs_3000):
    page = sized_page
    log_in_member(page, live_server)
    page.goto(f"{live_server.url}/exports/new/")
    page.wait_for_selector("[data-testid=preview-rows]")
    page.fill("#id_limit", "0")
    page.fill("#id_offset", "-1")
    page.locator("#id_offset").dispatch_event("change")
    page.wait_for_selector("#errors-offset .field-error")
    for field, message in (("limit", "must be at least 1"), ("offset", "must be 0 or more")):
        control = page.locator(f"#id_{field}")
        wait_until(page, f"document.querySelector('#id_{field}').getAttribute('aria-invalid') "
                         "=== 'true'")
        assert control.get_attribute("aria-describedby") == f"errors-{field}"
        assert message in page.inner_text(f"#errors-{field}")
        # A visible outline in the error colour, beside which the message sits.
        assert control.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"
        assert control.evaluate("e => getComputedStyle(e).outlineColor") == "rgb(201, 42, 42)"
        box, slot = control.bounding_box(), page.locator(f"#errors-{field}").bounding_box()
        assert 0 <= slot["y"] - (box["y"] + box["height"]) < 60  # right under its field
    # Enter while blocked takes the keyboard to the first field marked invalid.
    page.focus("#id_description")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "id_limit"
    assert ExportJob.objects.count() == 0
    page.fill("#id_limit", "10")
    page.fill("#id_offset", "0")
    page.locator("#id_offset").dispatch_event("change")
    page.wait_for_selector("#errors-offset .field-error", state="detached")
    page.wait_for_selector(f"{PRIMARY}:enabled")
    # The marks go as the preview's answer is applied, field by field: wait for the last.
    wait_until(page, "document.querySelectorAll('[aria-invalid=true]').length === 0")
    assert horizontal_overflow(page) == 0


def test_the_logs_page_marks_an_invalid_status_code(sized_page, live_server, member, logs_3000):
    page = sized_page
    log_in_member(page, live_server)
    page.goto(f"{live_server.url}/logs/")
    page.fill("#id_status_code", "abc")
    page.click("button:has-text('Apply')")
    page.wait_for_selector("#errors-status_code .field-error")
    wait_until(page, "document.querySelector('#id_status_code').getAttribute('aria-invalid')"
                     " === 'true'")
    control = page.locator("#id_status_code")
    assert control.evaluate("e => getComputedStyle(e).outlineColor") == "rgb(201, 42, 42)"
    assert control.get_attribute("aria-describedby") == "errors-status_code"
    page.fill("#id_status_code", "200")
    page.click("button:has-text('Apply')")
    page.wait_for_selector("#errors-status_code .field-error", state="detached")
    wait_until(page, "!document.querySelector('#id_status_code[aria-invalid]')")


def test_no_sideways_scroll_on_the_detail_and_activity_pages(sized_page, live_server, member,
                                                               logs_3000, rq_workers):
    from django.contrib.auth import get_user_model

    from exports import services
    from exports.audit import Action, Actor, Channel, record_export_event

    page = sized_page
    grace = get_user_model().objects.get(username="grace")
    done = services.export_job_create(
        workspace=logs_3000, created_by=grace, filters={"ai_model": ["gpt-4o"]},
        requested_data=["id", "created_at", "ai_model", "total_tokens", "cost", "metadata",
                        "request", "response"], limit=300, description="Quarterly review "
        "of every model's latency and cost, for the finance and platform teams")
    services.export_job_start(job=done)
    rq_workers.run_burst()
    for address in ("2001:db8:85a3:1234:5678:8a2e:370:7334", "203.0.113.7"):
        record_export_event(job=done, action=Action.DOWNLOAD_LINK, actor=Actor(
            channel=Channel.PAGE, user=grace, ip_address=address))
    running = services.export_job_create(workspace=logs_3000, created_by=grace, filters={},
                                         requested_data=["id"], limit=2000)
    services.export_job_start(job=running)  # no worker takes it: it stays in progress
    failed = services.export_job_create(workspace=logs_3000, filters={}, requested_data=["id"])
    services.export_job_start(job=failed)
    services.export_job_fail(job_id=failed.id, attempt=1, reason="Could not write the "
                             "export file: [Errno 20] Not a directory: '/very/long/path/" +
                             "x" * 120 + "'")
    draft = services.export_job_create(workspace=logs_3000, filters={}, requested_data=["id"])
    log_in_member(page, live_server)
    widths = {}
    for job in (done, running, failed, draft):
        for path in (f"/exports/{job.id}/", f"/exports/{job.id}/activity/"):
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            widths[f"{job.status} {path.split('/')[-2]}"] = horizontal_overflow(page)
    assert set(widths.values()) == {0}, widths
    page.goto(f"{live_server.url}/exports/{done.id}/activity/")
    address = page.locator("td:has-text('2001:db8')")
    box = address.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]


def in_dialog(page) -> bool:
    return page.evaluate(
        "document.getElementById('confirm-dialog').contains(document.activeElement)")


def test_delete_and_cancel_ask_in_a_dialog(sized_page, live_server, member, logs_3000,
                                           export_queue):
    from exports import services

    page = sized_page
    browser_boxes = []
    page.on("dialog", lambda dialog: (browser_boxes.append(dialog.message), dialog.dismiss()))
    keep = services.export_job_create(workspace=logs_3000, filters={}, requested_data=["id"],
                                      description="Keep me")
    running = services.export_job_create(workspace=logs_3000, filters={},
                                         requested_data=["id"], description="Running one")
    services.export_job_start(job=running)  # no worker: it stays in progress
    log_in_member(page, live_server)
    dialog = page.locator("#confirm-dialog")

    open_row_menu(page, "Keep me")
    page.click("[aria-label='Delete export Keep me']")
    dialog.wait_for(state="visible")
    assert page.inner_text("#confirm-title") == "Delete this export?"
    assert "“Keep me”" in page.inner_text("#confirm-text")
    assert page.evaluate("document.activeElement.textContent") == "Keep it"
    for _ in range(5):  # focus is trapped in the dialog
        page.keyboard.press("Tab")
        assert in_dialog(page)
    page.keyboard.press("Shift+Tab")
    assert in_dialog(page)
    page.keyboard.press("Escape")  # Esc closes it, nothing is deleted
    dialog.wait_for(state="hidden")
    assert ExportJob.objects.filter(id=keep.id).exists()
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == (
        "Delete export Keep me")

    open_row_menu(page, "Keep me")
    page.click("[aria-label='Delete export Keep me']")
    page.click("#confirm-dialog button:has-text('Keep it')")
    dialog.wait_for(state="hidden")
    page.wait_for_timeout(300)
    assert ExportJob.objects.filter(id=keep.id).exists()

    page.click("[aria-label='Cancel export Running one']")
    dialog.wait_for(state="visible")
    assert page.inner_text("#confirm-title") == "Cancel this export?"
    page.click("#confirm-dialog button:has-text('Keep running')")
    page.wait_for_timeout(300)
    assert ExportJob.objects.get(id=running.id).status == "in_progress"
    page.click("[aria-label='Cancel export Running one']")
    page.click("#confirm-dialog button:has-text('Cancel export')")
    page.wait_for_selector(f"#export-{running.id}[data-status='stopped']")

    open_row_menu(page, "Keep me")
    page.click("[aria-label='Delete export Keep me']")
    page.click("#confirm-dialog button:has-text('Delete export')")
    page.wait_for_selector(f"#export-{keep.id}", state="detached")
    assert not ExportJob.objects.filter(id=keep.id).exists()

    # The detail page asks the same way, without htmx.
    services.export_job_start(job=running)
    page.goto(f"{live_server.url}/exports/{running.id}/")
    page.click("main button:has-text('Cancel')")
    dialog.wait_for(state="visible")
    page.click("#confirm-dialog button:has-text('Cancel export')")
    page.wait_for_selector("#export-detail[data-status='stopped']")
    page.click("main button:has-text('Delete')")
    page.click("#confirm-dialog button:has-text('Delete export')")
    page.wait_for_selector("h1:has-text('Exports')")
    assert not ExportJob.objects.exists()
    assert browser_boxes == []  # never the browser's own confirm box


def test_compact_rows_with_progress_and_time_left(sized_page, live_server, member, logs_3000,
                                                  export_queue):
    from datetime import timedelta

    from django.utils import timezone

    from exports import services

    page = sized_page
    now = timezone.now()
    week = services.export_job_create(
        workspace=logs_3000, description="Weekly", requested_data=["id", "ai_model", "cost"],
        filters={"created_at": {"gte": (now - timedelta(days=7)).isoformat(),
                                "lte": now.isoformat()}})
    running = services.export_job_create(workspace=logs_3000, filters={}, limit=3000,
                                         requested_data=["id"], description="Running")
    services.export_job_start(job=running)  # no worker: the test sets its progress
    ExportJob.objects.filter(id=running.id).update(rows_written=1000,
                                                   started_at=now - timedelta(seconds=60))
    log_in_member(page, live_server)
    row = page.locator(f"#export-{week.id}")
    range_name = row.locator(".range-name")
    assert range_name.inner_text() == "Last 7 days"
    assert range_name.get_attribute("title").endswith(" UTC")  # the exact times on hover
    assert row.locator(".field-count").inner_text().startswith("3 fields")
    assert row.locator(".field-count").get_attribute("title") == "ID, AI Model, Cost"
    # Details, Activity and Delete wait in the row's menu.
    assert not row.locator(".menu a:has-text('Details')").is_visible()
    open_row_menu(page, "Weekly")
    assert row.locator(".menu a:has-text('Details')").is_visible()
    assert row.locator("button:has-text('Delete')").is_visible()
    page.keyboard.press("Escape")
    assert not row.locator(".menu a:has-text('Details')").is_visible()

    height = row.bounding_box()["height"]
    badge = row.locator(".badge").bounding_box()
    title = row.locator(".export-title").bounding_box()
    if page.size == "1366":
        assert height <= 75, height  # one or two lines
    else:
        assert badge["y"] < title["y"]  # status first on a phone
        assert height <= 844 / 5, height  # five cards to a screen, not one

    # Progress: a bar and the time left, at this pace (1,000 rows a minute, 2,000 to go).
    running_row = page.locator(f"#export-{running.id}")
    assert running_row.locator("progress").get_attribute("value") == "1000"
    assert "about 2 minutes left" in running_row.inner_text()
    page.goto(f"{live_server.url}/exports/{running.id}/")
    assert page.locator("main progress").get_attribute("value") == "1000"
    assert "about 2 minutes left" in page.inner_text(".detail-progress")
    assert horizontal_overflow(page) == 0


def test_a_logs_row_opens_its_drawer(sized_page, live_server, member, logs_3000):
    page = sized_page
    log_in_member(page, live_server)
    page.goto(f"{live_server.url}/logs/")
    row = page.locator(".logs-table tbody tr").nth(3)
    model = row.locator("td").nth(1).inner_text().split(" ·")[0]
    row.locator("td").first.click()  # the time cell: no link there
    heading = page.wait_for_selector("#log-detail h2")
    assert model in heading.inner_text()
    box = heading.bounding_box()
    assert 0 <= box["y"] < page.viewport_size["height"]
    assert "$" in page.inner_text("#log-detail .facts")  # cost in dollars, cents beside
    heights = page.eval_on_selector_all(
        ".logs-table tbody tr", "rows => rows.map(r => r.getBoundingClientRect().height)")
    if page.size == "1366":
        assert max(heights) <= 45, max(heights)  # was 65 px
        apply_box = page.locator("button:has-text('Apply')").bounding_box()
        status_box = page.locator("#id_status_code").bounding_box()
        assert abs(apply_box["y"] - status_box["y"]) < 10  # beside its field, not alone
    assert page.inner_text("[data-testid=page-position]") == "1–50 of 3,000"
    assert horizontal_overflow(page) == 0
    page.keyboard.press("Escape")
    page.wait_for_selector("#log-detail h2", state="detached")
