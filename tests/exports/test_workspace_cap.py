"""EXPORTS_MAX_IN_PROGRESS_PER_WORKSPACE: a start past the cap is refused, saying why."""

from __future__ import annotations

import pytest

from exports import services
from exports.errors import TooManyInProgress
from exports.models import ExportJob

pytestmark = pytest.mark.django_db
CAP_MESSAGE = ("this workspace already has 2 exports in progress, the most it may run at once "
               "(2); wait for one to finish or cancel one, then start this export")


def drafts(workspace, count: int) -> list[ExportJob]:
    return [services.export_job_create(workspace=workspace, filters={}, requested_data=["id"])
            for _ in range(count)]


def test_the_cap_refuses_one_more_start_and_frees_a_place_on_cancel(seeded, other_workspace,
                                                                  settings):
    settings.EXPORTS_MAX_IN_PROGRESS_PER_WORKSPACE = 2
    first, second, third = drafts(seeded, 3)
    services.export_job_start(job=first)
    services.export_job_start(job=second)
    with pytest.raises(TooManyInProgress) as refused:
        services.export_job_start(job=third)
    assert refused.value.message == CAP_MESSAGE
    third.refresh_from_db()
    assert third.status == ExportJob.Status.DRAFT and third.attempt == 0  # nothing changed

    # Another workspace has its own places.
    (elsewhere,) = drafts(other_workspace, 1)
    assert services.export_job_start(job=elsewhere).status == ExportJob.Status.IN_PROGRESS

    services.export_job_cancel(job=first)
    assert services.export_job_start(job=third).status == ExportJob.Status.IN_PROGRESS


def test_no_cap_when_the_setting_is_zero(seeded, settings):
    settings.EXPORTS_MAX_IN_PROGRESS_PER_WORKSPACE = 0
    for job in drafts(seeded, 3):
        services.export_job_start(job=job)
    assert ExportJob.objects.filter(status=ExportJob.Status.IN_PROGRESS).count() == 3


def test_the_page_says_so_on_the_row(client, user, seeded, settings):
    settings.EXPORTS_MAX_IN_PROGRESS_PER_WORKSPACE = 2
    first, second, third = drafts(seeded, 3)
    services.export_job_start(job=first)
    services.export_job_start(job=second)
    client.force_login(user)
    row = client.post(f"/exports/{third.id}/start/", HTTP_HX_REQUEST="true")
    assert row.status_code == 409
    assert CAP_MESSAGE in row.content.decode()
    plain = client.post(f"/exports/{third.id}/start/", follow=True)
    assert CAP_MESSAGE in plain.content.decode()


def test_the_api_says_so_in_its_error_shape(seeded, settings):
    from tests.api.conftest import ApiClient, assert_error, issue_key

    settings.EXPORTS_MAX_IN_PROGRESS_PER_WORKSPACE = 2
    first, second, third = drafts(seeded, 3)
    services.export_job_start(job=first)
    services.export_job_start(job=second)
    api = ApiClient(issue_key(seeded)[1])
    assert_error(api.post(f"/v1/logs/exports/{third.id}/start"), 409, contains=CAP_MESSAGE)
