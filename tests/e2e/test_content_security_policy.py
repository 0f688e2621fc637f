"""The pages under an enforced Content-Security-Policy: they work, and the browser reports no
violation (an inline script, style or handler would be refused and reported)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Membership
from exports.models import ExportJob
from logs.seeding import seed_logs
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-test-password-8"

# Runs before any page script (through DevTools, so the CSP does not apply to it).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


@pytest.fixture
def staff_member(workspace):
    person = get_user_model().objects.create_user(
        username="linus", password=PASSWORD, is_staff=True, is_superuser=True)
    Membership.objects.create(user=person, workspace=workspace)
    seed_logs(workspace_id=workspace.id, count=200, now=timezone.now(), days=5, seed=3)
    return person


def test_pages_work_with_the_policy_enforced_and_report_no_violation(
        page, live_server, staff_member, export_queue):
    console_errors: list[str] = []
    page.on("console", lambda message: message.type == "error"
            and console_errors.append(message.text))
    page.add_init_script(RECORD_VIOLATIONS)
    violations: list[str] = []

    def visit(path: str) -> None:
        response = page.goto(f"{live_server.url}{path}")
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        collect()

    def collect() -> None:
        violations.extend(page.evaluate("window.__cspViolations"))
        page.evaluate("window.__cspViolations = []")

    log_in(page, live_server, username="linus", password=PASSWORD)
    collect()
    # htmx does its work: the Request Data panel, its live preview, a new draft, Start.
    page.click("header >> text=Request Data")
    page.wait_for_selector("#request-panel form")
    page.wait_for_selector("[data-testid=preview-rows]")
    page.fill("#id_description", "Under the policy")
    page.click("button:has-text('Save as draft')")
    page.wait_for_selector("text=Under the policy")
    job = ExportJob.objects.get()
    page.click(f"#export-{job.id} button:has-text('Start')")
    page.wait_for_selector(f"#export-{job.id}[data-status='in_progress']")
    collect()

    for path in ["/", "/exports/new/", "/logs/", f"/exports/{job.id}/activity/", "/admin/",
                 "/admin/exports/exportjob/", f"/admin/exports/exportjob/{job.id}/change/",
                 "/admin/exports/exportevent/", "/v1/docs", "/destinations/", "/schedules/"]:
        visit(path)
    page.context.clear_cookies()
    visit("/admin/login/")
    visit("/accounts/login/")

    assert violations == []
    assert [text for text in console_errors if "Content Security Policy" in text] == []
