"""Our stored JSON text equals PostgreSQL's jsonb output, so both export paths agree."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from logs.canonical_json import canonical_json, exact_json
from tests.nasty import NASTY_PAYLOADS


@pytest.mark.parametrize("payload", NASTY_PAYLOADS)
def test_fast_and_exact_renderings_agree(payload):
    assert canonical_json(payload) == exact_json(payload)
    assert json.loads(canonical_json(payload)) == json.loads(json.dumps(payload))


def test_key_order_spacing_numbers_and_escapes():
    assert canonical_json({"bb": 1, "a": [1.5, 1e-07, 1e16, -0.0], "ccc": "é\n\x01"}) == (
        '{"a": [1.5, 0.0000001, 10000000000000000, 0.0], "bb": 1, "ccc": "é\\n\\u0001"}'
    )


def test_refuses_what_json_text_cannot_hold():
    with pytest.raises(ValueError, match="NUL"):
        canonical_json({"a": "x\x00y"})
    with pytest.raises(ValueError, match="NaN or infinite"):
        canonical_json([float("nan")])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares with PostgreSQL's jsonb")
@pytest.mark.django_db
@pytest.mark.parametrize("payload", NASTY_PAYLOADS)
def test_matches_postgresql_jsonb_output(payload):
    with connection.cursor() as cursor:
        cursor.execute("SELECT (%s::jsonb)::text", [json.dumps(payload)])
        assert cursor.fetchone()[0] == canonical_json(payload)
