"""Every page at 1366×900 and 390×844: no horizontal scroll, no serious or critical axe-core
violation, and a screenshot of each (docs/screenshots/ holds a committed copy). Then the whole
flow with the keyboard alone."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Organization
from exports import services
from exports.audit import Action, Actor, Channel, record_export_event
from exports.models import ExportJob
from tests.e2e.conftest import (
    PASSWORD,
    horizontal_overflow,
    log_in_member,
    serious_accessibility_violations,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RQ_TIMEOUT_TEXT = "JobTimeoutException: Task exceeded maximum timeout value (8 seconds)"


def every_status(workspace, rq_workers) -> dict[str, ExportJob]:
    grace = get_user_model().objects.get(username="grace")

    def create(description: str, **extra) -> ExportJob:
        return services.export_job_create(
            workspace=workspace, description=description, created_by=grace,
            filters={"created_at": {"gte": (timezone.now() - timedelta(days=7)).isoformat()}},
            requested_data=["id", "created_at", "ai_model", "total_tokens", "cost"], **extra)

    succeeded = create("Model comparison", limit=800, file_format="jsonl.gz")
    services.export_job_start(job=succeeded)
    rq_workers.run_burst()
    failed = create("Finance, March", limit=100)
    services.export_job_start(job=failed)
    # What RQ records when a job runs past its timeout (the worker is not needed to show it).
    services.export_job_fail(job_id=failed.id, attempt=1, reason=RQ_TIMEOUT_TEXT)
    stopped = create("Everything, last week")
    services.export_job_start(job=stopped)
    services.export_job_cancel(job=stopped)
    running = create("Support escalations", limit=3000)
    services.export_job_start(job=running)  # no worker takes it: it stays in progress
    ExportJob.objects.filter(id=running.id).update(rows_written=1100)
    draft = create("Latency audit", limit=1000, offset=1000)
    return {"success": succeeded, "failed": failed, "stopped": stopped,
            "in_progress": running, "draft": draft}


def test_every_page_at_both_sizes(sized_page, live_server, member, logs_3000, rq_workers,
                                  screenshot):
    page = sized_page
    size = page.size
    problems: dict[str, list[str]] = {}

    def visit(name: str, *, full_page: bool = True) -> None:
        # On a phone the Request Data footer sticks to the screen's foot: a full-page picture
        # would show it mid-page, so those pages are shown as the screen shows them.
        full_page = full_page and not (size == "390" and name.startswith("request-data"))
        page.wait_for_load_state("networkidle")
        screenshot(page, f"{name}-{size}", full_page=full_page)
        overflow = horizontal_overflow(page)
        found = serious_accessibility_violations(page)
        if overflow:
            found.append(f"page is {overflow}px wider than the window")
        if found:
            problems[name] = found

    page.goto(f"{live_server.url}/accounts/login/")
    visit("login")
    log_in_member(page, live_server)
    page.wait_for_selector("text=No exports yet")
    visit("exports-empty")

    page.click("header >> text=Request Data")
    page.wait_for_selector("#request-panel [data-testid=preview-rows]")
    visit("request-data-panel")
    if size == "390":  # the preview and Request Export at the foot of the screen, mid-form
        page.locator("input[name=requested_data][value=response]").scroll_into_view_if_needed()
        visit("request-data-panel-scrolled", full_page=False)
        page.evaluate("window.scrollTo(0, 0)")
    page.click("button:has-text('Select none')")
    page.fill("#id_offset", "-1")
    page.wait_for_selector("#preview .field-error:has-text('Offset: must be 0 or more')")
    # Every problem at once, each naming its field.
    assert "Requested fields: choose at least one field" in page.inner_text("#preview")
    visit("request-data-errors")

    page.goto(f"{live_server.url}/exports/new/?time_range=7d")
    page.wait_for_selector("[data-testid=preview-rows]")
    visit("request-data-page")
    # Filters as chips: a model and a status code chosen, a cost range, "Add a filter" open.
    page.goto(f"{live_server.url}/exports/new/?time_range=7d&ai_model=gpt-4o&status_code=200"
              "&cost_min=0.01")
    page.wait_for_selector(".filter-chip[data-filter=ai_model]")
    visit("request-data-filters")

    jobs = every_status(logs_3000, rq_workers)
    page.goto(f"{live_server.url}/")
    page.wait_for_selector(f"#export-{jobs['draft'].id}")
    assert "took longer than one export may run" in page.inner_text(
        f"#export-{jobs['failed'].id}")
    assert "JobTimeoutException" not in page.inner_text("main")
    visit("exports-list")
    page.click(f"#export-{jobs['success'].id} summary")  # the row's menu
    visit("exports-list-menu", full_page=False)
    page.click(f"#export-{jobs['success'].id} .menu button:has-text('Delete')")
    page.wait_for_selector("#confirm-dialog[open]")
    visit("confirm-delete", full_page=False)
    page.keyboard.press("Escape")
    page.wait_for_selector("#confirm-dialog:not([open])", state="attached")

    page.goto(f"{live_server.url}/exports/{jobs['success'].id}/")
    page.wait_for_selector("h1:has-text('Model comparison')")
    visit("export-detail")
    page.goto(f"{live_server.url}/exports/{jobs['failed'].id}/")
    visit("export-detail-failed")
    ExportJob.objects.filter(id=jobs["in_progress"].id).update(
        started_at=timezone.now() - timedelta(seconds=40))
    page.goto(f"{live_server.url}/exports/{jobs['in_progress'].id}/")
    page.wait_for_selector(".detail-progress")
    visit("export-detail-running")
    success = jobs["success"]
    for action in (Action.CREATED, Action.STARTED, Action.DOWNLOAD_LINK):
        record_export_event(job=success, action=action, actor=Actor(
            channel=Channel.PAGE, user=member, ip_address="203.0.113.7"))
    page.goto(f"{live_server.url}/exports/{success.id}/activity/")
    page.wait_for_selector(".activity-row")
    visit("export-activity")

    page.goto(f"{live_server.url}/v1/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    visit("api-docs")

    page.goto(f"{live_server.url}/logs/")
    page.wait_for_selector(".logs-table")
    visit("logs")
    page.fill("#id_status_code", "abc")
    page.click("button:has-text('Apply')")
    page.wait_for_selector("#errors-status_code .field-error")
    visit("logs-invalid-filter")
    page.goto(f"{live_server.url}/logs/")
    page.locator(".logs-table tbody tr").first.locator("td").first.click()  # the row opens it
    page.wait_for_selector("#log-detail h2")
    visit("log-detail", full_page=False)  # a drawer over the list

    Organization.objects.update(plan=Organization.Plan.FREE)
    ExportJob.objects.all().delete()
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("text=No exports yet")
    visit("exports-free-plan")

    assert problems == {}


def test_the_whole_flow_with_the_keyboard_alone(page, live_server, member, logs_3000,
                                                rq_workers):
    rq_workers.start(burst=False)

    def tab_to(selector: str, *, limit: int = 80) -> None:
        """Tab (forwards) until the focused element matches; fail if it is never reached."""
        for _ in range(limit):
            if page.evaluate("(s) => document.activeElement.matches(s)", selector):
                return
            page.keyboard.press("Tab")
        raise AssertionError(f"{selector} cannot be reached with Tab")

    page.goto(f"{live_server.url}/accounts/login/")
    tab_to("#id_username")
    page.keyboard.type("grace")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:has-text('Exports')")

    tab_to("header a.button.primary")
    page.keyboard.press("Enter")
    page.wait_for_selector("#request-panel form")
    assert page.evaluate("document.activeElement.id") == "request-title"
    tab_to("input[name=time_range]", limit=10)  # the checked one: Last 7 days
    page.keyboard.press("ArrowRight")  # radios move with the arrows: Last 30 days
    assert page.is_checked("input[name=time_range][value='30d']")
    tab_to("#id_limit")
    page.keyboard.press("Control+A")
    page.keyboard.type("300")
    tab_to("#id_description")
    page.keyboard.type("Keyboard only")
    page.keyboard.press("Enter")
    page.wait_for_selector(".export-row:has-text('Keyboard only')")
    job = ExportJob.objects.get()
    assert (job.limit, job.description) == (300, "Keyboard only")
    # Enter means Request Export and Start: the keyboard lands on the started export's name.
    assert job.status == "in_progress" or job.started_at is not None
    assert page.evaluate("document.activeElement.className") == "export-title"
    page.wait_for_selector(f"#export-{job.id}[data-status='success']", timeout=60_000)
    tab_to("[aria-label='Download export Keyboard only']", limit=20)
    with page.expect_download() as download_info:
        page.keyboard.press("Enter")
    assert len(Path(download_info.value.path()).read_text().splitlines()) == 300

    tab_to("[aria-label='More actions for export Keyboard only']", limit=5)
    page.keyboard.press("Enter")  # opens the row's menu
    tab_to("[aria-label='Details of export Keyboard only']", limit=3)
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:has-text('Keyboard only')")
    rq_workers.stop_all()
