from __future__ import annotations

from exports.fields import ALIASES, ALL_FIELD_NAMES, FIELDS, canonical_field_name

PRODUCT_DOC_FIELDS = [
    ("id", "ID"), ("trace_id", "Trace ID"), ("created_at", "Created At"), ("request", "Request"),
    ("response", "Response"), ("ai_provider", "AI Provider"), ("ai_model", "AI Model"),
    ("request_tokens", "Request Tokens"), ("response_tokens", "Response Tokens"),
    ("total_tokens", "Total Tokens"), ("cost", "Cost"), ("cost_currency", "Cost Currency"),
    ("response_time", "Response Time"), ("status_code", "Status Code"), ("config", "Config"),
    ("prompt_slug", "Prompt Slug"), ("metadata", "Metadata"),
]


def test_the_seventeen_fields_of_the_product_doc_come_first_in_its_order():
    doc_fields = [(f.name, f.label) for f in FIELDS if f.in_product_doc]
    assert doc_fields == PRODUCT_DOC_FIELDS
    assert all(f.description for f in FIELDS)


def test_the_wire_contract_names_all_resolve():
    spec_names = ["id", "trace_id", "created_at", "request", "response", "is_success", "ai_org",
                  "ai_model", "req_units", "res_units", "total_units", "request_url", "cost",
                  "cost_currency", "response_time", "response_status_code", "mode", "config",
                  "prompt_slug", "metadata"]
    resolved = [canonical_field_name(name) for name in spec_names]
    assert None not in resolved
    assert set(resolved) == set(ALL_FIELD_NAMES)
    assert ALIASES == {"ai_org": "ai_provider", "req_units": "request_tokens",
                       "res_units": "response_tokens", "total_units": "total_tokens",
                       "response_status_code": "status_code"}
    assert canonical_field_name("colour") is None
