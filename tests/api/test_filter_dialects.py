"""Both filter dialects (product doc and public spec) normalise into one form that selects right."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from exports.fields import ACCEPTED_NAMES, ALIASES, FIELDS
from exports.models import ExportJob
from logs.filters import KNOWN_FILTERS, matching_logs, normalise_filters, split_paging
from tests.api.conftest import assert_error

pytestmark = [pytest.mark.sqlite, pytest.mark.django_db]

# The requested_data enum of the public spec (LogExportsRequestedData).
SPEC_REQUESTED_DATA = [
    "id", "trace_id", "created_at", "request", "response", "is_success", "ai_org", "ai_model",
    "req_units", "res_units", "total_units", "request_url", "cost", "cost_currency",
    "response_time", "response_status_code", "mode", "config", "prompt_slug", "metadata",
]


def test_the_spec_dialect_lands_in_the_normal_form():
    assert normalise_filters({
        "time_of_generation_min": "2024-01-01T02:00:00+02:00",
        "time_of_generation_max": "2024-01-31T23:59:59Z",
        "ai_model": "gpt-4o, claude-3-haiku",
        "ai_org_model": "openai__gpt-4o, anthropic__claude-2.1",
        "cost_min": 0.5, "cost_max": "12",
        "total_units_min": 10, "total_units_max": 5000,
        "prompt_token_min": 1, "prompt_token_max": 900,
        "completion_token_min": 0, "completion_token_max": 700,
        "status_code": "200,429",
        "metadata": {"environment": "production", "retries": 2},
        "trace_id": "t-1",
        "configs": "pc-a,pc-b",
        "prompt_slug": "summarise",
        "workspace_slug": "main",
    }) == {
        "created_at": {"gte": "2024-01-01T00:00:00Z", "lte": "2024-01-31T23:59:59Z"},
        "cost": {"gte": 0.5, "lte": 12},
        "total_tokens": {"gte": 10, "lte": 5000},
        "request_tokens": {"gte": 1, "lte": 900},
        "response_tokens": {"gte": 0, "lte": 700},
        "ai_model": ["claude-3-haiku", "gpt-4o"],
        "trace_id": ["t-1"],
        "config": ["pc-a", "pc-b"],
        "prompt_slug": ["summarise"],
        "workspace_slug": ["main"],
        "ai_org_model": ["anthropic__claude-2.1", "openai__gpt-4o"],
        "status_code": [200, 429],
        "metadata": {"environment": "production", "retries": "2"},
    }


def test_the_doc_dialect_and_the_spec_dialect_agree():
    doc = normalise_filters({"created_at": {"gte": "2024-01-01T00:00:00Z",
                                            "lte": "2024-01-31T23:59:59Z"},
                             "cost": {"gte": 1}, "config": ["pc-a"]})
    spec = normalise_filters({"time_of_generation_min": "2024-01-01T00:00:00Z",
                              "time_of_generation_max": "2024-01-31T23:59:59Z",
                              "cost_min": 1, "configs": "pc-a"})
    assert doc == spec
    # Mixing the dialects for different bounds is fine.
    assert normalise_filters({"created_at": {"gte": "2024-01-01T00:00:00Z"},
                              "time_of_generation_max": "2024-01-31T23:59:59Z"}) == {
        "created_at": {"gte": "2024-01-01T00:00:00Z", "lte": "2024-01-31T23:59:59Z"}}


def test_the_normal_form_is_a_fixed_point():
    normal = normalise_filters({"time_of_generation_min": "2024-01-01T00:00:00Z",
                                "ai_org_model": "openai__gpt-4o", "cost_max": 3.25,
                                "metadata": {"a": "b"}, "status_code": "500",
                                "trace_id": ["x", "y"]})
    assert normalise_filters(normal) == normal
    assert set(normal) <= set(KNOWN_FILTERS)


@pytest.mark.parametrize(("raw", "field"), [
    ({"time_of_generation_min": "2024-01-01T00:00:00Z",
      "created_at": {"gte": "2024-01-01T00:00:00Z"}}, "filters.time_of_generation_min"),
    ({"configs": "a", "config": "b"}, "filters.configs"),
    ({"time_of_generation_min": "soon"}, "filters.created_at.gte"),
    ({"cost_min": "cheap"}, "filters.cost.gte"),
    ({"cost_min": 5, "cost_max": 1}, "filters.cost.gte"),
    ({"total_units_min": 1.5}, "filters.total_tokens.gte"),
    ({"prompt_token_max": -1}, "filters.request_tokens.lte"),
    ({"completion_token_min": True}, "filters.response_tokens.gte"),
    ({"ai_org_model": "gpt-4o"}, "filters.ai_org_model"),
    ({"metadata": "env=prod"}, "filters.metadata"),
    ({"metadata": {"env": ["prod"]}}, "filters.metadata.env"),
    ({"weighted_feedback_min": 1}, "filters.weighted_feedback_min"),
    ({"virtual_keys": "vk"}, "filters.virtual_keys"),
    ({"page_size": 10}, "filters.page_size"),
    ({"cost": {"gt": 1}}, "filters.cost.gt"),
])
def test_bad_filters_name_their_field(raw, field):
    with pytest.raises(ValidationError) as caught:
        normalise_filters(raw)
    assert list(caught.value.message_dict) == [field]


def test_page_size_and_current_page_become_limit_and_offset(settings):
    settings.EXPORTS_MAX_LOGS_PER_EXPORT = 10_000_000
    assert split_paging({"page_size": 100, "current_page": 3, "ai_model": "x"}) == (
        {"ai_model": "x"}, 100, 300)
    assert split_paging({"page_size": 10_000_000}) == ({}, 10_000_000, None)
    assert split_paging({"ai_model": "x"}) == ({"ai_model": "x"}, None, None)
    for bad, field in (({"page_size": 10_000_001}, "filters.page_size"),
                       ({"page_size": 0}, "filters.page_size"),
                       ({"page_size": "ten"}, "filters.page_size"),
                       ({"current_page": 2}, "filters.current_page"),
                       ({"page_size": 5, "current_page": -1}, "filters.current_page")):
        with pytest.raises(ValidationError) as caught:
            split_paging(bad)
        assert list(caught.value.message_dict) == [field]


def _sample(seeded):
    return list(seeded.logs.order_by("created_at", "id"))


# Each filter against a plain Python reading of the same rule over the seeded logs.
CASES = {
    "time range": (lambda logs: {"time_of_generation_min": logs[50].created_at.isoformat(),
                                 "time_of_generation_max": logs[149].created_at.isoformat()},
                   lambda log, logs: logs[50].created_at <= log.created_at
                   <= logs[149].created_at),
    "ai_model": (lambda logs: {"ai_model": "gpt-4o, claude-3-haiku"},
                 lambda log, logs: log.ai_model in {"gpt-4o", "claude-3-haiku"}),
    "ai_org_model": (lambda logs: {"ai_org_model": "openai__gpt-4o, anthropic__claude-3-haiku,"
                                                   " openai__claude-3-haiku"},
                     lambda log, logs: (log.ai_provider, log.ai_model) in {
                         ("openai", "gpt-4o"), ("anthropic", "claude-3-haiku")}),
    "ai_provider": (lambda logs: {"ai_provider": ["google"]},
                    lambda log, logs: log.ai_provider == "google"),
    "cost": (lambda logs: {"cost_min": 0.5, "cost_max": "2.5"},
             lambda log, logs: Decimal("0.5") <= log.cost <= Decimal("2.5")),
    "total units": (lambda logs: {"total_units_min": 500, "total_units_max": 1500},
                    lambda log, logs: 500 <= log.total_tokens <= 1500),
    "prompt tokens": (lambda logs: {"prompt_token_min": 1000},
                      lambda log, logs: log.request_tokens >= 1000),
    "completion tokens": (lambda logs: {"completion_token_max": 100},
                          lambda log, logs: log.response_tokens <= 100),
    "status_code": (lambda logs: {"status_code": "429,500"},
                    lambda log, logs: log.status_code in {429, 500}),
    "metadata": (lambda logs: {"metadata": {"environment": logs[0].metadata["environment"],
                                            "_user": logs[0].metadata["_user"]}},
                 lambda log, logs: log.metadata["environment"] == logs[0].metadata["environment"]
                 and log.metadata["_user"] == logs[0].metadata["_user"]),
    "trace_id": (lambda logs: {"trace_id": next(log.trace_id for log in logs if log.trace_id)},
                 lambda log, logs: log.trace_id == next(x.trace_id for x in logs if x.trace_id)),
    "configs": (lambda logs: {"configs": logs[0].config},
                lambda log, logs: log.config == logs[0].config),
    "prompt_slug": (lambda logs: {"prompt_slug": [logs[0].prompt_slug]},
                    lambda log, logs: log.prompt_slug == logs[0].prompt_slug),
    "workspace_slug": (lambda logs: {"workspace_slug": "main"}, lambda log, logs: True),
    "other workspace_slug": (lambda logs: {"workspace_slug": "other"},
                             lambda log, logs: False),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_filter_selects_exactly_its_logs(seeded, case):
    make_filters, matches = CASES[case]
    logs = _sample(seeded)
    filters = normalise_filters(make_filters(logs))
    expected = [log.id for log in logs if matches(log, logs)]
    selected = list(matching_logs(workspace_id=seeded.id, filters=filters)
                    .values_list("id", flat=True))
    assert selected == expected
    if case not in ("workspace_slug", "other workspace_slug"):
        assert 0 < len(expected) < len(logs), "the case must tell matching from not matching"


def test_the_api_stores_one_normal_form_for_both_dialects(api, seeded):
    logs = _sample(seeded)
    gte, lte = logs[10].created_at.isoformat(), logs[209].created_at.isoformat()
    doc = api.post("/v1/logs/exports", {
        "filters": {"created_at": {"gte": gte, "lte": lte}, "status_code": [200]},
        "requested_data": ["id", "ai_provider", "total_tokens", "status_code"]}).json()
    spec = api.post("/v1/logs/exports", {
        "filters": {"time_of_generation_min": gte, "time_of_generation_max": lte,
                    "status_code": "200", "page_size": 50_000, "current_page": 0},
        "requested_data": ["id", "ai_org", "total_units", "response_status_code"]}).json()
    first, second = ExportJob.objects.get(id=doc["id"]), ExportJob.objects.get(id=spec["id"])
    assert first.filters == second.filters
    assert first.requested_data == second.requested_data
    assert doc["total"] == spec["total"] == sum(
        1 for log in logs[10:210] if log.status_code == 200)
    retrieved = api.get(f"/v1/logs/exports/{spec['id']}").json()
    assert retrieved["filters"] == first.filters


def test_spec_paging_sets_the_slice(api, seeded):
    body = api.post("/v1/logs/exports", {"filters": {"page_size": 70, "current_page": 4},
                                         "requested_data": ["id"]}).json()
    job = ExportJob.objects.get(id=body["id"])
    assert (job.limit, job.offset, body["total"]) == (70, 280, 20)
    assert job.filters == {}


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_every_alias_of_requested_data(api, seeded, alias):
    body = api.post("/v1/logs/exports", {"requested_data": [alias, "id"]}).json()
    assert ExportJob.objects.get(id=body["id"]).requested_data == ["id", ALIASES[alias]]


def test_every_name_of_the_spec_and_the_doc_is_accepted(api, seeded):
    assert set(SPEC_REQUESTED_DATA) <= set(ACCEPTED_NAMES)
    body = api.post("/v1/logs/exports", {"requested_data": SPEC_REQUESTED_DATA}).json()
    assert ExportJob.objects.get(id=body["id"]).requested_data == [f.name for f in FIELDS]
    doc_names = [f.name for f in FIELDS if f.in_product_doc]
    body = api.post("/v1/logs/exports", {"requested_data": doc_names}).json()
    assert ExportJob.objects.get(id=body["id"]).requested_data == doc_names


def test_a_bad_spec_filter_is_422_naming_it(api, seeded):
    assert_error(api.post("/v1/logs/exports", {"requested_data": ["id"],
                                               "filters": {"cost_min": "lots"}}),
                 422, field="filters.cost.gte")
