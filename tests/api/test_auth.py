"""API keys: headers, revocation, scopes, workspaces and tenant isolation."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import ApiKey, Organization, Workspace
from exports import services
from exports.models import ExportJob
from logs.seeding import seed_logs
from tests.api.conftest import ApiClient, assert_error, issue_key

pytestmark = pytest.mark.django_db


def test_both_key_headers_work_and_last_used_at_is_recorded(workspace, api_key):
    key, raw = api_key
    assert key.last_used_at is None
    assert ApiClient(raw).get("/v1/logs/exports").status_code == 200
    assert ApiClient(raw, bearer=True).get("/v1/logs/exports").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None


@pytest.mark.parametrize("headers", [
    {},
    {"x-portkey-api-key": ""},
    {"Authorization": "Basic dXNlcjpwdw=="},
    {"Authorization": "Bearer"},
])
def test_a_missing_key_is_401(workspace, client, headers):
    response = client.get("/v1/logs/exports", headers=headers)
    assert_error(response, 401, code="missing_api_key")
    assert response["WWW-Authenticate"] == "Bearer"


def test_unknown_and_tampered_keys_are_401(workspace, api_key):
    _, raw = api_key
    for bad in ("sk-not-ours", "lx_nope_nope", raw[:-1] + ("A" if raw[-1] != "A" else "B"),
                f"lx_{'0' * 12}_{raw.split('_', 2)[2]}"):
        assert_error(ApiClient(bad).get("/v1/logs/exports"), 401, code="invalid_api_key")


def test_a_revoked_key_is_401(workspace, api_key):
    key, raw = api_key
    ApiKey.objects.filter(id=key.id).update(revoked_at=timezone.now())
    for response in (ApiClient(raw).get("/v1/logs/exports"),
                     ApiClient(raw).post("/v1/logs/exports", {"requested_data": ["id"]})):
        assert_error(response, 401, code="revoked_api_key", contains="revoked")
    assert not ExportJob.objects.exists()


def test_each_endpoint_needs_its_scope(workspace):
    job = services.export_job_create(workspace=workspace, filters={}, requested_data=["id"])
    seed_logs(workspace_id=workspace.id, count=1, now=timezone.now(), days=1, seed=1)
    log = workspace.logs.get()
    view_only = ApiClient(issue_key(workspace, scopes=["logs.view"])[1])
    export_only = ApiClient(issue_key(workspace, scopes=["logs.export"])[1])
    for response in (view_only.get("/v1/logs/exports"),
                     view_only.post("/v1/logs/exports", {"requested_data": ["id"]}),
                     view_only.get(f"/v1/logs/exports/{job.id}"),
                     view_only.put(f"/v1/logs/exports/{job.id}", {"requested_data": ["id"]}),
                     view_only.post(f"/v1/logs/exports/{job.id}/start"),
                     view_only.post(f"/v1/logs/exports/{job.id}/cancel"),
                     view_only.get(f"/v1/logs/exports/{job.id}/download")):
        assert_error(response, 403, code="missing_scope", contains="logs.export")
    assert_error(export_only.get(f"/v1/logs/{log.id}"), 403, contains="logs.view")
    assert_error(export_only.post("/v1/logs", {}), 403, contains="logs.write")
    assert_error(view_only.post("/v1/logs", {}), 403, contains="logs.write")
    assert view_only.get(f"/v1/logs/{log.id}").status_code == 200
    assert ExportJob.objects.get().status == "draft"


def test_a_workspace_key_never_reaches_another_tenant(workspace, other_workspace, api):
    theirs = services.export_job_create(workspace=other_workspace, filters={},
                                        requested_data=["id"])
    seed_logs(workspace_id=other_workspace.id, count=1, now=timezone.now(), days=1, seed=2)
    their_log = other_workspace.logs.get()
    base = f"/v1/logs/exports/{theirs.id}"
    for response in (api.get(base), api.put(base, {"requested_data": ["cost"]}),
                     api.post(f"{base}/start"), api.post(f"{base}/cancel"),
                     api.get(f"{base}/download"), api.get(f"/v1/logs/{their_log.id}")):
        assert_error(response, 404, code="not_found")
    theirs.refresh_from_db()
    assert (theirs.status, theirs.requested_data) == ("draft", ["id"])
    # Naming their workspace does not help either.
    assert_error(api.get("/v1/logs/exports", workspace_id=str(other_workspace.id)), 403,
                 field="workspace_id", code="wrong_workspace")
    assert_error(api.post("/v1/logs/exports", {"requested_data": ["id"], "workspace_id": "other"}),
                 403, field="workspace_id")
    assert api.get("/v1/logs/exports").json()["total"] == 0


def test_an_export_after_download_is_still_only_theirs(workspace, other_workspace, api):
    # A finished export of another tenant: the download answers 404, never a URL.
    theirs = services.export_job_create(workspace=other_workspace, filters={},
                                        requested_data=["id"])
    ExportJob.objects.filter(id=theirs.id).update(status="success", file_name="x.jsonl",
                                                  attempt=1)
    assert_error(api.get(f"/v1/logs/exports/{theirs.id}/download"), 404)


def test_an_organization_key_names_its_workspace_when_it_has_several(organization, workspace):
    _, raw = issue_key(organization=organization)
    org_api = ApiClient(raw)
    seed_logs(workspace_id=workspace.id, count=1, now=timezone.now(), days=1, seed=1)
    # One workspace: no need to name it.
    assert org_api.post("/v1/logs/exports", {"requested_data": ["id"]}).status_code == 200
    second = Workspace.objects.create(organization=organization, name="Second", slug="second")
    seed_logs(workspace_id=second.id, count=1, now=timezone.now(), days=1, seed=2)
    assert_error(org_api.post("/v1/logs/exports", {"requested_data": ["id"]}), 422,
                 field="workspace_id", contains="several workspaces")
    assert_error(org_api.get("/v1/logs/exports"), 422, field="workspace_id")
    by_slug = org_api.post("/v1/logs/exports", {"requested_data": ["id"],
                                                "workspace_id": "second"}).json()
    by_id = org_api.post("/v1/logs/exports", {"requested_data": ["id"],
                                              "workspace_id": str(second.id)}).json()
    assert {ExportJob.objects.get(id=e["id"]).workspace for e in (by_slug, by_id)} == {second}
    assert org_api.get("/v1/logs/exports", workspace_id="second").json()["total"] == 2
    # Objects are found by id in any of the organization's workspaces, without naming it.
    assert org_api.get(f"/v1/logs/exports/{by_slug['id']}").status_code == 200
    assert_error(org_api.get(f"/v1/logs/exports/{by_slug['id']}", workspace_id="main"), 404)
    # Workspaces of other organizations do not exist for this key.
    stranger = Organization.objects.create(name="S", plan="enterprise")
    Workspace.objects.create(organization=stranger, name="S", slug="stranger")
    assert_error(org_api.get("/v1/logs/exports", workspace_id="stranger"), 404,
                 field="workspace_id")


def test_create_api_key_command_prints_a_working_key_once(workspace):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", "--workspace", "main", "--scopes", "logs.export,logs.view",
                 "--name", "ci", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    key = ApiKey.objects.get()
    assert (key.name, key.workspace, key.scopes) == ("ci", workspace, ["logs.export", "logs.view"])
    assert raw.startswith(f"lx_{key.prefix}_") and "not shown again" in err.getvalue()
    assert raw not in str(ApiKey.objects.values().get())
    assert ApiClient(raw).get("/v1/logs/exports").status_code == 200
    with pytest.raises(CommandError, match="--scopes: unknown scope"):
        call_command("create_api_key", "--workspace", "main", "--scopes", "logs.delete")
    with pytest.raises(CommandError, match="--workspace"):
        call_command("create_api_key", "--workspace", "nope", "--scopes", "logs.view")
    call_command("create_api_key", "--workspace", "main", "--scopes", "logs.view",
                 "--organization-wide", stdout=io.StringIO(), stderr=io.StringIO())
    assert ApiKey.objects.filter(workspace=None, organization=workspace.organization).exists()
