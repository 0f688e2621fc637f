"""The metadata filter: a log matches when `metadata->>key` is exactly the given text.

On PostgreSQL the text test alone reads every log in range; a containment test (`metadata @>
{"key": value}`) is answered by the GIN jsonb_path_ops index instead. Containment compares JSON
values, not text, so it is added as a superset: the key holding the text itself, or the JSON
value that text spells (5, true, [..]), whose `->>` text may equal it; the text test then keeps
exactly the matches.
"""

from __future__ import annotations

import json

from django.db.models import BooleanField, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import Exact


def _containment_candidates(key: str, value: str) -> list[str]:
    candidates = [json.dumps({key: value})]
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if parsed is not None and not isinstance(parsed, str):
        candidates.append(json.dumps({key: parsed}))
    return candidates


def metadata_condition(key: str, value: str, *, vendor: str) -> Q:
    # An expression, not a lookup name: a key is data and may hold "__".
    exact = Q(Exact(KeyTextTransform(key, "metadata"), Value(value)))
    if vendor != "postgresql":
        return exact
    contained = Q()
    for candidate in _containment_candidates(key, value):
        contained |= Q(RawSQL('"logs_log"."metadata" @> %s::jsonb', (candidate,),
                              output_field=BooleanField()))
    return contained & exact
