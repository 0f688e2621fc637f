"""An export's redaction rules, checked and put in their normal form.

    {"detectors": ["email", ...], "patterns": [{"name": "employee_id", "regex": "EMP-[0-9]{6}"}],
     "drop_keys": ["metadata.user_email", "request.user"]}

Each problem raises ValidationError naming the exact place (`redaction.patterns[0].regex`).
A pattern is refused when it could take for ever on a crafted text: nested or alternated
repetition is refused outright (the shapes of catastrophic backtracking), and what remains is
timed on crafted texts in a child process that is killed at its budget.
"""

from __future__ import annotations

import re
import subprocess
import sys
from re import _parser as sre_parse  # type: ignore[attr-defined]  # re's own parser
from typing import Any

from django.core.exceptions import ValidationError

from exports.redaction.detectors import DETECTORS

MAX_PATTERNS = 20
MAX_REGEX_LENGTH = 500
MAX_DROP_KEYS = 50
PATTERN_BUDGET_SECONDS = 2.0  # the child's whole run: start-up plus every crafted text
# The OpenAPI document carries the same patterns, read there as ECMA regular expressions: each
# is written so that both dialects agree (whole-string matches, whitespace spelled out, since
# Python's \s also takes \x1c-\x1f and ECMA's does not).
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
DROP_KEY_PATTERN = r"^(request|response|metadata)(\.[^. \t\n\r\f\v]{1,100}){1,9}$"
KEY_RE = re.compile(DROP_KEY_PATTERN)
EMPTY: dict = {"detectors": [], "patterns": [], "drop_keys": []}


# The codes of what no JSON schema can state: a regex that does not compile or could run for
# ever, a name used twice (the API answers them 422 with these codes).
INVALID_PATTERN = "invalid_pattern"


def _error(where: str, message: str, code: str | None = None) -> ValidationError:
    return ValidationError({where: ValidationError(message, code=code)})


def is_empty(rules: dict | None) -> bool:
    return not rules or not (rules.get("detectors") or rules.get("patterns")
                             or rules.get("drop_keys"))


def describe_redaction(rules: dict | None) -> str:
    """One line for people: "email, secret; patterns employee_id; dropping metadata.x"."""
    if is_empty(rules):
        return "None"
    assert rules is not None
    parts = []
    if rules.get("detectors"):
        parts.append(", ".join(rules["detectors"]))
    if rules.get("patterns"):
        parts.append("patterns " + ", ".join(item["name"] for item in rules["patterns"]))
    if rules.get("drop_keys"):
        parts.append("dropping " + ", ".join(rules["drop_keys"]))
    return "; ".join(parts)


def normalise_redaction(raw: Any, *, field: str = "redaction") -> dict:
    """The rules in normal form: detectors in catalogue order, patterns as given, keys sorted."""
    if raw in (None, ""):
        return {key: [] for key in EMPTY}
    if not isinstance(raw, dict):
        raise _error(field, "must be an object with detectors, patterns and drop_keys")
    unknown = sorted(set(raw) - set(EMPTY))
    if unknown:
        raise _error(f"{field}.{unknown[0]}",
                     "is not a redaction setting; use detectors, patterns or drop_keys")
    return {"detectors": _detectors(raw.get("detectors"), f"{field}.detectors"),
            "patterns": _patterns(raw.get("patterns"), f"{field}.patterns"),
            "drop_keys": _drop_keys(raw.get("drop_keys"), f"{field}.drop_keys")}


def _list(raw: Any, where: str) -> list:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _error(where, "must be a list")
    return raw


def _detectors(raw: Any, where: str) -> list[str]:
    items = _list(raw, where)
    for index, item in enumerate(items):
        if item not in DETECTORS:
            raise _error(f"{where}[{index}]",
                         f"{item!r} is not a detector; use {', '.join(DETECTORS)}")
    return [name for name in DETECTORS if name in items]


def _patterns(raw: Any, where: str) -> list[dict]:
    items = _list(raw, where)
    if len(items) > MAX_PATTERNS:
        raise _error(where, f"at most {MAX_PATTERNS} patterns")
    patterns: list[dict] = []
    seen = set(DETECTORS)
    for index, item in enumerate(items):
        at = f"{where}[{index}]"
        if not isinstance(item, dict) or set(item) != {"name", "regex"}:
            raise _error(at, "must be an object with a name and a regex")
        name, regex = item["name"], item["regex"]
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            raise _error(f"{at}.name", "must be 1–40 lower-case letters, digits or _, "
                                       "starting with a letter")
        if name in seen:
            raise _error(f"{at}.name", f"{name!r} is already a detector or pattern name",
                         INVALID_PATTERN)
        seen.add(name)
        check_pattern(regex, where=f"{at}.regex")
        patterns.append({"name": name, "regex": regex})
    return patterns


