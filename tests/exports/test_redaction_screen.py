"""The screen (RE2 over whole blocks of values) lets through every value a detector's guard
fires on, and, for text without decimal digits other than 0-9, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exports.redaction.detectors import DETECTOR_REGEXES, DETECTORS
from exports.redaction.redactor import Redactor
from exports.redaction.screen import Screen, wide_digit_class

pytestmark = pytest.mark.sqlite  # no database: it runs in both passes

# The characters the guards look at, decimal digits of other scripts, and the ones JSON escapes.
ALPHABET = "0123456789٣５𝟗 .-)(+:@_aAfFkKsxoyJeEhgpuIrRVTYbB\"\\\n\té🚀"

def guards_fire(kinds, text: str) -> bool:
    return any(guard(text) for kind, guard, _ in DETECTOR_REGEXES if kind in kinds)

def screened(rules: dict, values: list[str]) -> list[bool]:
    return Screen(Redactor(rules)).flags([("request", [value.encode() for value in values])])[0]

KIND_SETS = [list(DETECTORS), *[[kind] for kind in DETECTORS], ["email", "phone"]]

@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=ALPHABET, max_size=40), min_size=1, max_size=8),
       st.sampled_from(KIND_SETS))
def test_the_screen_lets_through_what_the_guards_fire_on(texts, kinds):
    flags = screened({"detectors": kinds}, texts)
    for text, flag in zip(texts, flags, strict=True):
        fires = guards_fire(kinds, text)
        if fires:
            assert flag, (text, kinds)
        elif flag:  # only a decimal digit of another script lets more through
            assert any(char.isdecimal() and not char.isascii() for char in text), (text, kinds)

def test_known_values():
    texts = ["nothing here", "jane@example.com", "call 415-555-0134", "4111 1111 1111 1111",
             "10.1.2.3", "fe80::1", "sk-abc", "Bearer x", "02:00–04:00 UTC", "٣", None]
    flags = Screen(Redactor({"detectors": list(DETECTORS)})).flags(
        [("request", [None if text is None else text.encode() for text in texts])])[0]
    assert flags == [False, True, True, True, True, True, True, True, False, True, False]

def test_drop_keys_and_patterns():
    rules = {"detectors": [], "drop_keys": ["request.body.user"], "patterns": []}
    values = [b'{"body": {"user": "x"}}', b'{"user_id": 1}', None]
    screen = Screen(Redactor(rules))
    assert screen.flags([("request", values), ("response", values)]) == \
        [[True, False, False], [False, False, False]]
    patterns = {"patterns": [{"name": "ticket", "regex": "T-[0-9]{4}"}]}
    assert Screen(Redactor(patterns)).flags([("request", values)]) == [[True, True, False]]

def test_the_wide_digit_class_is_pythons_decimal_digits_beyond_ascii():
    wide = wide_digit_class()
    assert wide.startswith("[\\x{660}-\\x{669}")
    import pyarrow as pa
    import pyarrow.compute as pc

    samples = ["٣", "５", "𝟗", "߀", "a", "é", "²", "½", "Ⅻ", "9"]
    found = pc.match_substring_regex(pa.array(samples), wide).to_pylist()
    assert found == [char.isdecimal() and not char.isascii() for char in samples]
