"""The OpenAPI document: valid, served, rendered as docs, and true to the live server."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import API_KEY_SCOPES
from api.v1 import api
from exports import services
from exports.fields import ACCEPTED_NAMES, ALIASES, FIELDS
from logs.filters import KNOWN_FILTERS, PAGING_KEYS, SPEC_FILTERS
from tests.api.conftest import issue_key


def openapi_document() -> dict:
    return api.get_openapi_schema()


ENDPOINTS = {
    "/logs/exports": {"get": "logs.export", "post": "logs.export"},
    "/logs/exports/{exportId}": {"get": "logs.export", "put": "logs.export"},
    "/logs/exports/{exportId}/start": {"post": "logs.export"},
    "/logs/exports/{exportId}/cancel": {"post": "logs.export"},
    "/logs/exports/{exportId}/download": {"get": "logs.export"},
    "/logs/exports/{exportId}/manifest": {"get": "logs.export"},
    "/logs": {"post": "logs.write"},
    "/logs/{logId}": {"get": "logs.view"},
    "/destinations": {"get": "logs.export", "post": "logs.export"},
    "/destinations/{destinationId}": {"delete": "logs.export"},
    "/webhooks": {"get": "logs.export", "post": "logs.export"},
    "/webhooks/{webhookId}": {"delete": "logs.export"},
    "/schedules": {"get": "logs.export", "post": "logs.export"},
    "/schedules/{scheduleId}": {"get": "logs.export", "patch": "logs.export",
                                "delete": "logs.export"},
    "/schedules/{scheduleId}/runs": {"get": "logs.export"},
}
# Errors beyond 401/403/404/405/500 that an operation documents.
OPERATION_ERRORS = {
    ("/logs/exports", "post"): {"400", "413", "415", "422"},
    ("/logs/exports", "get"): {"422"},
    ("/logs/exports/{exportId}", "put"): {"400", "409", "413", "415", "422"},
    ("/logs/exports/{exportId}/start", "post"): {"409", "503"},
    ("/logs/exports/{exportId}/cancel", "post"): {"409"},
    ("/logs/exports/{exportId}/download", "get"): {"409"},
    ("/logs", "post"): {"400", "413", "415", "422"},
    ("/destinations", "post"): {"400", "413", "415", "422"},
    ("/destinations", "get"): {"422"},
    ("/webhooks", "post"): {"400", "413", "415", "422"},
    ("/webhooks", "get"): {"422"},
    ("/destinations/{destinationId}", "delete"): {"409"},
    ("/schedules", "post"): {"400", "413", "415", "422"},
    ("/schedules", "get"): {"422"},
    ("/schedules/{scheduleId}", "patch"): {"400", "413", "415", "422"},
}


@schemathesis.check
def schema_valid_data_accepted(ctx, response, case):
    """positive_data_acceptance, except for values each valid and refused together (gte above
    lte, a filter in both dialects): the API answers those 422 conflicting_values, and no JSON
    schema states them; nor valid filters that match no log (422 no_matching_logs); nor a
    destination whose bucket refused the test write (422 destination_refused: no schema can
    say which buckets exist and take these credentials)."""
    if response.status_code == 422 and response.json()["error"]["code"] in (
            "conflicting_values", "no_matching_logs", "invalid_pattern", "redaction_policy",
            "destination_refused"):
        return None
    return positive_data_acceptance(ctx, response, case)


# The document and the server agree both ways: no schema-valid request refused, no
# schema-violating one accepted (format: null was, ai_org_model "x" was refused).
# Per strategy (each operation, positive and negative, with and without a known id): enough to
# meet a float limit, an ai_org_model without "__" or a null format, and a run of about a minute.
EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection, schema_valid_data_accepted]


def test_the_document_is_valid_openapi_and_built_from_the_catalogues():
    document = openapi_document()
    validate(document)
    schemas = document["components"]["schemas"]
    assert document["servers"] == [{"url": "/v1"}]
    for body in ("CreateExportRequest", "UpdateExportRequest"):
        requested = schemas[body]["properties"]["requested_data"]
        assert requested["items"]["enum"] == list(ACCEPTED_NAMES)
        for field in FIELDS:  # every alias, in the field's documentation
            assert all(alias in requested["description"] for alias in field.aliases)
        assert schemas[body]["properties"]["filters"]["allOf"] == [
            {"$ref": "#/components/schemas/ExportFilters"}]
        assert schemas[body]["additionalProperties"] is False
    assert schemas["CreateExportRequest"]["required"] == ["requested_data"]
    assert set(schemas["ExportFilters"]["properties"]) == {
        *KNOWN_FILTERS, *SPEC_FILTERS, *PAGING_KEYS}
    assert schemas["ExportFilters"]["additionalProperties"] is False
    assert schemas["ExportItem"]["properties"]["requested_data"]["items"]["enum"] == [
        field.name for field in FIELDS]
    assert document["x-scopes"] == API_KEY_SCOPES
    assert document["x-field-aliases"] == ALIASES
    error = schemas["Error"]
    assert error["required"] == ["error"]
    assert set(schemas["ErrorDetail"]["required"]) == {"message", "field", "code"}
    assert {
        (scheme["type"], scheme.get("name") or scheme.get("scheme"))
        for scheme in document["components"]["securitySchemes"].values()
    } == {("apiKey", "x-portkey-api-key"), ("http", "bearer")}
    body_of_logs = document["paths"]["/logs"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["anyOf"]
    assert body_of_logs[0]["$ref"].endswith("/CustomLog")
    assert body_of_logs[1]["items"]["$ref"].endswith("/CustomLog")


def test_every_endpoint_documents_its_scope_and_errors_in_the_one_shape():
    document = openapi_document()
    assert {path: set(item) for path, item in document["paths"].items()} == {
        path: set(methods) for path, methods in ENDPOINTS.items()}
    for path, methods in ENDPOINTS.items():
        for method, scope in methods.items():
            operation = document["paths"][path][method]
            assert operation["x-scope"] == scope
            assert f"`{scope}`" in operation["description"]
            assert len(operation["security"]) == 2
            errors = {code for code in operation["responses"]
                      if code not in ("200", "201", "204")}
            assert errors == {"401", "403", "404", "405", "429", "500", "503",
                              *OPERATION_ERRORS.get((path, method), ())}, (path, method)
            for code in errors:
                content = operation["responses"][code]["content"]["application/json"]
                assert content["schema"]["$ref"] == "#/components/schemas/Error"


@pytest.mark.django_db
def test_the_document_and_docs_page_are_served(client):
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.json() == openapi_document()
    text = response.content.decode()
    for needle in ("/logs/exports/{exportId}/download", "x-portkey-api-key", "logs.export",
                   "ai_org_model", "time_of_generation_min", "req_units", '"error"'):
        assert needle in text, needle
    page = client.get("/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/v1/openapi.json" in html  # the page renders the document above
    assert "https://" not in html  # nothing loaded from a CDN
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/static/ninja/{asset}" in html


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error_and_no_response_off_the_schema(live_server, seeded):
    _, raw = issue_key(seeded)
    draft = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    log_id = str(seeded.logs.values_list("id", flat=True).first())
    # A schedule to edit, list runs of and delete (its destination made directly: no bucket).
    from deliveries.models import Destination
    from deliveries.schedules import schedule_create

    destination = Destination.objects.create(workspace=seeded, name="d", bucket="b",
                                             access_key_id="k", secret_encrypted="-")
    schedule = schedule_create(workspace=seeded, user=None, name="s", requested_data=["id"],
                               destination_id=destination.id, interval="hourly",
                               start="2026-01-01T00:00:00Z")
    schema = schemathesis.openapi.from_dict(openapi_document())
    # Text with NUL is refused by the server (no database stores it) and the document says so
    # in words only: a pattern on every key of every nested object is beyond JSON Schema.
    schema.config.generation.update(allow_x00=False)
    headers = {"x-portkey-api-key": raw}
    base_url = f"{live_server.url}/v1"
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        known_ids = {"exportId": str(draft.id)} if "{exportId}" in operation.path else (
            {"logId": log_id} if "{logId}" in operation.path else (
                {"scheduleId": str(schedule.id)} if "{scheduleId}" in operation.path
                else None))
        strategies = [operation.as_strategy(mode, path_parameters=ids)
                      for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
                      for ids in ((None,) if known_ids is None else (None, known_ids))]
        for strategy in strategies:
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case):
                nonlocal calls
                response = case.call(base_url=base_url, headers=headers, timeout=30)
                case.validate_response(response, checks=CHECKS, headers=headers)
                calls += 1

            run()
    assert calls > 15 * EXAMPLES


@pytest.mark.parametrize(("name", "value"), [
    ("ai_org_model", "openai__gpt-4o"), ("ai_org_model", " , openai__gpt-4o, anthropic__c-2 "),
    ("ai_org_model", "x"), ("ai_org_model", "__gpt-4o"), ("ai_org_model", "openai__ "),
    ("ai_org_model", ["openai__gpt-4o"]), ("ai_org_model", ["x"]), ("ai_org_model", [" "]),
    ("ai_model", " "), ("ai_model", ","), ("ai_model", "a, ,b"), ("ai_model", ["a", " "]),
    ("ai_model", ""), ("ai_model", []),
    ("status_code", "200, 404"), ("status_code", "200,"), ("status_code", "abc"),
    ("status_code", 200.0), ("status_code", ["200", 404]), ("status_code", ["+200"]),
    ("metadata", {"a": 1}), ("metadata", {"a": True}), ("metadata", {"": "x"}),
    ("metadata", {f"k{i}": "v" for i in range(21)}),
])
def test_the_document_and_the_server_agree_on_each_filter_value(api, workspace, name, value):
    """A filter value the document allows is accepted, one it refuses is refused: schemathesis
    found ai_org_model "x" allowed by the document and refused by the server."""
    from jsonschema import Draft202012Validator

    document = openapi_document()
    schema = {**document["components"]["schemas"]["ExportFilters"],
              "components": document["components"]}
    allowed = Draft202012Validator(schema).is_valid({name: value})
    response = api.post("/v1/logs/exports", {"requested_data": ["id"], "filters": {name: value}})
    # The workspace has no logs: a value the server accepts still makes an empty export, which
    # is refused as such (no_matching_logs), after every value was checked.
    accepted = response.status_code == 200 or (
        response.status_code == 422 and response.json()["error"]["code"] == "no_matching_logs")
    assert accepted == allowed, (allowed, response.content)
