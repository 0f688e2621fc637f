"""POST /v1/logs (the spec's CustomLog) and GET /v1/logs/{id}."""

from __future__ import annotations

from decimal import Decimal

import pytest

from logs.filters import matching_logs, normalise_filters
from logs.models import Log
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db


def custom_log(**overrides) -> dict:
    log = {
        "request": {
            "url": "https://api.openai.com/v1/chat/completions",
            "method": "POST",
            "headers": {"Authorization": "Bearer sk-secret", "x-portkey-config": "pc-main"},
            "body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "Grüße"}]},
        },
        "response": {
            "status": 200,
            "headers": {"content-type": "application/json"},
            "body": {"id": "c-1", "model": "gpt-4o-2024-08-06",
                     "usage": {"prompt_tokens": 12, "completion_tokens": 30, "cost": 0.42}},
            "response_time": 850,
        },
        "metadata": {"trace_id": "trace-7", "span_id": "s1", "_user": "ada",
                     "prompt_slug": "greet", "a__b": "x\"y"},
    }
    log.update(overrides)
    return log


def test_one_log_is_inserted_with_what_the_payload_tells(api, workspace):
    response = api.post("/v1/logs", custom_log())
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["object"], body["total"]) == ("list", 1)
    log = Log.objects.get(id=body["data"][0]["id"])
    assert log.workspace == workspace
    assert (log.trace_id, log.ai_provider, log.ai_model) == ("trace-7", "openai", "gpt-4o")
    assert (log.request_tokens, log.response_tokens, log.total_tokens) == (12, 30, 42)
    assert (log.cost, log.status_code, log.response_time) == (Decimal("0.42"), 200, 850)
    assert (log.config, log.prompt_slug) == ("pc-main", "greet")
    assert log.request_url == "https://api.openai.com/v1/chat/completions"
    assert log.request["body"]["messages"][0]["content"] == "Grüße"
    assert log.request["headers"]["Authorization"] == "[redacted]"
    assert log.metadata["a__b"] == "x\"y"


def test_an_array_is_inserted_whole_or_not_at_all(api, workspace):
    anthropic = custom_log(
        request={"url": "https://api.anthropic.com/v1/messages",
                 "body": {"model": "claude-3-haiku"}},
        response={"status": 429, "body": {"usage": {"input_tokens": 5, "output_tokens": 0}}},
        metadata={},
    )
    response = api.post("/v1/logs", [custom_log(), anthropic])
    assert response.json()["total"] == 2
    log = Log.objects.get(ai_model="claude-3-haiku")
    assert (log.ai_provider, log.status_code, log.total_tokens, log.trace_id) == (
        "anthropic", 429, 5, "")

    broken = custom_log(request={"body": {}})
    assert_error(api.post("/v1/logs", [custom_log(), broken]), 422, field="[1].request.url",
                 code="invalid_value")
    assert Log.objects.count() == 2


@pytest.mark.parametrize(("payload", "status", "field"), [
    ({"response": {"body": {}}}, 422, "request"),
    ({"request": {"url": "u", "body": {}}}, 422, "response"),
    ({"request": {"url": "u", "body": []}, "response": {"body": {}}}, 422, "request.body"),
    ({"request": {"url": "u", "body": {}}, "response": {"body": {}, "status": 99}}, 422,
     "response.status"),
    ({"request": {"url": "u", "body": {}}, "response": {"body": {}},
      "metadata": {"trace_id": 5}}, 422, "metadata.trace_id"),
    ({"request": {"url": "u", "body": {}}, "response": {"body": {}}, "extra": 1}, 422, "extra"),
    ([], 422, "logs"),
    ("a log", 422, "log"),
])
def test_bad_logs_are_refused_naming_the_field(api, workspace, payload, status, field):
    assert_error(api.post("/v1/logs", payload), status, field=field)
    assert not Log.objects.exists()


def test_a_log_is_read_back_in_the_log_object_shape(api, workspace):
    log_id = api.post("/v1/logs", custom_log()).json()["data"][0]["id"]
    body = api.get(f"/v1/logs/{log_id}").json()
    assert body["_id"] == body["id"] == log_id
    assert body["organisation_id"] == str(workspace.organization_id)
    assert body["request"]["url"] == "https://api.openai.com/v1/chat/completions"
    assert body["request"]["body"]["model"] == "gpt-4o"
    assert body["response"]["status"] == 200
    assert body["response"]["responseTime"] == 850
    assert body["metrics"]["ai_org"] == "openai"
    assert body["metrics"]["total_units"] == 42
    assert body["metrics"]["is_success"] is True
    assert body["metadata"]["trace_id"] == "trace-7"
    assert_error(api.get("/v1/logs/not-a-uuid"), 404)


def test_inserted_logs_are_found_by_the_export_filters(api, workspace):
    api.post("/v1/logs", [custom_log(), custom_log(metadata={"trace_id": "other"})])
    for raw in ({"trace_id": "trace-7"}, {"metadata": {"a__b": "x\"y"}},
                {"ai_org_model": "openai__gpt-4o", "prompt_slug": "greet"}):
        filters = normalise_filters(raw)
        assert matching_logs(workspace_id=workspace.id, filters=filters).count() == 1, raw


def test_a_batch_over_the_body_limit_is_413_and_inserts_nothing(api, workspace, settings):
    settings.API_MAX_BODY_BYTES = 4096
    assert_error(api.post("/v1/logs", [custom_log() for _ in range(20)]), 413,
                 code="payload_too_large")
    assert not Log.objects.exists()


def test_a_url_that_cannot_be_parsed_is_422_naming_the_field(api, workspace):
    # urlsplit("http://[::1").hostname raises; that was a 500.
    payload = custom_log(request={"url": "http://[::1", "body": {}})
    assert_error(api.post("/v1/logs", payload), 422, field="request.url", code="invalid_value")
    assert not Log.objects.exists()


def test_token_counts_whose_sum_passes_the_column_are_422_naming_the_field(api, workspace):
    # Each part fits a 32-bit column, their sum (total_tokens) does not: on PostgreSQL the
    # insert overflowed, a 500.
    usage = {"prompt_tokens": 2**31 - 1, "completion_tokens": 2**31 - 1}
    payload = custom_log(response={"status": 200, "body": {"usage": usage}})
    assert_error(api.post("/v1/logs", payload), 422, field="response.body.usage.total_tokens",
                 code="invalid_value")
    assert not Log.objects.exists()
