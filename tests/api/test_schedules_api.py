"""/v1/schedules: create, list, get, edit (pause, resume), delete, runs; errors in one shape;
one workspace never sees another's schedules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deliveries.models import Destination, Schedule, ScheduleRun
from exports.models import ExportJob
from tests.api.conftest import ApiClient, assert_error, issue_key

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 2, 13, tzinfo=UTC)


@pytest.fixture
def destination(workspace):
    return Destination.objects.create(workspace=workspace, name="Team", bucket="team",
                                      access_key_id="key", secret_encrypted="x")


def body(destination, **changes):
    return {"name": "nightly", "filters": {"ai_model": "gpt-4o"},
            "requested_data": ["id", "created_at"], "format": "parquet",
            "destination_id": str(destination.id), "interval": "daily", "hour": 2,
            "timezone": "Europe/Berlin", "start": "2026-12-02T13:00:00Z", **changes}


def test_create_get_list_edit_and_delete(api, workspace, destination):
    created = api.post("/v1/schedules", body(destination))
    assert created.status_code == 201, created.content
    item = created.json()
    assert item["object"] == "schedule" and item["paused"] is False
    assert item["filters"] == {"ai_model": ["gpt-4o"]} and item["weekday"] is None
    assert item["start"] == "2026-12-02T13:00:00Z"
    # The first window ends at 02:00 in Berlin (01:00 UTC); it runs a minute later.
    assert item["next_run_at"] == "2026-12-03T01:01:00Z"
    assert api.get(f"/v1/schedules/{item['id']}").json() == item
    listed = api.get("/v1/schedules").json()
    assert listed["object"] == "list" and listed["total"] == 1
    assert [schedule["id"] for schedule in listed["data"]] == [item["id"]]

    paused = api.request("patch", f"/v1/schedules/{item['id']}",
                         {"paused": True, "interval": "weekly", "weekday": 0})
    assert paused.status_code == 200, paused.content
    assert (paused.json()["paused"], paused.json()["next_run_at"]) == (True, None)
    assert (paused.json()["interval"], paused.json()["hour"]) == ("weekly", 2)

    schedule = Schedule.objects.get(id=item["id"])
    export = ExportJob.objects.create(workspace=workspace, requested_data=["id"], limit=10)
    ScheduleRun.objects.create(schedule=schedule, window_start=START,
                               window_end=START + timedelta(hours=12), export=export)
    runs = api.get(f"/v1/schedules/{item['id']}/runs").json()
    assert runs["total"] == 1
    assert runs["data"][0] | {"created_at": None} == {
        "window_start": "2026-12-02T13:00:00Z", "window_end": "2026-12-03T01:00:00Z",
        "export_id": str(export.id), "status": "draft", "created_at": None,
        "object": "schedule_run"}
    # The destination cannot go while the schedule delivers to it.
    assert_error(api.request("delete", f"/v1/destinations/{destination.id}"), 409,
                 code="invalid_state", contains="nightly")
    deleted = api.request("delete", f"/v1/schedules/{item['id']}")
    assert deleted.status_code == 204
    assert not Schedule.objects.exists() and ExportJob.objects.filter(id=export.id).exists()
    assert_error(api.get(f"/v1/schedules/{item['id']}"), 404, code="not_found")


@pytest.mark.parametrize(("changes", "status", "field", "code"), [
    ({"timezone": "Mars/Olympus"}, 422, "timezone", "invalid_value"),
    ({"hour": 24}, 422, "hour", "invalid_value"),
    ({"interval": "weekly"}, 422, "weekday", "conflicting_values"),
    ({"interval": "daily", "hour": None}, 422, "hour", "invalid_value"),
    ({"start": "2026-12-02T13:00:00"}, 422, "start", "invalid_value"),
    ({"filters": {"created_at": {"gte": "2026-12-01T00:00:00Z"}}}, 422, "filters.created_at",
     "invalid_value"),
    ({"name": "a/b"}, 422, "name", "invalid_value"),
    ({"unknown": 1}, 422, "unknown", "invalid_value"),
    ({"destination_id": "9f6f1f1e-0000-4000-8000-000000000000"}, 404, "destination_id",
     "not_found"),
])
def test_bad_input_names_the_field(api, destination, changes, status, field, code):
    assert_error(api.post("/v1/schedules", body(destination, **changes)), status, field=field,
                 code=code)
    assert not Schedule.objects.exists()


def test_a_missing_weekday_on_an_edit_and_a_duplicate_name(api, destination):
    item = api.post("/v1/schedules", body(destination)).json()
    assert_error(api.request("patch", f"/v1/schedules/{item['id']}", {"interval": "weekly"}),
                 422, field="weekday", code="conflicting_values")
    assert_error(api.post("/v1/schedules", body(destination)), 422, field="name",
                 code="conflicting_values")


def test_one_workspace_never_sees_anothers_schedules(api, destination, other_workspace):
    item = api.post("/v1/schedules", body(destination)).json()
    theirs = ApiClient(issue_key(other_workspace)[1])
    assert theirs.get("/v1/schedules").json()["total"] == 0
    for method, path in (("get", ""), ("patch", ""), ("delete", ""), ("get", "/runs")):
        response = theirs.request(method, f"/v1/schedules/{item['id']}{path}",
                                  {"paused": True} if method == "patch" else None)
        assert_error(response, 404, code="not_found")
    # Nor can it deliver to this workspace's destination.
    assert_error(theirs.post("/v1/schedules", body(destination)), 404, field="destination_id")
    assert Schedule.objects.get(id=item["id"]).paused is False
