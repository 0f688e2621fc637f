"""Inputs that used to end in a 500 (issue 8, item 5), and every /v1 error status in the one
JSON shape: each is a 4xx naming the field, and changes nothing."""

from __future__ import annotations

import json

import pytest

from exports import services
from exports.errors import QueueUnavailable
from exports.models import ExportJob
from logs.models import Log
from tests.api.conftest import assert_error
from tests.api.test_logs_api import custom_log

pytestmark = pytest.mark.django_db


def nested(depth: int, leaf="x") -> object:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def raw_nested_object(depth: int) -> str:
    """{"a": {"a": … "x" … }} without building it in Python (json.dumps would recurse)."""
    return '{"a": ' * depth + '"x"' + "}" * depth


def test_json_nested_100_000_deep_is_refused(api, seeded):
    error = assert_error(api.post("/v1/logs/exports", raw="[" * 100_000), 422,
                         code="invalid_value", contains="nested more than")
    assert error["field"] == "[0][0][0]"  # its first levels
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize("depth", [100, 5_000])
def test_a_metadata_filter_nested_deep_names_the_filter(api, seeded, depth):
    body = ('{"requested_data": ["id"], "filters": {"metadata": {"k": '
            + raw_nested_object(depth) + "}}}")
    assert_error(api.post("/v1/logs/exports", raw=body), 422, field="filters.metadata.k",
                 code="invalid_value", contains="nested more than")
    assert not ExportJob.objects.exists()


def test_a_log_body_950_deep_names_the_field(api, workspace):
    log = custom_log()
    log["request"]["body"] = {"deep": "PLACEHOLDER"}
    body = json.dumps([log]).replace('"PLACEHOLDER"', raw_nested_object(950))
    assert_error(api.post("/v1/logs", raw=body), 422, field="[0].request.body",
                 contains="nested more than")
    assert not Log.objects.exists()


def test_a_log_body_of_ordinary_depth_is_kept(api, workspace):
    log = custom_log()
    log["request"]["body"]["deep"] = nested(40)
    assert api.post("/v1/logs", log).status_code == 200
    assert Log.objects.get().request["body"]["deep"] == nested(40)


@pytest.mark.parametrize(("name", "value", "field"), [
    ("time_of_generation_min", "0001-01-01T00:00:00+01:00", "filters.created_at.gte"),
    ("time_of_generation_max", "9999-12-31T23:59:59-01:00", "filters.created_at.lte"),
])
def test_timestamps_past_the_calendar_are_422(api, seeded, name, value, field):
    assert_error(api.post("/v1/logs/exports", {"requested_data": ["id"], "filters": {name: value}}),
                 422, field=field, code="invalid_value", contains="out of range")
    assert_error(api.post("/v1/logs/exports", {
        "requested_data": ["id"], "filters": {"created_at": {field.rsplit(".", 1)[1]: value}}}),
        422, field=field)
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize(("text", "reason"), [("bad \ud800 text", "lone surrogate"),
                                              ("bad \x00 text", "NUL")])
def test_text_no_database_can_store_is_422_naming_the_field(api, seeded, text, reason):
    logs_before = Log.objects.count()
    # json.dumps writes "\ud800" and "\u0000" as the escapes a client would send.
    for body, field in (
        ({"requested_data": ["id"], "description": text}, "description"),
        ({"requested_data": ["id"], "filters": {"ai_model": ["gpt-4o", text]}},
         "filters.ai_model[1]"),
        ({"requested_data": ["id"], "filters": {"metadata": {text: "v"}}}, "filters.metadata"),
    ):
        assert_error(api.post("/v1/logs/exports", raw=json.dumps(body)), 422, field=field,
                     code="invalid_value", contains=reason)
    log = custom_log(metadata={"trace_id": text})
    assert_error(api.post("/v1/logs", raw=json.dumps(log)), 422, field="metadata.trace_id",
                 contains=reason)
    assert_error(api.get("/v1/logs/exports", workspace_id="ma\x00in"), 422,
                 field="workspace_id")
    assert not ExportJob.objects.exists() and Log.objects.count() == logs_before


def test_the_services_refuse_unstorable_text_for_every_caller(seeded):
    from django.core.exceptions import ValidationError

    for arguments, field in (({"description": "a\x00b"}, "description"),
                             ({"filters": {"trace_id": "\ud800"}}, "filters.trace_id"),
                             ({"filters": {"metadata": {"k": "a\x00"}}}, "filters.metadata.k")):
        with pytest.raises(ValidationError) as refused:
            services.export_job_create(workspace=seeded, **{"filters": {},
                                                            "requested_data": ["id"],
                                                            **arguments})
        assert field in refused.value.message_dict
    assert not ExportJob.objects.exists()


def test_a_body_that_is_not_json_is_415(api, seeded):
    response = api.client.post("/v1/logs/exports", data={"requested_data": "id"},
                               headers=api.headers)  # a form post
    assert_error(response, 415, code="unsupported_media_type", contains="application/json")
    assert not ExportJob.objects.exists()


def test_a_body_under_the_api_limit_but_over_djangos_default_is_read(api, workspace):
    log = custom_log()
    log["request"]["body"]["messages"][0]["content"] = "x" * 3_000_000  # Django's: 2.5 MB
    assert api.post("/v1/logs", log).json()["total"] == 1


def test_head_and_trailing_slashes_answer_like_get(api, seeded):
    head = api.client.head("/v1/logs/exports", headers=api.headers)
    assert head.status_code == 200
    assert api.get("/v1/logs/exports/").json()["object"] == "list"


def test_an_unreachable_queue_is_503_with_retry_after(api, seeded, monkeypatch):
    export_id = api.post("/v1/logs/exports", {"requested_data": ["id"]}).json()["id"]

    def queue_down(*, job, **kwargs):
        raise QueueUnavailable("the export queue cannot be reached; try again shortly",
                               retry_after=20)

    monkeypatch.setattr(services, "export_job_start", queue_down)
    response = api.post(f"/v1/logs/exports/{export_id}/start")
    assert_error(response, 503, code="queue_unavailable", contains="try again")
    assert response["Retry-After"] == "20"


def test_an_unexpected_failure_is_a_json_500_that_is_logged(api, seeded, monkeypatch, caplog):
    def broken(*, job, **kwargs):
        raise RuntimeError("disk on fire")

    export_id = api.post("/v1/logs/exports", {"requested_data": ["id"]}).json()["id"]
    monkeypatch.setattr(services, "export_job_cancel", broken)
    response = api.post(f"/v1/logs/exports/{export_id}/cancel")
    error = assert_error(response, 500, code="server_error")
    assert "disk on fire" not in error["message"]  # no internals on the wire
    assert "disk on fire" in caplog.text
