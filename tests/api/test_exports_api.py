"""The /v1/logs/exports endpoints through Django's test client: shapes, states, status codes."""

from __future__ import annotations

import uuid

import pytest

from exports import services
from exports.models import ExportJob
from logs.filters import matching_logs, normalise_filters
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db
DOC_FIELDS = ["id", "trace_id", "created_at", "request", "response", "ai_provider", "ai_model",
              "request_tokens", "response_tokens", "total_tokens", "cost", "response_time",
              "status_code"]


def window(workspace, start: int, end: int) -> dict:
    logs = list(workspace.logs.order_by("created_at", "id"))
    return {"created_at": {"gte": logs[start].created_at.isoformat(),
                           "lte": logs[end].created_at.isoformat()}}


def create(api, **body):
    response = api.post("/v1/logs/exports", {"requested_data": ["id"], **body})
    assert response.status_code == 200, response.content
    return response.json()


def test_create_answers_id_and_total_of_the_logs_it_will_contain(api, seeded, api_key):
    filters = window(seeded, 20, 119)
    response = api.post("/v1/logs/exports", {
        "filters": filters, "requested_data": DOC_FIELDS, "workspace_id": str(seeded.id),
        "description": "January",
    })
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "total", "object"}
    assert body["object"] == "export"
    assert body["total"] == 100
    job = ExportJob.objects.get(id=body["id"])
    assert (job.workspace, job.description, job.status) == (seeded, "January", "draft")
    assert job.requested_data == DOC_FIELDS
    assert job.filters == normalise_filters(filters)
    assert job.created_by_api_key == api_key[0]


def test_limit_offset_and_format_extensions(api, seeded):
    body = create(api, limit=50, offset=280, format="jsonl.gz")
    job = ExportJob.objects.get(id=body["id"])
    assert (body["total"], job.limit, job.offset, job.format) == (20, 50, 280, "jsonl.gz")


def test_retrieve_gives_the_export_item_with_our_extras(api, seeded):
    export_id = create(api, description="d")["id"]
    item = api.get(f"/v1/logs/exports/{export_id}").json()
    assert {"id", "organisation_id", "filters", "requested_data", "status", "description",
            "created_at", "last_updated_at", "created_by", "workspace_id", "object"} <= set(item)
    assert {"total_records", "rows_written", "progress", "file_size", "sha256", "error"} <= set(
        item)
    assert item["id"] == export_id
    assert item["organisation_id"] == str(seeded.organization_id)
    assert item["workspace_id"] == str(seeded.id)
    assert (item["status"], item["object"], item["total_records"], item["progress"]) == (
        "draft", "export", 300, 0.0)
    assert item["created_at"].endswith("Z")


def test_list_holds_the_workspace_exports_newest_first(api, seeded, other_workspace):
    first, second = create(api)["id"], create(api)["id"]
    services.export_job_create(workspace=other_workspace, filters={}, requested_data=["id"])
    body = api.get("/v1/logs/exports", workspace_id=str(seeded.id)).json()
    assert body["object"] == "list"
    assert body["total"] == 2
    assert [item["id"] for item in body["data"]] == [second, first]
    assert api.get("/v1/logs/exports", workspace_id="main").json()["total"] == 2


def test_update_changes_a_draft_and_answers_like_create(api, seeded):
    export_id = create(api)["id"]
    response = api.put(f"/v1/logs/exports/{export_id}", {
        "filters": {"ai_model": "gpt-4o"}, "requested_data": ["ai_org", "total_units"],
        "description": "only gpt-4o",
    })
    assert response.status_code == 200
    expected = matching_logs(workspace_id=seeded.id, filters={"ai_model": ["gpt-4o"]}).count()
    assert response.json() == {"id": export_id, "total": expected, "object": "export"}
    job = ExportJob.objects.get(id=export_id)
    assert job.requested_data == ["ai_provider", "total_tokens"]
    assert job.description == "only gpt-4o"


def test_update_after_start_is_refused_and_changes_nothing(api, seeded):
    export_id = create(api)["id"]
    assert api.post(f"/v1/logs/exports/{export_id}/start").json() == {
        "message": "export started", "object": "export"}
    response = api.put(f"/v1/logs/exports/{export_id}", {"requested_data": ["cost"]})
    assert_error(response, 409, code="invalid_state", contains="only a draft")
    assert ExportJob.objects.get(id=export_id).requested_data == ["id"]