def _drop_keys(raw: Any, where: str) -> list[str]:
    items = _list(raw, where)
    if len(items) > MAX_DROP_KEYS:
        raise _error(where, f"at most {MAX_DROP_KEYS} keys")
    for index, item in enumerate(items):
        if not isinstance(item, str) or not KEY_RE.fullmatch(item):
            raise _error(f"{where}[{index}]",
                         "must be a dotted path under request, response or metadata, "
                         "such as metadata.user_email")
    return sorted(set(items))


# --- Patterns ---------------------------------------------------------------------------------

_REPEATS = {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, getattr(sre_parse, "POSSESSIVE_REPEAT",
                                                                 None)} - {None}


def _risky_shape(items, inside_repeat: bool = False) -> str | None:
    """Why a parsed pattern could backtrack without end, or None."""
    for op, value in items:
        if op in _REPEATS:
            low, high, body = value
            unbounded = high == sre_parse.MAXREPEAT or high > 100
            if inside_repeat and low != high:
                return "a repetition inside a repetition (such as (a+)+) can run for ever"
            found = _risky_shape(body, inside_repeat or unbounded)
            if found:
                return found
        elif op == sre_parse.SUBPATTERN:
            found = _risky_shape(value[-1], inside_repeat)
            if found:
                return found
        elif op == sre_parse.BRANCH:
            if inside_repeat:
                return "an alternation under * or + (such as (a|aa)*) can run for ever"
            for branch in value[1]:
                found = _risky_shape(branch, inside_repeat)
                if found:
                    return found
        elif op in (sre_parse.GROUPREF, sre_parse.GROUPREF_EXISTS):
            return "back-references are not allowed"
        elif op in (sre_parse.ASSERT, sre_parse.ASSERT_NOT):
            found = _risky_shape(value[1], inside_repeat)
            if found:
                return found
    return None


# Runs in a child process: each crafted text is searched; the parent kills it at the budget.
_PROBE = """
import re, sys
pattern = re.compile(sys.stdin.read())
alphabet = sorted({c for c in pattern.pattern if c.isprintable()} | set("a1 -@.:_/"))
texts = [c * 20000 + "!" for c in alphabet]
texts += ["".join(alphabet) * 2000 + "\\x00"]
for text in texts:
    pattern.search(text)
"""


# Patterns whose probe finished in time, oldest first: the Request Data preview checks the
# form's rules on every change (and the redactor again), and a child process costs ~35 ms. Only
# passes are kept: a pattern refused under load is tried again next time.
PROBED_SAFE_KEPT = 256
_PROBED_SAFE: dict[str, None] = {}


def check_pattern(regex: Any, *, where: str) -> re.Pattern:
    if not isinstance(regex, str) or not regex:
        raise _error(where, "must be a non-empty regular expression", INVALID_PATTERN)
    if len(regex) > MAX_REGEX_LENGTH:
        raise _error(where, f"must be at most {MAX_REGEX_LENGTH} characters", INVALID_PATTERN)
    try:
        compiled = re.compile(regex)
        parsed = sre_parse.parse(regex)
    except (re.error, RecursionError, OverflowError) as error:
        raise _error(where, f"is not a valid regular expression: {error}",
                     INVALID_PATTERN) from None
    if compiled.search(""):
        raise _error(where, "matches empty text; it must match at least one character",
                     INVALID_PATTERN)
    risk = _risky_shape(list(parsed))
    if risk:
        raise _error(where, f"is refused: {risk}", INVALID_PATTERN)
    if regex in _PROBED_SAFE:
        return compiled
    try:
        subprocess.run([sys.executable, "-I", "-c", _PROBE], input=regex, text=True,
                       timeout=PATTERN_BUDGET_SECONDS, check=True, capture_output=True)
    except subprocess.TimeoutExpired:
        raise _error(where, "is refused: it runs too long on crafted text "
                            f"(over {PATTERN_BUDGET_SECONDS:g} s)", INVALID_PATTERN) from None
    except subprocess.CalledProcessError:
        raise _error(where, "is not a valid regular expression", INVALID_PATTERN) from None
    if len(_PROBED_SAFE) >= PROBED_SAFE_KEPT:
        _PROBED_SAFE.pop(next(iter(_PROBED_SAFE), ""), None)
    _PROBED_SAFE[regex] = None
    return compiled
