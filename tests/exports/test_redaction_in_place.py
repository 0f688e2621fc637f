"""Redacting a payload's canonical text where it stands (exports.redaction.in_place) gives the
same text and counts as parsing, redacting and printing it again; and the shortcut in
Redactor.text (no digit and no ':', no card, IP or phone guard) changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exports.redaction import in_place
from exports.redaction.detectors import DETECTORS
from exports.redaction.redactor import Redactor, mark
from logs.canonical_json import canonical_json

# Values the detectors take, look-alikes they leave, and what JSON escapes or what sits next to
# a match: quotes, backslashes, control characters, other scripts' digits.
PLANTED = ["jane.doe@example.com", "+1 415 555 0134", "(415) 555-0134", "415.555.0134",
           "4111 1111 1111 1111", "4111111111111112", "10.0.0.1", "2001:db8::1", "fe80::1",
           "12:30:00", "::", "sk-proj-abcdefghijklmnopqrstuv", "AKIAABCDEFGHIJKLMNOP",
           "ghp_" + "a" * 36, "xoxb-1234567890-abc", "Bearer abcdefghijklmnop0123",
           "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefghijk",
           "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----", "EMP-123456",
           "ticket 42", "[REDACTED:email]", "٣٣٣-٣٣٣-٣٣٣٣", "５５５.５５５.５５５５"]
GLUE = ["", " ", "\n", "\t", '"', "\\", "\\n", "\x01", "\x7f", "é", "🚀", ".", "-", "@", ":",
        "a", "1", "\u2028", "\\u0040", "/"]

strings = st.lists(st.sampled_from(PLANTED) | st.sampled_from(GLUE)
                   | st.text(alphabet="az09@.:-+ \"\\\n", max_size=6),
                   max_size=6).map("".join)
numbers = (st.integers(min_value=-10**30, max_value=10**30)
           | st.decimals(allow_nan=False, allow_infinity=False, places=3,
                         min_value=Decimal("-1e12"), max_value=Decimal("1e12"))
           | st.floats(allow_nan=False, allow_infinity=False))
values = st.recursive(
    st.none() | st.booleans() | numbers | strings,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(strings | st.sampled_from(["contact", "user", "role", "body"]), children,
                      max_size=4),
    max_leaves=12)

RULE_SETS = [
    {"detectors": list(DETECTORS)},
    {"detectors": ["email"]},
    {"detectors": ["phone", "credit_card", "ip_address"]},
    {"detectors": ["secret"]},
    {"detectors": ["email", "secret"],
     "patterns": [{"name": "employee", "regex": "EMP-[0-9]{6}"},
                  {"name": "quoted", "regex": 'a"'}, {"name": "start", "regex": "^ticket"},
                  {"name": "slash", "regex": r"\\n"}]},
    {"detectors": ["email"], "drop_keys": ["metadata.contact", "metadata.body.role"]},
    {"patterns": [{"name": "line_end", "regex": "[0-9]$"}]},
]


def both_ways(rules: dict, text: str) -> tuple[tuple, tuple]:
    parsed, in_place_ = Redactor(rules), Redactor(rules)
    expected = parsed.json_text("metadata", text)
    got = in_place_.json_text("metadata", text, canonical=True)
    return (got, in_place_.summary()), (expected, parsed.summary())


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values, st.sampled_from(RULE_SETS))
def test_in_place_equals_parse_redact_print(value, rules):
    text = canonical_json(value)
    got, expected = both_ways(rules, text)
    assert got == expected, text


@pytest.mark.parametrize("text", [
    '{"jane@example.com": "jane@example.com"}',  # a key is never redacted
    '{"a": "x\\"jane@example.com\\"", "b": ["\\\\jane@example.com", "\\njane@example.com"]}',
    '"jane@example.com"',
    '[1.50, -0.001, 100000000000000000000000000001, "10.0.0.1"]',
    '{"a": "x\\u0001jane@example.com", "b": "\\u0000"}',  # an escaped NUL: parsed, and refused
    '[' + "1" * 5000 + ', "jane@example.com"]',  # longer than int() reads: parsed, and refused
])
def test_known_texts(text):
    def outcome(canonical: bool) -> tuple[str | None, type[Exception] | None]:
        try:
            return Redactor({"detectors": list(DETECTORS)}).json_text(
                "request", text, canonical=canonical), None
        except ValueError as error:
            return None, type(error)

    assert outcome(canonical=True) == outcome(canonical=False)


def test_takes_leaves_to_the_parser_what_it_refuses():
    assert in_place.takes('{"a": "b@c.de"}')
    assert not in_place.takes('{"a": "\\u0000"}')
    assert not in_place.takes("[" + "1" * 5000 + "]")
    assert in_place.takes("[" + "1" * 4000 + "]")


def reference_text(redactor: Redactor, value: str) -> str:
    """Redactor.text as it was before the digit-or-colon shortcut."""
    if redactor.any_guard is not None and redactor.any_guard(value):
        for kind, guard, regex, replace in redactor.detector_steps:
            if not guard(value):
                continue
            if isinstance(replace, str):
                value, found = regex.subn(replace, value)
                redactor.counts[kind] += found
            else:
                value = regex.sub(replace, value)
    for name, pattern in redactor.patterns:
        value, found = pattern.subn(mark(name), value)
        redactor.counts[name] += found
    return value


@settings(max_examples=600, deadline=None)
@given(strings, st.sampled_from(RULE_SETS))
def test_text_shortcut_changes_nothing(value, rules):
    fast, reference = Redactor(rules), Redactor(rules)
    assert fast.text(value) == reference_text(reference, value)
    assert fast.summary() == {kind: count for kind, count in reference.summary().items()
                              if count}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's jsonb output")
@pytest.mark.django_db
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(values, min_size=1, max_size=10), st.sampled_from(RULE_SETS))
def test_postgresql_jsonb_text_is_taken_in_place(payloads, rules):
    """The fast path's input is jsonb's text: redacted in place it gives what parsing gives."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT (x::jsonb)::text FROM unnest(%s::text[]) AS x",
                       [[canonical_json(payload) for payload in payloads]])
        texts = [row[0] for row in cursor.fetchall()]
    for text in texts:
        got, expected = both_ways(rules, text)
        assert got == expected, text
