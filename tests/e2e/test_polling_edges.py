"""What a polling page does at its edges: the session ending under it, its export deleted."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.contrib.sessions.models import Session

from exports import services
from exports.models import ExportJob
from tests.e2e.conftest import PASSWORD, log_in_member

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def running(workspace, description: str) -> ExportJob:
    # Started for real; no worker takes it from the test queue, so it stays in progress.
    job = services.export_job_create(workspace=workspace, description=description, filters={},
                                     requested_data=["id"], limit=10)
    return services.export_job_start(job=job)


def sign_in_again(page) -> None:
    page.fill("#id_username", "grace")
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Sign in')")


@pytest.mark.parametrize("where", ["list", "detail"])
def test_a_session_ending_while_a_page_polls_goes_to_the_login_page_and_back(
    page, live_server, member, workspace, export_queue, where
):
    job = running(workspace, "Long one")
    log_in_member(page, live_server)
    path = "/" if where == "list" else f"/exports/{job.id}/"
    if where == "detail":
        page.goto(f"{live_server.url}{path}")
        page.wait_for_selector("#export-detail[data-status='in_progress']")
    else:
        page.wait_for_selector(f"#export-{job.id}[data-status='in_progress']")
    # The session ends under the page (expired, or signed out elsewhere); its next poll finds out.
    Session.objects.all().delete()

    page.wait_for_url(f"{live_server.url}/accounts/login/?next={quote(path, safe='')}")
    assert page.locator("h1").inner_text() == "Sign in"
    assert page.locator("#export-rows, #export-detail").count() == 0  # a whole page, no row

    sign_in_again(page)
    page.wait_for_url(f"{live_server.url}{path}")
    if where == "detail":
        page.wait_for_selector("#export-detail[data-status='in_progress']")
    else:
        page.wait_for_selector(f"#export-{job.id}[data-status='in_progress']")
    assert page.locator("form[action='/accounts/login/']").count() == 0


def test_the_row_of_an_export_deleted_elsewhere_stops_polling_and_goes(
    page, live_server, member, workspace, export_queue
):
    gone = running(workspace, "Deleted elsewhere")
    stays = running(workspace, "Still running")
    log_in_member(page, live_server)
    page.wait_for_selector(f"#export-{gone.id}[data-status='in_progress']")
    answers: dict[str, list[int]] = {str(gone.id): [], str(stays.id): []}

    def note(response) -> None:
        for export_id, statuses in answers.items():
            if f"/exports/{export_id}/row/" in response.url:
                statuses.append(response.status)

    page.on("response", note)
    # Gone from the database under the page, as the admin or another tab removes it.
    ExportJob.objects.filter(id=gone.id).delete()

    page.wait_for_selector(f"#export-{gone.id}", state="detached")
    assert answers[str(gone.id)][-1] == 286
    # The other row polls on; over its next three polls the deleted one asks nothing more.
    asked = len(answers[str(gone.id)])
    three_more = len(answers[str(stays.id)]) + 3
    while len(answers[str(stays.id)]) < three_more:
        page.wait_for_event("response", timeout=10_000)
    assert len(answers[str(gone.id)]) == asked
    assert page.locator(f"#export-{stays.id}[data-status='in_progress']").count() == 1
    assert 404 not in answers[str(gone.id)]
