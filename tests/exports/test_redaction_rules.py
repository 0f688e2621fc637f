"""Redaction rules: their normal form, their errors, the detectors and the JSON payloads."""

from __future__ import annotations

import json
import time

import pytest
from django.core.exceptions import ValidationError

from exports.redaction.detectors import DETECTORS
from exports.redaction.redactor import Redactor
from exports.redaction.rules import normalise_redaction
from logs.canonical_json import canonical_json


def test_rules_in_normal_form():
    rules = normalise_redaction({
        "detectors": ["secret", "email"],
        "patterns": [{"name": "employee_id", "regex": "EMP-[0-9]{6}"}],
        "drop_keys": ["request.user", "metadata.user_email"],
    })
    assert rules == {"detectors": ["email", "secret"],
                     "patterns": [{"name": "employee_id", "regex": "EMP-[0-9]{6}"}],
                     "drop_keys": ["metadata.user_email", "request.user"]}
    assert normalise_redaction(None) == {"detectors": [], "patterns": [], "drop_keys": []}


@pytest.mark.parametrize(("raw", "where"), [
    ("all", "redaction"),
    ({"detector": []}, "redaction.detector"),
    ({"detectors": ["email", "ssn"]}, "redaction.detectors[1]"),
    ({"patterns": [{"name": "x", "regex": "["}]}, "redaction.patterns[0].regex"),
    ({"patterns": [{"name": "ok", "regex": "a"}, {"name": "Bad Name", "regex": "b"}]},
     "redaction.patterns[1].name"),
    ({"patterns": [{"name": "email", "regex": "b"}]}, "redaction.patterns[0].name"),
    ({"patterns": [{"name": "x", "regex": "(a+)+$"}]}, "redaction.patterns[0].regex"),
    ({"patterns": [{"name": "x", "regex": "(a|aa)*c"}]}, "redaction.patterns[0].regex"),
    ({"patterns": [{"name": "x", "regex": "x*"}]}, "redaction.patterns[0].regex"),
    ({"drop_keys": ["user_email"]}, "redaction.drop_keys[0]"),
    ({"drop_keys": ["metadata.a", "trace_id.x"]}, "redaction.drop_keys[1]"),
])
def test_bad_rules_name_the_place(raw, where):
    with pytest.raises(ValidationError) as caught:
        normalise_redaction(raw)
    assert list(caught.value.message_dict) == [where]


def test_a_slow_pattern_is_refused_within_its_budget():
    started = time.monotonic()
    with pytest.raises(ValidationError, match="runs too long"):
        normalise_redaction({"patterns": [{"name": "slow", "regex": "(.*a){25}"}]})
    assert time.monotonic() - started < 5


PLANTED = {
    "email": ["jane.doe+tag@example.co.uk", "ops@acme.io"],
    "phone": ["+1 415 555 0134", "(415) 555-0134", "415-555-0134", "+44 20 7946 0958",
              "020 7946 0958"],
    "credit_card": ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"],
    "ip_address": ["192.168.10.4", "2001:db8::8a2e:370:7334", "fe80::1"],
    "secret": ["sk-proj-abcdefghijklmnopqrstuvwx1234", "sk-ant-api03-abcdefghijklmnopqrstuvwx",
               "AKIAIOSFODNN7EXAMPLE", "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
               "xoxb-1234567890-abcdefghij", "Bearer abcdef0123456789abcdef",
               "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
               "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----"],
}
LOOK_ALIKES = ["2024-05-01T12:30:00Z", "12:30:00", "1.24.3", "v2.0.1.4", "ORD-2024-118822",
               "550e8400-e29b-41d4-a716-446655440000", "1234567812345678", "#100234",
               "3.11.4-beta", "2024-05-01 12:30:00.123456"]


@pytest.mark.parametrize("kind", DETECTORS)
def test_each_detector_replaces_its_kind_and_leaves_look_alikes(kind):
    redactor = Redactor({"detectors": list(DETECTORS)})
    for value in PLANTED[kind]:
        text = f"before {value} after; " + " ".join(LOOK_ALIKES)
        assert redactor.text(text) == f"before [REDACTED:{kind}] after; " + " ".join(LOOK_ALIKES)
    assert redactor.summary() == {kind: len(PLANTED[kind])}


def test_only_the_chosen_detectors_apply():
    redactor = Redactor({"detectors": ["email"]})
    assert redactor.text("ops@acme.io 192.168.10.4") == "[REDACTED:email] 192.168.10.4"


def test_json_payloads_keep_their_text_unless_changed_and_drop_keys():
    redactor = Redactor(normalise_redaction({
        "detectors": ["email"], "patterns": [{"name": "employee_id", "regex": "EMP-[0-9]{6}"}],
        "drop_keys": ["metadata.user_email", "request.messages.name"]}))
    clean = canonical_json({"a": 1.50, "b": "nothing here", "n": 12345678901234567890})
    assert redactor.json_text("request", clean) is clean
    request = canonical_json({"messages": [{"role": "user", "name": "x", "content":
                                            "I am EMP-123456, mail ops@acme.io"}], "t": 0.1})
    assert json.loads(redactor.json_text("request", request) or "") == {
        "messages": [{"role": "user", "content":
                      "I am [REDACTED:employee_id], mail [REDACTED:email]"}], "t": 0.1}
    metadata = canonical_json({"user_email": "x", "tier": "gold", "cost": 1.10})
    assert redactor.json_text("metadata", metadata) == canonical_json({"tier": "gold",
                                                                       "cost": 1.10})
    assert redactor.json_text("metadata", None) is None
    assert redactor.summary() == {"email": 1, "employee_id": 1, "metadata.user_email": 1,
                                  "request.messages.name": 1}


def test_a_card_number_is_no_phone_number_when_only_phones_are_redacted():
    redactor = Redactor({"detectors": ["phone"]})
    for card in ("4841 0934 0751 7408", "5500 0000 0000 0004"):
        assert redactor.text(f"card {card}.") == f"card {card}."
    assert redactor.text("call 020 7946 0958.") == "call [REDACTED:phone]."
