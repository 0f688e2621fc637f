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
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import API_KEY_SCOPES
from api.openapi import openapi_document
from exports import services
from exports.fields import ACCEPTED_NAMES, FIELDS
from logs.filters import KNOWN_FILTERS, PAGING_KEYS, SPEC_FILTERS
from tests.api.conftest import issue_key

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def test_the_document_is_valid_openapi_and_built_from_the_catalogues():
    document = openapi_document()
    validate(document)
    schemas = document["components"]["schemas"]
    assert schemas["RequestedData"]["items"]["enum"] == list(ACCEPTED_NAMES)
    assert set(schemas["ExportFilters"]["properties"]) == {
        *KNOWN_FILTERS, *SPEC_FILTERS, *PAGING_KEYS}
    assert schemas["ExportItem"]["properties"]["requested_data"]["items"]["enum"] == [
        field.name for field in FIELDS]
    assert document["x-scopes"] == API_KEY_SCOPES


@pytest.mark.django_db
def test_the_document_and_docs_page_are_served(client):
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.json() == openapi_document()
    page = client.get("/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("/v1/logs/exports/{exportId}/download", "x-portkey-api-key", "logs.export",
                 "ai_org_model", "time_of_generation_min", "req_units", '"error"'):
        assert text in html, text
    assert "https://" not in html.split("<body>")[0]  # nothing loaded from a CDN


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error_and_no_response_off_the_schema(live_server, seeded):
    _, raw = issue_key(seeded)
    draft = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    log_id = str(seeded.logs.values_list("id", flat=True).first())
    schema = schemathesis.openapi.from_dict(openapi_document())
    headers = {"x-portkey-api-key": raw}
    base_url = f"{live_server.url}/v1"
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        known_ids = {"exportId": str(draft.id)} if "{exportId}" in operation.path else (
            {"logId": log_id} if "{logId}" in operation.path else None)
        strategies = [operation.as_strategy(mode, path_parameters=ids)
                      for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
                      for ids in ((None,) if known_ids is None else (None, known_ids))]
        for strategy in strategies:
            @settings(max_examples=12, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case):
                nonlocal calls
                response = case.call(base_url=base_url, headers=headers, timeout=30)
                case.validate_response(response, checks=CHECKS, headers=headers)
                calls += 1

            run()
    assert calls > 100