def test_start_cancel_and_download_in_the_wrong_state_are_409(api, seeded):
    export_id = create(api)["id"]
    assert_error(api.post(f"/v1/logs/exports/{export_id}/cancel"), 409, code="invalid_state")
    assert_error(api.get(f"/v1/logs/exports/{export_id}/download"), 409,
                 contains="once it has succeeded")
    api.post(f"/v1/logs/exports/{export_id}/start")
    assert_error(api.post(f"/v1/logs/exports/{export_id}/start"), 409)
    assert_error(api.get(f"/v1/logs/exports/{export_id}/download"), 409)
    response = api.post(f"/v1/logs/exports/{export_id}/cancel")
    assert response.json() == {"message": "export cancelled", "object": "export"}
    assert ExportJob.objects.get(id=export_id).status == "stopped"


@pytest.mark.parametrize(("body", "field", "reason"), [
    ({"requested_data": []}, "requested_data", "at least one"),
    ({"requested_data": ["id", "password"]}, "requested_data", "'password' is not"),
    ({"requested_data": "id"}, "requested_data", "list"),
    ({}, "requested_data", "list"),
    ({"requested_data": ["id"], "filters": {"created_at": {"gte": "yesterday"}}},
     "filters.created_at.gte", "ISO-8601"),
    ({"requested_data": ["id"], "filters": {"colour": "red"}}, "filters.colour", "not a known"),
    ({"requested_data": ["id"], "filters": []}, "filters", "object"),
    ({"requested_data": ["id"], "limit": 10_000_001}, "limit", "at most"),
    ({"requested_data": ["id"], "offset": -1}, "offset", "0 or more"),
    ({"requested_data": ["id"], "format": "xlsx"}, "format", "not a supported format"),
    ({"requested_data": ["id"], "description": 5}, "description", "text"),
    ({"requested_data": ["id"], "colour": "red"}, "colour", "not a known field"),
    ({"requested_data": ["id"], "filters": {"page_size": 10_000_001}}, "filters.page_size", "1 to"),
    ({"requested_data": ["id"], "limit": 5, "filters": {"page_size": 5}}, "limit", "not both"),
    # Values past what the database columns hold are refused, not a server error.
    ({"requested_data": ["id"], "offset": 170304041141}, "offset", "at most"),
    ({"requested_data": ["id"], "filters": {"page_size": 50_000, "current_page": 10**6}},
     "filters.current_page", "too large"),
    ({"requested_data": ["id"], "filters": {"total_units_min": 2**31}},
     "filters.total_tokens.gte", "at most"),
    ({"requested_data": ["id"], "filters": {"cost_max": 1e300}}, "filters.cost.lte", "at most"),
])
def test_invalid_values_are_422_naming_the_field(api, seeded, body, field, reason):
    # Values each valid but not together (no schema states it) have a code of their own.
    together = reason in ("not both", "too large")
    error = assert_error(api.post("/v1/logs/exports", body), 422, field=field,
                         code="conflicting_values" if together else "invalid_value",
                         contains=reason)
    assert error["message"].startswith(f"{field}: ")
    assert not ExportJob.objects.exists()


def test_malformed_bodies_are_400(api, seeded):
    assert_error(api.post("/v1/logs/exports", raw="{not json"), 400, code="invalid_json")
    assert_error(api.post("/v1/logs/exports", raw="NaN"), 400, code="invalid_json")
    assert_error(api.post("/v1/logs/exports", ["id"]), 400, code="invalid_body")
    assert_error(api.post("/v1/logs/exports", raw=""), 400, code="invalid_body")
    assert_error(api.post("/v1/logs/exports", raw=b"\xff\xfe"), 400, code="invalid_json")
    assert not ExportJob.objects.exists()


def test_a_body_over_the_limit_is_413(api, seeded, settings):
    settings.API_MAX_BODY_BYTES = 1000
    body = {"requested_data": ["id"], "description": "x" * 2000}
    assert_error(api.post("/v1/logs/exports", body), 413, code="payload_too_large")
    assert create(api)["total"] == 300  # under the limit all is well


def test_unknown_paths_methods_and_ids(api, seeded):
    assert_error(api.get("/v1/nothing/here"), 404, code="not_found")
    assert_error(api.get("/v1/logs/exports/not-a-uuid"), 404, code="not_found")
    assert_error(api.get(f"/v1/logs/exports/{uuid.uuid4()}"), 404, code="not_found")
    response = api.client.delete("/v1/logs/exports", headers=api.headers)
    assert_error(response, 405, code="method_not_allowed")
    assert response["Allow"] == "GET, POST, HEAD"
    assert_error(api.get("/v1/logs/exports/x/start"), 405)


