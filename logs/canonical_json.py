"""The one text form of every JSON payload we store and export.

PostgreSQL keeps JSONField values as jsonb and prints them in jsonb's normal form: object keys
ordered by byte length and then by bytes, ", " and ": " as separators, non-ASCII text as UTF-8,
numbers in plain (never exponent) notation. Writing exactly that text on every database makes
the stored text of SQLite and the jsonb output of PostgreSQL the same bytes, so both export
paths can copy payloads through without parsing them.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal

_encode_string = json.JSONEncoder(ensure_ascii=False).encode


def _key_order(key: str) -> tuple[int, bytes]:
    raw = key.encode()
    return len(raw), raw


def _number(value: float | int | Decimal) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("JSON cannot hold NaN or infinite numbers")
        value = Decimal(repr(value))
    if value.is_zero():
        value = abs(value)  # numeric has no negative zero
    return format(value, "f")


class CanonicalText(str):
    """JSON text already in canonical form (made by canonical_json), passed through as it is."""


class _NeedsExactPath(Exception):
    pass


def _jsonb_ordered(value: object) -> object:
    """The value with jsonb's key order; raises where json.dumps would print it differently."""
    kind = type(value)
    if isinstance(value, dict) and kind is dict:
        if not all(type(key) is str for key in value):
            raise _NeedsExactPath
        return {key: _jsonb_ordered(value[key]) for key in sorted(value, key=_key_order)}
    if isinstance(value, list | tuple) and (kind is list or kind is tuple):
        return [_jsonb_ordered(item) for item in value]
    if kind is float:
        text = repr(value)
        if "e" in text or "n" in text or value == 0:  # exponent, inf/nan, or -0.0
            raise _NeedsExactPath
        return value
    if kind is str or kind is int or kind is bool or value is None:
        return value
    raise _NeedsExactPath


def canonical_json(value: object) -> str:
    """jsonb's text for a value: json.dumps in C where it prints the same, else exact_json."""
    if type(value) is CanonicalText:
        return value
    try:
        text = json.dumps(_jsonb_ordered(value), ensure_ascii=False)
    except _NeedsExactPath:
        return exact_json(value)
    if "\\u0000" in text:
        return exact_json(value)  # raises on a real NUL; keeps a literal backslash-u0000 text
    return text


def exact_json(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("JSON text cannot contain the NUL character (\\u0000)")
        return _encode_string(value)
    if isinstance(value, int | float | Decimal):
        return _number(value)
    if isinstance(value, dict):
        items = []
        for key in sorted(value, key=lambda k: _key_order(str(k))):
            items.append(f"{exact_json(str(key))}: {exact_json(value[key])}")
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(exact_json(item) for item in value) + "]"
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class CanonicalJSONEncoder(json.JSONEncoder):
    """Used by every JSONField of Log, so SQLite stores the same text jsonb would print."""

    def encode(self, o: object) -> str:
        return canonical_json(o)
