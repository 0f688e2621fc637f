"""The API keys page and the admin's export actions in a real Chromium, at 1366×900 and 390×844,
with a real RQ worker; the key made in the page is used through the portkey-ai SDK."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect
from portkey_ai import Portkey
from portkey_ai.api_resources.exceptions import AuthenticationError

from accounts.models import ApiKey, Membership
from exports import services
from exports.models import ExportJob
from logs.seeding import seed_logs
from tests.conftest import wait_for
from tests.e2e.conftest import (
    horizontal_overflow,
    log_in,
    serious_accessibility_violations,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password-7"
VIEWPORTS = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}
Status = ExportJob.Status


@pytest.fixture(params=list(VIEWPORTS), ids=[f"{size}px" for size in VIEWPORTS])
def sized_page(request, browser, live_server):
    context = browser.new_context(viewport=VIEWPORTS[request.param], accept_downloads=True)
    # The Copy button writes to the clipboard; the test reads it back.
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    context.set_default_timeout(20_000)
    tab = context.new_page()
    tab.size = request.param
    yield tab
    context.close()


@pytest.fixture
def logs_1000(workspace):
    seed_logs(workspace_id=workspace.id, count=1000, now=timezone.now(), days=3, seed=5)
    return workspace


# --- The API keys page ------------------------------------------------------------------------

def test_a_key_made_on_the_page_works_with_the_sdk_until_revoked(
    sized_page, live_server, logs_1000, rq_workers, screenshot
):
    page = sized_page
    person = get_user_model().objects.create_user(username="kim", password=PASSWORD)
    Membership.objects.create(user=person, workspace=logs_1000, role=Membership.Role.ADMIN)
    if page.size == "1366":
        rq_workers.start(burst=False)
    log_in(page, live_server, username="kim", password=PASSWORD)
    page.click("nav >> text=API keys")
    page.wait_for_selector("h1:has-text('API keys')")
    page.wait_for_load_state()  # htmx has taken over the forms
    assert page.locator("text=No keys yet").is_visible()
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    page.click("button:has-text('Create key')")  # no name yet: refused in place, focus on it
    page.wait_for_selector(".field-error:has-text('Name: give the key a name')")
    # after htmx settles; expect() polls without eval, which the page's CSP refuses
    expect(page.locator("#id_name")).to_be_focused()
    assert not ApiKey.objects.exists()
    page.fill("#id_name", "nightly sync")
    page.check("input[name=scopes][value='logs.view']")
    assert page.is_checked("input[name=scopes][value='logs.export']")  # pre-checked
    page.click("button:has-text('Create key')")
    shown = page.wait_for_selector("[data-testid=new-api-key]")
    raw = shown.input_value()
    api_key = ApiKey.objects.get()
    assert raw.startswith(f"lx_{api_key.prefix}_") and api_key.scopes == ["logs.export",
                                                                          "logs.view"]
    assert page.evaluate("window.__sameDocument") is True  # htmx, no reload
    page.click("button[data-copy]")
    page.wait_for_selector("button[data-copy]:has-text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == raw
    row = page.locator(f"#api-key-{api_key.id}")
    assert f"lx_{api_key.prefix}_…" in row.inner_text()
    assert "Never" in row.inner_text()

    assert horizontal_overflow(page) <= 0, "the API keys page scrolls sideways"
    assert serious_accessibility_violations(page) == []
    screenshot(page, f"api-keys-{page.size}")

    client = Portkey(api_key=raw, base_url=f"{live_server.url}/v1")
    if page.size == "1366":
        export = client.logs.exports.create(filters={}, requested_data=["id", "ai_model"])
        client.logs.exports.start(export_id=export.id)
        wait_for(lambda: client.logs.exports.retrieve(export_id=export.id).status == "success",
                 timeout=60, interval=0.3)
        assert client.logs.exports.retrieve(export_id=export.id).rows_written == 1000
    else:
        assert client.logs.exports.list().total == 0
    page.reload()
    assert "ago" in page.locator(f"#api-key-{api_key.id}").inner_text()  # its last use

    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"#api-key-{api_key.id} button:has-text('Revoke')")
    page.wait_for_selector("text=Revoked nightly sync")
    assert page.locator(f"#api-key-{api_key.id} .badge").inner_text() == "Revoked"
    with pytest.raises(AuthenticationError):
        client.logs.exports.list()
    assert horizontal_overflow(page) <= 0


def test_the_api_keys_page_works_without_javascript(browser, live_server, workspace):
    person = get_user_model().objects.create_user(username="kim", password=PASSWORD)
    Membership.objects.create(user=person, workspace=workspace, role=Membership.Role.ADMIN)
    context = browser.new_context(viewport=VIEWPORTS["1366"], java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, live_server, username="kim", password=PASSWORD)
        page.click("nav >> text=API keys")
        page.fill("#id_name", "no-js")
        page.click("button:has-text('Create key')")
        raw = page.wait_for_selector("[data-testid=new-api-key]").input_value()
        api_key = ApiKey.objects.get()
        assert raw.startswith(f"lx_{api_key.prefix}_") and api_key.scopes == ["logs.export"]
        assert not page.is_visible("button[data-copy]")  # no JavaScript, no Copy button
        page.click(f"#api-key-{api_key.id} button:has-text('Revoke')")
        page.wait_for_selector("text=Revoked no-js")
        api_key.refresh_from_db()
        assert api_key.revoked_at is not None
    finally:
        context.close()


# --- The admin's export actions ---------------------------------------------------------------

def admin_log_in(page, live_server) -> None:
    get_user_model().objects.create_superuser(username="root", password=PASSWORD)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def shown_status(page) -> str:
    return page.locator(".field-status .readonly").inner_text().strip()


def wait_for_job(job: ExportJob, status: str, timeout: float = 60) -> ExportJob:
    return wait_for(lambda: ExportJob.objects.filter(id=job.id, status=status).first(),
                    timeout=timeout, interval=0.2, message=f"export never became {status}")


def click_tool(page, label: str) -> None:
    page.click(f".object-tools >> text='{label}'")
    page.wait_for_selector("ul.messagelist")


def test_admin_actions_change_state_as_the_page_does(sized_page, live_server, logs_1000,
                                                      other_workspace, rq_workers, screenshot):
    page = sized_page
    services.export_job_create(workspace=other_workspace, filters={}, requested_data=["id"],
                               description="another tenant's")
    job = services.export_job_create(workspace=logs_1000, filters={},
                                     requested_data=["id", "created_at", "ai_model"],
                                     limit=600, description="from the admin")
    # At 390 px the worker is slowed down (≈ 4 s a run) so that Cancel catches it running.
    slow = page.size == "390"
    rq_workers.start(burst=False, **({"EXPORTS_MAX_ROWS_PER_SECOND": "150"} if slow else {}))
    admin_log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/exports/exportjob/")
    assert page.locator("#changelist-filter >> text=By organization").count() == 1
    page.click(f"a[href='/admin/exports/exportjob/{job.id}/change/']")
    assert shown_status(page) == "Draft"
    assert page.locator("input[name=limit]").count() == 1  # a draft can still be edited
    screenshot(page, f"admin-export-change-{page.size}")

    click_tool(page, "Start")
    assert "started" in page.inner_text("ul.messagelist")
    if slow:
        wait_for(lambda: ExportJob.objects.get(id=job.id).rows_written > 0, timeout=30)
        click_tool(page, "Cancel")
        assert "cancelled" in page.inner_text("ul.messagelist")
        assert shown_status(page) == "Stopped"
        job.refresh_from_db()
        assert (job.status, job.attempt) == (Status.STOPPED, 1) and job.finished_at
        click_tool(page, "Start Again")
        job = wait_for_job(job, Status.SUCCESS)
        assert job.attempt == 2
    else:
        job = wait_for_job(job, Status.SUCCESS)
        assert job.attempt == 1
    assert (job.rows_written, job.total_records, job.error) == (600, 600, "")
    page.reload()
    assert shown_status(page) == "Success"
    # A Success export is a record now: nothing to edit, nothing to save.
    assert page.locator("input[name=limit], input[name=_save]").count() == 0
    if not slow:
        screenshot(page, f"admin-export-change-success-{page.size}")
    with page.expect_download() as download_info:
        page.click(".object-tools >> text='Download'")
    lines = Path(download_info.value.path()).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 600
    assert list(json.loads(lines[0])) == ["id", "created_at", "ai_model"]

    # A refusal for the wrong state, through the list's action, as the page refuses it.
    page.goto(f"{live_server.url}/admin/exports/exportjob/")
    page.check(f"input[name=_selected_action][value='{job.id}']")
    page.select_option("select[name=action]", "cancel_exports")
    page.click("button[name=index]")
    page.wait_for_selector("ul.messagelist")
    assert "only an export in progress can be cancelled" in page.inner_text("ul.messagelist")
    job.refresh_from_db()
    assert (job.status, job.rows_written) == (Status.SUCCESS, 600)
    screenshot(page, f"admin-exports-list-{page.size}")
    assert horizontal_overflow(page) <= 0 or page.size == "390"  # the admin's table may scroll