def test_gates_of_the_page_apply_with_the_same_message(api, seeded, settings):
    from exports.access import DATA_SERVICE_REQUIRED, PLAN_REQUIRED

    export_id = create(api)["id"]
    seeded.organization.plan = "pro"
    seeded.organization.save()
    for response in (api.post("/v1/logs/exports", {"requested_data": ["id"]}),
                     api.get("/v1/logs/exports"),
                     api.get(f"/v1/logs/exports/{export_id}"),
                     api.post(f"/v1/logs/exports/{export_id}/start")):
        assert assert_error(response, 403, code="exports_unavailable")["message"] == PLAN_REQUIRED
    seeded.organization.plan = "enterprise"
    seeded.organization.save()
    settings.DATA_SERVICE_ENABLED = False
    error = assert_error(api.post("/v1/logs/exports", {"requested_data": ["id"]}), 403)
    assert error["message"] == DATA_SERVICE_REQUIRED
    assert ExportJob.objects.count() == 1


def test_a_failed_export_answers_the_plain_reason_not_the_technical_text(api, seeded):
    """No internals on the wire: the database's own words stay in the admin and the logs."""
    export_id = create(api)["id"]
    job = ExportJob.objects.get(id=export_id)
    services.export_job_start(job=job)
    technical = ('The export failed on an unexpected error: connection to server at '
                 '"10.0.3.7", port 5432 failed: FATAL: password authentication failed for '
                 'user "exports_rw"')
    assert services.export_job_fail(job_id=job.id, attempt=1, reason=technical)
    item = api.get(f"/v1/logs/exports/{export_id}").json()
    assert item["status"] == "failed"
    assert item["error"] == "The logs could not be read from the database. Press Start Again; " \
                            "if it fails again, ask your admin."
    listed = api.get("/v1/logs/exports").json()["data"]
    assert [entry["error"] for entry in listed if entry["id"] == export_id] == [item["error"]]
    job.refresh_from_db()
    assert job.error == technical  # kept as it was for the admin


@pytest.mark.parametrize("name", ["filters", "requested_data", "format", "description",
                                  "limit", "offset"])
def test_update_with_null_is_422_and_changes_nothing(api, seeded, name):
    # {"filters": null} silently cleared every filter; null is no value the document allows.
    export_id = create(api, filters={"ai_model": "gpt-4o"}, description="kept", limit=20,
                       offset=5, format="jsonl.gz")["id"]
    before = ExportJob.objects.values().get(id=export_id)
    response = api.put(f"/v1/logs/exports/{export_id}", {name: None})
    assert_error(response, 422, field=name, code="invalid_value", contains="null")
    assert ExportJob.objects.values().get(id=export_id) == before


@pytest.mark.parametrize("name", ["filters", "format", "description", "limit", "offset",
                                  "workspace_id"])
def test_create_with_null_is_422_and_creates_nothing(api, seeded, name):
    assert_error(api.post("/v1/logs/exports", {"requested_data": ["id"], name: None}), 422,
                 field=name, code="invalid_value", contains="null")
    assert not ExportJob.objects.exists()


def test_an_export_of_no_logs_is_refused_naming_the_filters(api, seeded):
    """Issue 17: the README's January 2024 dates matched no demo log, and the API made a
    Success export of 0 logs and 0 bytes; it refuses, as the page does."""
    january = {"created_at": {"gte": "2024-01-01T00:00:00Z", "lte": "2024-01-31T23:59:59Z"}}
    response = api.post("/v1/logs/exports", {"filters": january, "requested_data": ["id"]})
    assert_error(response, 422, field="filters", code="no_matching_logs",
                 contains="no logs match created_at 2024-01-01T00:00:00Z to "
                          "2024-01-31T23:59:59Z, so the export would be empty")
    response = api.post("/v1/logs/exports", {"filters": {"ai_model": "no-such-model"},
                                             "requested_data": ["id"]})
    assert_error(response, 422, field="filters", contains="ai_model no-such-model")
    response = api.post("/v1/logs/exports", {"requested_data": ["id"], "offset": 300})
    assert_error(response, 422, field="offset", contains="use a smaller offset")
    assert ExportJob.objects.count() == 0
    # A draft changed so that it would hold nothing is refused too, and stays as it was.
    export_id = create(api)["id"]
    response = api.put(f"/v1/logs/exports/{export_id}", {"filters": january})
    assert_error(response, 422, field="filters", contains="so the export would be empty")
    assert ExportJob.objects.get(id=export_id).filters == {}
