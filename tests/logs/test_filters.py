from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from logs.filters import matching_logs, normalise_filters

pytestmark = pytest.mark.sqlite  # SQLite has code paths of its own here


def test_normal_form():
    assert normalise_filters({
        "created_at": {"gte": "2024-01-01T02:00:00+02:00", "lte": "2024-01-31T23:59:59.5Z"},
        "ai_model": "gpt-4o, claude-3-haiku",
        "status_code": ["429", 200],
    }) == {
        "created_at": {"gte": "2024-01-01T00:00:00Z", "lte": "2024-01-31T23:59:59.500000Z"},
        "ai_model": ["claude-3-haiku", "gpt-4o"],
        "status_code": [200, 429],
    }
    assert normalise_filters(None) == {}
    assert normalise_filters({"created_at": {"gte": "", "lte": None}, "ai_model": ""}) == {}


@pytest.mark.parametrize(("raw", "field"), [
    ({"status_code": "abc"}, "filters.status_code"),
    ({"status_code": [700]}, "filters.status_code"),
    ({"status_code": True}, "filters.status_code"),
    ({"ai_model": 5}, "filters.ai_model"),
    ({"ai_model": " , "}, "filters.ai_model"),
])
def test_bad_values_name_their_field(raw, field):
    with pytest.raises(ValidationError) as caught:
        normalise_filters(raw)
    assert list(caught.value.message_dict) == [field]


def test_model_and_status_filters_select_their_logs(seeded):
    filters = normalise_filters({"ai_model": ["gpt-4o"], "status_code": [200]})
    selected = matching_logs(workspace_id=seeded.id, filters=filters)
    assert 0 < selected.count() < seeded.logs.count()
    assert set(selected.values_list("ai_model", "status_code").distinct()) == {("gpt-4o", 200)}


def test_the_time_range_is_inclusive_at_both_ends(seeded):
    log = seeded.logs.order_by("created_at")[100]
    stamp = log.created_at.isoformat()
    filters = normalise_filters({"created_at": {"gte": stamp, "lte": stamp}})
    assert list(matching_logs(workspace_id=seeded.id, filters=filters)) == [log]
