"""The Exports pages and partials: full pages, htmx partials, actions in every state, gates."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.html import strip_tags

from accounts.models import Membership, Organization
from exports import services
from exports.access import DATA_SERVICE_REQUIRED, PLAN_REQUIRED
from exports.fields import DEFAULT_FIELD_NAMES, FIELDS
from exports.models import ExportJob

Status = ExportJob.Status
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def member_client(client, user):
    client.force_login(user)
    return client


def new_job(workspace, **extra) -> ExportJob:
    return services.export_job_create(workspace=workspace, filters={}, requested_data=["id"],
                                      **extra)


def in_state(job: ExportJob, status: str) -> ExportJob:
    """Walks a job to a status through the services (success: as the worker records it)."""
    if status == Status.DRAFT:
        return job
    services.export_job_start(job=job)
    if status == Status.STOPPED:
        services.export_job_cancel(job=job)
    elif status == Status.FAILED:
        services.export_job_fail(job_id=job.id, attempt=job.attempt, reason="Disk on fire")
    elif status == Status.SUCCESS:
        ExportJob.objects.filter(id=job.id).update(
            status=Status.SUCCESS, file_name=f"{job.workspace_id}/{job.id}-1.jsonl",
            file_size=3, rows_written=1, finished_at=timezone.now(),
            expires_at=timezone.now() + timedelta(days=1),
        )
    job.refresh_from_db()
    return job


# --- The list -------------------------------------------------------------------------------

def test_pages_require_login(client, workspace):
    job = new_job(workspace)
    for url in ["/", "/exports/new/", "/exports/preview/", f"/exports/{job.id}/row/",
                f"/exports/{job.id}/download/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    for url in ["/exports/create/", "/exports/deliver/", f"/exports/{job.id}/start/",
                f"/exports/{job.id}/cancel/"]:
        response = client.post(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    job.refresh_from_db()
    assert job.status == Status.DRAFT


def test_empty_state_explains_exports_and_offers_request_data(member_client):
    response = member_client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "No exports yet" in html and "one JSON object per line" in html
    assert html.count('href="/exports/new/"') == 2  # header button and the empty state's
    assert 'class="nav-link active" aria-current="page">Exports' in html


def test_list_is_newest_first_with_details_and_paginated(member_client, seeded):
    jobs = []
    for number in range(21):
        job = new_job(seeded, description=f"export number {number}", limit=10 + number)
        ExportJob.objects.filter(id=job.id).update(
            created_at=timezone.now() - timedelta(minutes=100 - number))
        jobs.append(job)
    html = member_client.get("/").content.decode()
    assert html.index("export number 20") < html.index("export number 19")
    assert "export number 0<" not in html  # on page 2
    # A field count; the names on hover and to a screen reader.
    assert ('<span class="field-count" title="ID">1 field'
            '<span class="visually-hidden">: ID</span></span>') in html
    assert "Page 1 of 2" in html
    page_two = member_client.get("/?page=2", **HTMX)
    assert page_two.status_code == 200
    body = page_two.content.decode()
    assert "<html" not in body and body.lstrip().startswith('<div id="export-list"')
    assert "export number 0<" in body and "Page 2 of 2" in body


@pytest.mark.parametrize("status, action", [
    (Status.DRAFT, "Start"), (Status.FAILED, "Start Again"), (Status.STOPPED, "Start Again"),
    (Status.IN_PROGRESS, "Cancel"), (Status.SUCCESS, "Download"),
])
def test_each_status_shows_its_badge_and_only_its_action(member_client, workspace, status,
                                                         action):
    job = in_state(new_job(workspace), status)
    html = member_client.get("/").content.decode()
    assert f'<span class="badge badge-{status}">{job.get_status_display()}</span>' in html
    shown = {label for label in ("Start", "Start Again", "Cancel", "Download")
             if f">{label}</" in html}
    assert shown == {action}
    # The technical reason stays in the admin; the page says what it means in plain words.
    assert "Disk on fire" not in html
    assert ("Something went wrong while writing the file" in html) == (status == Status.FAILED)
    assert ('hx-trigger="every 2s"' in html) == (status == Status.IN_PROGRESS)


def test_a_running_row_shows_its_progress(member_client, seeded):
    job = in_state(new_job(seeded, limit=200), Status.IN_PROGRESS)
    ExportJob.objects.filter(id=job.id).update(rows_written=50)
    html = member_client.get("/").content.decode()
    assert '<progress max="200" value="50"' in html
    assert "50</span> of 200" in html and "25%" in html


@pytest.mark.parametrize("plan, data_service, notice", [
    (Organization.Plan.FREE, True, PLAN_REQUIRED),
    (Organization.Plan.ENTERPRISE, False, DATA_SERVICE_REQUIRED),
])
def test_gates_replace_the_form_with_a_notice(member_client, workspace, settings, plan,
                                              data_service, notice):
    Organization.objects.filter(id=workspace.organization_id).update(plan=plan)
    settings.DATA_SERVICE_ENABLED = data_service
    index = member_client.get("/").content.decode()
    assert notice in strip_tags(index) and 'href="/exports/new/"' not in index
    if plan == Organization.Plan.FREE:
        assert 'href="mailto:support@portkey.ai"' in index
    form_page = member_client.get("/exports/new/")
    assert form_page.status_code == 200
    assert notice in strip_tags(form_page.content.decode())
    assert 'action="/exports/deliver/"' not in form_page.content.decode()
    created = member_client.post("/exports/create/", {"requested_data": ["id"]})
    assert created.status_code == 403 and notice in strip_tags(created.content.decode())
    assert ExportJob.objects.count() == 0


# --- Request Data ---------------------------------------------------------------------------

def test_request_data_form_lists_the_catalogue_with_defaults_checked(member_client, seeded):
    response = member_client.get("/exports/new/")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    for field in FIELDS:
        checkbox = f'name="requested_data" value="{field.name}"'
        assert checkbox in html and field.description in html
        assert (f'{checkbox} checked' in html) == (field.name in DEFAULT_FIELD_NAMES)
    assert 'value="10000000"' in html and "At most 10,000,000 per export." in html
    for label in ("Last 24 hours", "Last 7 days", "Last 30 days", "Custom"):
        assert label in html
    assert 'value="jsonl.gz"' in html
    partial = member_client.get("/exports/new/", **HTMX).content.decode()
    assert "<html" not in partial and 'hx-post="/exports/deliver/"' in partial


def test_request_data_prefills_from_the_logs_filters(member_client, seeded):
    html = member_client.get(
        "/exports/new/?time_range=custom&created_from=2020-01-01T00:00&ai_model=gpt-4o"
        "&status_code=200"
    ).content.decode()
    assert ('value="custom" aria-describedby="errors-time_range" id="id_time_range_3" checked'
            in html)
    assert 'name="created_from" value="2020-01-01T00:00"' in html
    # Carried as editable chips: the model and the status code chosen in their choice lists.
    assert 'name="ai_model" value="gpt-4o" aria-describedby="errors-ai_model" checked' in html
    assert 'name="status_code" value="200" aria-describedby="errors-status_code" checked' in html
    assert 'class="filter-chip" data-filter="ai_model"' in html
    assert 'class="filter-chip is-unused" data-filter="ai_provider"' in html


def test_preview_counts_matches_rows_and_estimates_size(member_client, seeded):
    query = "time_range=custom&limit=100&offset=0&requested_data=id&requested_data=cost"
    response = member_client.get(f"/exports/preview/?{query}", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<h3 class="preview-title">')
    assert 'data-testid="preview-matches">300<' in html
    assert 'data-testid="preview-rows">100<' in html
    assert "about " in html and "KB" in html
    past_the_end = member_client.get("/exports/preview/?time_range=custom&offset=290"
                                     "&requested_data=id", **HTMX).content.decode()
    assert 'data-testid="preview-rows">10<' in past_the_end
    too_many = member_client.get("/exports/preview/?time_range=custom&limit=10000001"
                                 "&requested_data=id", **HTMX).content.decode()
    assert "must be at most 10,000,000 logs per export" in too_many
    full_page = member_client.get(f"/exports/preview/?{query}")
    assert b"<html" in full_page.content and b'data-testid="preview-rows">100<' in full_page.content


def test_request_export_creates_a_draft_and_redirects(member_client, seeded, user):
    response = member_client.post("/exports/create/", {
        "time_range": "7d", "limit": "120", "offset": "5", "requested_data": ["cost", "id"],
        "description": "  weekly  ", "file_format": "jsonl.gz", "ai_model": "", "status_code": "",
    })
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/#export-{job.id}"
    assert (job.status, job.limit, job.offset, job.requested_data, job.description, job.format,
            job.created_by) == (Status.DRAFT, 120, 5, ["id", "cost"], "weekly", "jsonl.gz", user)
    span = (timezone.datetime.fromisoformat(job.filters["created_at"]["lte"])
            - timezone.datetime.fromisoformat(job.filters["created_at"]["gte"]))
    assert span == timedelta(days=7)
    assert "Export requested" in member_client.get("/").content.decode()


def test_request_export_by_htmx_returns_the_new_list_with_the_row_on_top(member_client, seeded):
    older = new_job(seeded, description="older one")
    ExportJob.objects.filter(id=older.id).update(created_at=timezone.now() - timedelta(hours=1))
    response = member_client.post("/exports/create/", {
        "time_range": "24h", "requested_data": ["id"], "description": "the new one",
    }, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "Export requested" in html and '<div id="export-list" hx-swap-oob="true">' in html
    new = ExportJob.objects.get(description="the new one")
    assert html.index(f'id="export-{new.id}"') < html.index(f'id="export-{older.id}"')
    assert "is-new" in html


@pytest.mark.parametrize("data, field, message", [
    ({"requested_data": []}, "requested_data", "choose at least one field"),
    ({"limit": "10000001"}, "limit", "must be at most 10,000,000 logs per export"),
    ({"limit": "0"}, "limit", "must be at least 1"),
    ({"limit": "many"}, "limit", "Enter a whole number."),
    ({"offset": "-1"}, "offset", "must be 0 or more"),
    ({"description": "x" * 501}, "description", "must be at most 500 characters"),
    ({"time_range": "custom", "created_from": "2024-02-01T00:00", "created_to": "2024-01-01T00:00"},
     "created_from", "From (UTC): must not be after To (UTC)"),
    ({"status_code": "999"}, "status_code", "999"),
])
def test_validation_errors_show_next_to_their_field_and_create_nothing(
    member_client, seeded, data, field, message
):
    post = {"time_range": "7d", "requested_data": ["id"], "limit": "10", **data}
    for extra in ({}, HTMX):
        response = member_client.post("/exports/create/", post, **extra)
        assert response.status_code == 422
        form = response.context["form"]
        assert any(message in error for error in form.errors[field]), form.errors
        assert message in response.content.decode().replace("&#x27;", "'")
    assert ExportJob.objects.count() == 0


def test_post_without_csrf_token_is_refused(user, workspace):
    job = new_job(workspace)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post("/exports/create/", {"requested_data": ["id"]}).status_code == 403
    assert strict.post(f"/exports/{job.id}/start/").status_code == 403
    job.refresh_from_db()
    assert job.status == Status.DRAFT and ExportJob.objects.count() == 1
    # With the token the page gives, the same post goes through.
    strict.get("/")
    token = strict.cookies["csrftoken"].value
    response = strict.post(f"/exports/{job.id}/start/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == Status.IN_PROGRESS


# --- Actions ----------------------------------------------------------------------------------

@pytest.mark.parametrize("status, allowed", [
    (Status.DRAFT, True), (Status.FAILED, True), (Status.STOPPED, True),
    (Status.IN_PROGRESS, False), (Status.SUCCESS, False),
])
def test_start_in_each_state(member_client, workspace, status, allowed):
    job = in_state(new_job(workspace), status)
    response = member_client.post(f"/exports/{job.id}/start/", **HTMX)
    job.refresh_from_db()
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="export-{job.id}"')
    if allowed:
        assert response.status_code == 200 and job.status == Status.IN_PROGRESS
        assert 'hx-swap-oob="innerHTML:#live-status"' in html and "In progress" in html
    else:
        assert response.status_code == 409 and job.status == status
        assert "only a draft, failed or stopped export can be started" in html
    plain = member_client.post(f"/exports/{job.id}/start/", follow=True)
    assert plain.redirect_chain[0][0] == f"/#export-{job.id}"
    assert "only a draft, failed or stopped export can be started" in plain.content.decode()


@pytest.mark.parametrize("status, allowed", [
    (Status.IN_PROGRESS, True), (Status.DRAFT, False), (Status.FAILED, False),
    (Status.STOPPED, False), (Status.SUCCESS, False),
])
def test_cancel_in_each_state(member_client, workspace, status, allowed):
    job = in_state(new_job(workspace), status)
    response = member_client.post(f"/exports/{job.id}/cancel/", **HTMX)
    job.refresh_from_db()
    if allowed:
        assert response.status_code == 200 and job.status == Status.STOPPED
        assert "Stopped" in response.content.decode()
    else:
        assert response.status_code == 409 and job.status == status
        assert "only an export in progress can be cancelled" in response.content.decode()
    plain = member_client.post(f"/exports/{job.id}/cancel/", follow=True)
    assert "only an export in progress can be cancelled" in plain.content.decode()


def test_start_behind_a_closed_gate_says_why_and_changes_nothing(member_client, workspace,
                                                                 settings):
    job = new_job(workspace)
    settings.DATA_SERVICE_ENABLED = False
    response = member_client.post(f"/exports/{job.id}/start/", **HTMX)
    assert response.status_code == 409
    assert DATA_SERVICE_REQUIRED in strip_tags(response.content.decode())
    plain = member_client.post(f"/exports/{job.id}/start/", follow=True)
    assert plain.status_code == 200 and DATA_SERVICE_REQUIRED in plain.content.decode()
    job.refresh_from_db()
    assert job.status == Status.DRAFT


def test_row_polls_while_running_and_stops_with_286(member_client, workspace):
    job = in_state(new_job(workspace), Status.IN_PROGRESS)
    running = member_client.get(f"/exports/{job.id}/row/", **HTMX)
    assert running.status_code == 200
    assert 'hx-trigger="every 2s"' in running.content.decode()
    assert "live-status" not in running.content.decode()
    services.export_job_cancel(job=job)
    finished = member_client.get(f"/exports/{job.id}/row/", **HTMX)
    html = finished.content.decode()
    assert finished.status_code == 286
    assert "every 2s" not in html and 'hx-swap-oob="innerHTML:#live-status"' in html
    assert "Stopped" in html
    plain = member_client.get(f"/exports/{job.id}/row/")
    assert plain.status_code == 302 and plain["Location"] == f"/#export-{job.id}"


def test_download_redirects_to_a_fresh_absolute_signed_url(member_client, workspace,
                                                           export_storage_dir):
    job = in_state(new_job(workspace), Status.SUCCESS)
    (export_storage_dir / job.file_name).parent.mkdir(parents=True)
    (export_storage_dir / job.file_name).write_bytes(b"{}\n")
    first = member_client.get(f"/exports/{job.id}/download/")
    assert first.status_code == 302
    assert first["Location"].startswith("http://testserver/exports/file/")
    file_response = member_client.get(first["Location"])
    assert file_response.status_code == 200
    assert b"".join(file_response.streaming_content) == b"{}\n"


@pytest.mark.parametrize("status", [Status.DRAFT, Status.IN_PROGRESS, Status.FAILED,
                                    Status.STOPPED])
def test_download_before_success_is_refused_with_a_message(member_client, workspace, status):
    job = in_state(new_job(workspace), status)
    response = member_client.get(f"/exports/{job.id}/download/", follow=True)
    assert response.redirect_chain[0][0] == f"/#export-{job.id}"
    assert "a file can be downloaded once it has succeeded" in response.content.decode()


# --- Tenancy ----------------------------------------------------------------------------------

def test_another_workspaces_export_is_a_404_everywhere(member_client, workspace,
                                                       other_workspace):
    theirs = in_state(new_job(other_workspace), Status.IN_PROGRESS)
    for extra in ({}, HTMX):
        for url in (f"/exports/{theirs.id}/row/", f"/exports/{theirs.id}/download/"):
            # A polling row of it ends as one of an id that does not exist (286, empty).
            expected = 286 if extra and url.endswith("/row/") else 404
            assert member_client.get(url, **extra).status_code == expected
        for url in (f"/exports/{theirs.id}/start/", f"/exports/{theirs.id}/cancel/"):
            assert member_client.post(url, **extra).status_code == 404
    assert member_client.get("/exports/not-a-uuid/row/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Status.IN_PROGRESS
    assert str(theirs.id) not in member_client.get("/").content.decode()


def test_a_user_without_a_workspace_sees_a_notice(client, db):
    from django.contrib.auth import get_user_model

    loner = get_user_model().objects.create_user(username="loner", password="pw-loner-12345")
    client.force_login(loner)
    assert "not a member of any workspace" in client.get("/").content.decode()
    assert client.get("/exports/new/").status_code == 404
    assert client.post("/exports/create/", {"requested_data": ["id"]}).status_code == 404


def test_exports_of_the_chosen_workspace_only(member_client, user, workspace, organization):
    second = organization.workspaces.create(name="Second", slug="second")
    Membership.objects.create(user=user, workspace=second)
    mine = new_job(workspace, description="in main")
    new_job(second, description="in second")
    html = member_client.get("/").content.decode()
    assert "in main" in html and "in second" not in html
    member_client.post("/workspaces/switch/", {"workspace": str(second.id)})
    html = member_client.get("/").content.decode()
    assert "in second" in html and "in main" not in html
    # Still one of the user's own: its actions work from any of their workspaces.
    assert member_client.post(f"/exports/{mine.id}/start/").status_code == 302


# --- Issue 10: detail, delete, list filters, plain reasons, empty exports --------------------

def test_detail_page_shows_everything_and_is_tenant_scoped(member_client, seeded, other_workspace):
    job = in_state(new_job(seeded, description="Quarterly", limit=40, offset=3), Status.SUCCESS)
    ExportJob.objects.filter(id=job.id).update(sha256="ab" * 32)
    html = member_client.get(f"/exports/{job.id}/").content.decode()
    for expected in ("<h1>Quarterly</h1>", "40 logs", ">3<", "ab" * 32, "3 bytes", "Download",
                     "Requested by", "1 attempt"):
        assert expected in html, expected
    foreign = new_job(other_workspace)
    assert member_client.get(f"/exports/{foreign.id}/").status_code == 404
    assert member_client.post(f"/exports/{foreign.id}/delete/").status_code == 404
    assert ExportJob.objects.filter(id=foreign.id).exists()


def test_delete_removes_the_export_by_htmx_and_without(member_client, workspace):
    first, second = new_job(workspace, description="one"), new_job(workspace, description="two")
    response = member_client.post(f"/exports/{first.id}/delete/", **HTMX)
    assert response.status_code == 200 and "one: deleted." in response.content.decode()
    response = member_client.post(f"/exports/{second.id}/delete/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert ExportJob.objects.count() == 0
    assert member_client.get(f"/exports/{first.id}/delete/").status_code == 405


def test_list_search_and_status_filter(member_client, workspace):
    in_state(new_job(workspace, description="March finance"), Status.FAILED)
    new_job(workspace, description="April finance")
    new_job(workspace, description="Latency")
    html = member_client.get("/?q=FINANCE").content.decode()
    assert "March finance" in html and "April finance" in html and "Latency<" not in html
    html = member_client.get("/?q=finance&status=failed", **HTMX).content.decode()
    assert "March finance" in html and "April finance" not in html
    assert "No exports match" in member_client.get("/?q=nothing").content.decode()
    assert member_client.get("/?status=bogus").status_code == 200  # ignored, not an error


def test_the_page_words_a_failure_plainly_and_keeps_the_text_for_the_admin(member_client,
                                                                         workspace):
    job = services.export_job_start(job=new_job(workspace))
    raw = "JobTimeoutException: Task exceeded maximum timeout value (8 seconds)"
    services.export_job_fail(job_id=job.id, attempt=job.attempt, reason=raw)
    for url in ("/", f"/exports/{job.id}/"):
        html = member_client.get(url).content.decode()
        assert "took longer than one export may run" in html and "JobTimeout" not in html
    assert ExportJob.objects.get(id=job.id).error == raw


def test_an_export_that_would_be_empty_is_refused(member_client, seeded):
    for post, message in (({"offset": "300"}, "Offset: skips all 300 matching logs"),
                          ({"status_code": "599"}, "No logs match these filters")):
        data = {"time_range": "30d", "requested_data": ["id"], **post}
        response = member_client.post("/exports/create/", data)
        assert response.status_code == 422 and message in response.content.decode()
    assert ExportJob.objects.count() == 0


def test_preview_by_post_keeps_the_csrf_token_out_of_urls(member_client, seeded):
    html = member_client.get("/exports/new/").content.decode()
    assert 'hx-post="/exports/preview/"' in html and "hx-get=\"/exports/preview/" not in html
    assert 'formaction="/exports/preview/" formmethod="post"' in html
    # Request Export and Start comes first in the form, so Enter in any field submits it.
    assert (html.index(">Request Export and Start</button>") < html.index(">Save as draft</button>")
            < html.index(">Update preview</button>"))
    response = member_client.post("/exports/preview/", {"time_range": "30d",
                                                        "requested_data": ["id"]})
    assert response.status_code == 200 and b'data-testid="preview-matches">300<' in response.content


def test_free_plan_empty_state_says_exports_need_enterprise(member_client, workspace):
    workspace.organization.plan = Organization.Plan.FREE
    workspace.organization.save()
    html = member_client.get("/").content.decode()
    assert "need the Enterprise plan" in html and "Choose a time range" not in html
    assert "Export these logs" not in member_client.get("/logs/").content.decode()


def test_detail_page_shows_who_did_what_and_the_automatic_retries(
    member_client, seeded, export_queue
):
    job = new_job(seeded, description="Audited")
    member_client.post(f"/exports/{job.id}/start/")  # through the page: recorded under the user
    member_client.post(f"/exports/{job.id}/cancel/")
    ExportJob.objects.filter(id=job.id).update(retries=[
        {"attempt": 1, "at": "2026-01-02T03:04:05+00:00",
         "reason": "The worker running this export stopped (killed)."},
    ])
    html = member_client.get(f"/exports/{job.id}/").content.decode()
    assert 'id="activity-title"' in html
    rows = re.findall(r'<tr class="activity-row" data-action="(\w+)">(.*?)</tr>', html, flags=re.S)
    # Cells: when, what, who, through, from address.
    who = [re.findall(r"<td[^>]*>(.*?)</td>", cells, flags=re.S)[2] for _, cells in rows]
    assert [action for action, _ in rows] == ["cancelled", "started"]
    assert who == ["ada", "ada"]
    assert "Run 1 stopped" in html and "The worker running this export stopped (killed)." in html


# --- Issue 16: download links that are gone, polling past the end, one Start rule -----------

def _stored_success(workspace, export_storage_dir) -> ExportJob:
    job = in_state(new_job(workspace, description="Quarterly"), Status.SUCCESS)
    (export_storage_dir / job.file_name).parent.mkdir(parents=True, exist_ok=True)
    (export_storage_dir / job.file_name).write_bytes(b"{}\n")
    return job


def _link(member_client, job: ExportJob) -> str:
    response = member_client.get(f"/exports/{job.id}/download/")
    assert response.status_code == 302
    return response["Location"]


def _downloads(job: ExportJob) -> int:
    from exports.models import ExportEvent

    return ExportEvent.objects.filter(export_id=job.id, action="downloaded").count()


def test_a_link_to_a_file_past_its_expiry_is_gone_at_once_saying_so(
    member_client, workspace, export_storage_dir
):
    job = _stored_success(workspace, export_storage_dir)
    link = _link(member_client, job)
    # Expired a moment ago; the daily purge has not run yet, so the file is still there.
    ExportJob.objects.filter(id=job.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = member_client.get(link)
    text = strip_tags(response.content.decode())
    assert response.status_code == 410
    assert "This export's file has expired" in text and "Request a new export" in text
    assert "workspace you are not a member of" not in text
    assert _downloads(job) == 0


def test_an_expired_link_says_so_and_how_to_get_a_fresh_one(member_client, workspace,
                                                            export_storage_dir, settings):
    job = _stored_success(workspace, export_storage_dir)
    link = _link(member_client, job)
    settings.EXPORTS_DOWNLOAD_URL_TTL = -1
    response = member_client.get(link)
    html = response.content.decode()
    assert response.status_code == 410
    assert "This download link has expired" in strip_tags(html)
    assert "press Download again for a fresh link" in strip_tags(html)
    assert f'href="/exports/{job.id}/"' in html  # where the fresh link is
    assert "workspace you are not a member of" not in html


def test_a_tampered_link_is_not_found_in_plain_words(member_client, workspace,
                                                     export_storage_dir):
    job = _stored_success(workspace, export_storage_dir)
    link = _link(member_client, job)
    response = member_client.get(link.replace(link.split("/")[-2][-5:], "AAAAA"))
    text = strip_tags(response.content.decode())
    assert response.status_code == 404
    assert "This download link is not valid" in text
    assert "workspace you are not a member of" not in text


def test_a_link_whose_file_was_removed_is_gone_not_a_server_error(member_client, workspace,
                                                                  export_storage_dir):
    job = _stored_success(workspace, export_storage_dir)
    link = _link(member_client, job)
    (export_storage_dir / job.file_name).unlink()  # an operator cleaned the folder by hand
    response = member_client.get(link)
    assert response.status_code == 410
    assert "This export's file has expired" in strip_tags(response.content.decode())
    assert _downloads(job) == 0


def test_an_htmx_request_without_a_session_sends_the_browser_to_log_in_and_back(
    client, workspace
):
    job = in_state(new_job(workspace), Status.IN_PROGRESS)
    for current, url in (("/?q=x", f"/exports/{job.id}/row/"),
                         (f"/exports/{job.id}/", f"/exports/{job.id}/")):
        response = client.get(url, HTTP_HX_REQUEST="true",
                              HTTP_HX_CURRENT_URL=f"http://testserver{current}")
        assert response.status_code == 200 and response.content == b""
        assert response["HX-Redirect"] == "/accounts/login/?" + urlencode({"next": current})
    # A page of another site named as the current one is not where the login sends anyone.
    response = client.get(f"/exports/{job.id}/row/", HTTP_HX_REQUEST="true",
                          HTTP_HX_CURRENT_URL="https://evil.example/")
    assert response["HX-Redirect"] == "/accounts/login/"
    # Without htmx, the ordinary redirect.
    response = client.get(f"/exports/{job.id}/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/exports/{job.id}/"


def test_the_row_of_a_deleted_export_stops_polling_and_goes(member_client, workspace,
                                                            other_workspace):
    job = in_state(new_job(workspace), Status.IN_PROGRESS)
    services.export_job_cancel(job=job)
    ExportJob.objects.filter(id=job.id).delete()
    gone = member_client.get(f"/exports/{job.id}/row/", **HTMX)
    assert gone.status_code == 286 and gone.content == b""
    # Another workspace's running export answers exactly as one that does not exist.
    theirs = in_state(new_job(other_workspace), Status.IN_PROGRESS)
    foreign = member_client.get(f"/exports/{theirs.id}/row/", **HTMX)
    assert (foreign.status_code, foreign.content) == (gone.status_code, gone.content)
    # Without htmx it stays a 404 page.
    assert member_client.get(f"/exports/{job.id}/row/").status_code == 404


@pytest.mark.parametrize("status", [Status.DRAFT, Status.FAILED, Status.STOPPED])
def test_start_is_offered_on_the_list_and_the_detail_page_alike(member_client, workspace,
                                                                settings, status):
    job = in_state(new_job(workspace), status)
    pages = ("/", f"/exports/{job.id}/")
    start = f'action="/exports/{job.id}/start/"'
    assert all(start in member_client.get(url).content.decode() for url in pages)
    settings.DATA_SERVICE_ENABLED = False
    assert not any(start in member_client.get(url).content.decode() for url in pages)
    # The row as a start refused behind the gate returns it: still without Start.
    row = member_client.post(f"/exports/{job.id}/start/", **HTMX)
    assert row.status_code == 409 and start not in row.content.decode()


def test_retry_times_show_as_the_other_times(member_client, workspace):
    job = in_state(new_job(workspace), Status.IN_PROGRESS)
    ExportJob.objects.filter(id=job.id).update(retries=[
        {"attempt": 1, "at": "2026-01-02T03:04:05.123456+00:00", "reason": "The worker stopped."},
    ])
    html = member_client.get(f"/exports/{job.id}/").content.decode()
    assert ('<time datetime="2026-01-02T03:04:05.123456+00:00">2026-01-02 03:04:05 UTC</time>'
            in html)
    assert ">2026-01-02T03" not in html


def test_a_detail_page_polling_an_export_deleted_meanwhile_goes_to_the_list(member_client,
                                                                          workspace):
    job = in_state(new_job(workspace), Status.IN_PROGRESS)
    ExportJob.objects.filter(id=job.id).delete()
    response = member_client.get(f"/exports/{job.id}/", **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == "/"
    assert "That export no longer exists." in member_client.get("/").content.decode()
    assert member_client.get(f"/exports/{job.id}/").status_code == 404
