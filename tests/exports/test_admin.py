"""Exports in the admin: read-only after Draft; Start, Start Again, Cancel and Download through
exports.services, refusals shown as admin messages; tenant filters."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from accounts.models import Organization
from exports import services
from exports.models import ExportJob

pytestmark = pytest.mark.django_db

Status = ExportJob.Status


@pytest.fixture
def staff():
    client = Client()
    client.force_login(get_user_model().objects.create_superuser(username="root", password=None))
    return client


@pytest.fixture
def draft(seeded):
    return services.export_job_create(workspace=seeded, filters={}, requested_data=["id"],
                                      limit=100, description="for the admin")


def change_url(job) -> str:
    return f"/admin/exports/exportjob/{job.id}/change/"


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# What the browser also posts: the management form of the (read-only) activity inline.
ACTIVITY_INLINE = {"events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0",
                   "events-MIN_NUM_FORMS": "0", "events-MAX_NUM_FORMS": "1000"}


def set_status(job, status, **fields):
    # Arranging a state for the test; in the product only the services do this.
    ExportJob.objects.filter(id=job.id).update(status=status, **fields)
    job.refresh_from_db()


def test_a_draft_is_edited_through_the_service_with_its_checks(staff, draft):
    page = staff.get(change_url(draft)).content.decode()
    assert 'name="requested_data"' in page and 'name="limit"' in page
    assert 'name="status"' not in page and 'name="workspace"' not in page
    bad = staff.post(change_url(draft), {"description": "x", "requested_data": ["id"],
                                         "limit": "0", "offset": "0", "format": "jsonl",
                                         **ACTIVITY_INLINE})
    assert bad.status_code == 200 and "must be at least 1" in bad.content.decode()
    draft.refresh_from_db()
    assert draft.limit == 100
    good = staff.post(change_url(draft), {"description": "renamed", "offset": "10",
                                          "requested_data": ["ai_model", "id"], "limit": "50",
                                          "format": "jsonl.gz", **ACTIVITY_INLINE})
    assert good.status_code == 302
    draft.refresh_from_db()
    assert (draft.description, draft.requested_data, draft.limit, draft.offset, draft.format) == (
        "renamed", ["id", "ai_model"], 50, 10, "jsonl.gz")
    assert draft.total_records == 50  # recounted by the service


def test_a_success_export_cannot_be_rewritten(staff, draft):
    set_status(draft, Status.SUCCESS, file_name="x.jsonl", file_size=3, rows_written=100)
    page = staff.get(change_url(draft)).content.decode()
    assert 'name="requested_data"' not in page and 'name="limit"' not in page
    assert 'name="_save"' not in page  # no Save button
    response = staff.post(change_url(draft), {"description": "hacked", "limit": "1",
                                              "requested_data": ["password"], "offset": "0",
                                              "format": "jsonl", **ACTIVITY_INLINE})
    assert response.status_code in (302, 403)
    draft.refresh_from_db()
    assert "Requested fields:" in page and "1: ID" in page
    assert (draft.description, draft.limit, draft.requested_data) == ("for the admin", 100,
                                                                      ["id"])


def test_no_export_is_added_by_hand(staff):
    assert staff.get("/admin/exports/exportjob/add/").status_code == 403


def test_start_on_the_change_page_is_the_service_start(staff, draft, export_queue):
    page = staff.get(change_url(draft)).content.decode()
    assert f'action="/admin/exports/exportjob/{draft.id}/start/"' in page and ">Start<" in page
    assert staff.get(f"/admin/exports/exportjob/{draft.id}/start/").status_code == 405
    response = staff.post(f"/admin/exports/exportjob/{draft.id}/start/", follow=True)
    assert response.redirect_chain[-1][0] == change_url(draft)
    assert any("started" in text for text in messages_of(response))
    draft.refresh_from_db()
    assert (draft.status, draft.attempt) == (Status.IN_PROGRESS, 1)
    assert ">Cancel<" in response.content.decode()


def test_a_refusal_for_the_wrong_state_is_a_message_and_changes_nothing(staff, draft):
    response = staff.post(f"/admin/exports/exportjob/{draft.id}/cancel/", follow=True)
    assert ("only an export in progress can be cancelled" in " ".join(messages_of(response)))
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    set_status(draft, Status.SUCCESS)
    response = staff.post(f"/admin/exports/exportjob/{draft.id}/start/", follow=True)
    assert "only a draft, failed or stopped export can be started" in " ".join(
        messages_of(response))
    draft.refresh_from_db()
    assert (draft.status, draft.attempt) == (Status.SUCCESS, 0)


def test_the_plan_gate_refuses_a_start_in_the_admin_too(staff, draft):
    Organization.objects.filter(id=draft.workspace.organization_id).update(plan="free")
    response = staff.post(f"/admin/exports/exportjob/{draft.id}/start/", follow=True)
    assert "only available on the enterprise plan" in " ".join(messages_of(response))
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_cancel_and_start_again_on_the_change_page(staff, draft, export_queue):
    services.export_job_start(job=draft)
    response = staff.post(f"/admin/exports/exportjob/{draft.id}/cancel/", follow=True)
    draft.refresh_from_db()
    assert draft.status == Status.STOPPED
    assert ">Start Again<" in response.content.decode()
    staff.post(f"/admin/exports/exportjob/{draft.id}/start/")
    draft.refresh_from_db()
    assert (draft.status, draft.attempt) == (Status.IN_PROGRESS, 2)
    # The admin's actions are in the audit trail under the admin's name, like the page's.
    admin_events = draft.events.filter(channel="admin").order_by("at", "id")
    assert [(event.action, event.actor) for event in admin_events] == [
        ("cancelled", "root"), ("started", "root")
    ]


def test_the_list_actions_apply_to_each_and_report_each_refusal(staff, seeded, export_queue):
    jobs = [services.export_job_create(workspace=seeded, filters={}, requested_data=["id"],
                                       limit=10) for _ in range(2)]
    set_status(jobs[1], Status.SUCCESS)
    response = staff.post("/admin/exports/exportjob/", {
        "action": "start_exports", "_selected_action": [str(job.id) for job in jobs],
    }, follow=True)
    texts = messages_of(response)
    assert any(str(jobs[0].id) in text and "started" in text for text in texts)
    assert any(str(jobs[1].id) in text and "only a draft" in text for text in texts)
    assert [ExportJob.objects.get(id=job.id).status for job in jobs] == [Status.IN_PROGRESS,
                                                                        Status.SUCCESS]
    staff.post("/admin/exports/exportjob/", {"action": "cancel_exports",
                                             "_selected_action": [str(jobs[0].id)]})
    assert ExportJob.objects.get(id=jobs[0].id).status == Status.STOPPED


def test_download_gives_a_fresh_signed_url_or_says_why_not(staff, draft, tmp_path, settings):
    refused = staff.get(f"/admin/exports/exportjob/{draft.id}/download/", follow=True)
    assert "a file can be downloaded once it has succeeded" in " ".join(messages_of(refused))
    settings.STORAGES = {**settings.STORAGES, "exports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path), "base_url": None}}}
    (tmp_path / "f.jsonl").write_text('{"id": "1"}\n')
    set_status(draft, Status.SUCCESS, file_name="f.jsonl", file_size=12,
               expires_at=timezone.now() + timezone.timedelta(days=1))
    listing = staff.get("/admin/exports/exportjob/").content.decode()
    assert f'href="/admin/exports/exportjob/{draft.id}/download/">Download<' in listing
    response = staff.get(f"/admin/exports/exportjob/{draft.id}/download/")
    assert response.status_code == 302 and "/exports/file/" in response["Location"]
    assert Client().get(response["Location"]).getvalue() == b'{"id": "1"}\n'


def test_the_technical_failure_text_is_shown(staff, draft):
    set_status(draft, Status.FAILED,
               error="JobTimeoutException: Task exceeded maximum timeout value (8 seconds)")
    assert "JobTimeoutException: Task exceeded maximum timeout value" in staff.get(
        change_url(draft)).content.decode()
    assert "JobTimeoutException" in staff.get("/admin/exports/exportjob/").content.decode()


def test_deleting_in_the_admin_removes_the_file_too(staff, draft, tmp_path, settings,
                                                   django_capture_on_commit_callbacks):
    settings.STORAGES = {**settings.STORAGES, "exports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path), "base_url": None}}}
    (tmp_path / "f.jsonl").write_text("x\n")
    set_status(draft, Status.SUCCESS, file_name="f.jsonl")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(f"/admin/exports/exportjob/{draft.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ExportJob.objects.filter(id=draft.id).exists()
    assert not (tmp_path / "f.jsonl").exists()


def test_workspace_and_organization_filters(staff, draft, other_workspace):
    theirs = services.export_job_create(workspace=other_workspace, filters={},
                                        requested_data=["id"], description="theirs")
    page = staff.get("/admin/exports/exportjob/").content.decode()
    assert "By organization" in page and "By workspace" in page
    by_org = staff.get("/admin/exports/exportjob/",
                       {"workspace__organization__id__exact": other_workspace.organization_id})
    html = by_org.content.decode()
    assert str(theirs.id) in html and str(draft.id) not in html
    by_workspace = staff.get("/admin/exports/exportjob/",
                             {"workspace__id__exact": draft.workspace_id})
    html = by_workspace.content.decode()
    assert str(draft.id) in html and str(theirs.id) not in html


def test_an_unreachable_queue_is_a_refusal_and_the_export_stays_a_draft(staff, draft, settings):
    # A queue on a port nothing listens on: the shared Redis is never touched.
    settings.RQ_QUEUES = {**settings.RQ_QUEUES, "exports-nowhere": {
        "URL": "redis://127.0.0.1:1/0", "DEFAULT_TIMEOUT": 60}}
    settings.EXPORTS_QUEUE = "exports-nowhere"
    response = staff.post(f"/admin/exports/exportjob/{draft.id}/start/", follow=True)
    assert services.QUEUE_DOWN_MESSAGE in " ".join(messages_of(response))
    draft.refresh_from_db()
    assert (draft.status, draft.attempt) == (Status.DRAFT, 0)
