"""exports.selectors: the tenant-scoped reads page and API share; the gates of reads."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from accounts.models import Organization
from exports import selectors, services
from exports.access import PLAN_REQUIRED, ExportsUnavailable
from exports.models import ExportJob
from tests.api.conftest import ApiClient, assert_error, issue_key

pytestmark = pytest.mark.django_db


def draft(workspace) -> ExportJob:
    return services.export_job_create(workspace=workspace, filters={}, requested_data=["id"])


def test_reads_never_cross_a_tenant(workspace, other_workspace, user):
    mine, theirs = draft(workspace), draft(other_workspace)
    assert selectors.user_export(user=user, export_id=mine.id) == mine
    assert selectors.user_export(user=user, export_id=theirs.id) is None
    stranger = get_user_model().objects.create_user("stranger", password="x")
    assert selectors.user_export(user=stranger, export_id=mine.id) is None
    key, _ = issue_key(workspace)
    assert selectors.api_key_export(api_key=key, export_id=str(mine.id)) == mine
    assert selectors.api_key_export(api_key=key, export_id=str(theirs.id)) is None
    assert selectors.api_key_export(api_key=key, export_id="not-a-uuid") is None
    assert selectors.api_key_export(api_key=key, export_id=str(mine.id),
                                    workspace_reference="other") is None
    assert list(selectors.workspace_exports(workspace=workspace)) == [mine]


def test_reads_for_the_api_are_gated_the_page_list_is_not(workspace):
    job = draft(workspace)
    workspace.organization.plan = Organization.Plan.FREE
    workspace.organization.save()
    with pytest.raises(ExportsUnavailable):
        selectors.open_workspace_exports(workspace=workspace)
    with pytest.raises(ExportsUnavailable):
        selectors.open_export(job)
    assert list(selectors.workspace_exports(workspace=workspace)) == [job]


def test_download_is_gated_in_the_service_for_page_and_api(client, user, workspace):
    api = ApiClient(issue_key(workspace)[1])
    job = draft(workspace)
    ExportJob.objects.filter(id=job.id).update(status="success", file_name="x.jsonl", attempt=1)
    workspace.organization.plan = Organization.Plan.FREE
    workspace.organization.save()
    client.force_login(user)
    response = client.get(f"/exports/{job.id}/download/", follow=True)
    assert PLAN_REQUIRED in response.content.decode()
    assert all("/exports/file/" not in url for url, _ in response.redirect_chain)
    error = assert_error(api.get(f"/v1/logs/exports/{job.id}/download"), 403,
                         code="exports_unavailable")
    assert error["message"] == PLAN_REQUIRED
