"""Applies an export's rules to the values of one row at a time, counting what each replaced.

A payload's JSON text is parsed only when something may need changing: the built-in detectors
and the team's patterns are first searched over the raw text in one pass each (the common case,
nothing found, costs one C-level scan and the text goes out as it came), and a drop key is
looked for by its last name. When parsed, each string value (and each object key's value, never
the key itself) is redacted, the dropped keys removed, and the result printed in the stored
canonical form (logs.canonical_json), so an unchanged value keeps its exact text.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from exports.redaction import in_place
from exports.redaction.detectors import (
    CONFIRMED_KINDS,
    DETECTOR_REGEXES,
    DIGIT_OR_COLON,
    DIGIT_OR_COLON_KINDS,
    GUARD_PATTERNS,
    confirmed,
)
from exports.redaction.rules import check_pattern
from logs.canonical_json import canonical_json

# One decoder for every payload: json.loads(text, parse_float=...) builds a new one per call.
_DECODER = json.JSONDecoder(parse_float=Decimal)
_DIGIT_OR_COLON = DIGIT_OR_COLON.search


def mark(name: str) -> str:
    return f"[REDACTED:{name}]"


class Redactor:
    def __init__(self, rules: dict):
        self.detectors = frozenset(rules.get("detectors") or ())
        # Checked again here, bounded in time: rules that reached the database some other way
        # fail the export with the pattern's name rather than hang it.
        self.patterns = [(item["name"], check_pattern(item["regex"],
                                                      where=f"redaction pattern {item['name']}"))
                         for item in rules.get("patterns") or ()]
        # {"metadata": [["user_email"]], "request": [["user"]]}
        self.drops: dict[str, list[list[str]]] = {}
        for path in rules.get("drop_keys") or ():
            column, _, rest = path.partition(".")
            self.drops.setdefault(column, []).append(rest.split("."))
        self.drop_paths = {column: [".".join([column, *path]) for path in paths]
                           for column, paths in self.drops.items()}
        self.counts: Counter[str] = Counter()
        self.detector_steps = [(kind, guard, regex, self._replacer(kind))
                               for kind, guard, regex in DETECTOR_REGEXES
                               if kind in self.detectors]
        # Every guard in one search: a text that fails it fails each guard, and one call costs
        # less than five on the short strings of a payload.
        self.any_guard = (re.compile("|".join(GUARD_PATTERNS[kind]
                                              for kind, _, _, _ in self.detector_steps)).search
                          if self.detector_steps else None)

    @property
    def active(self) -> bool:
        return bool(self.detectors or self.patterns or self.drops)

    # --- Text ---------------------------------------------------------------------------------

    def _replacer(self, kind: str) -> Callable[[re.Match], str] | str:
        if kind not in CONFIRMED_KINDS:
            return mark(kind)  # every match is of its kind: re.subn replaces in C

        def replace(match: re.Match) -> str:
            text = match.group(0)
            if not confirmed(kind, text):
                return text
            self.counts[kind] += 1
            return mark(kind)

        return replace

    def _might_match(self, text: str) -> bool:
        if self.any_guard is not None and self.any_guard(text):
            return True
        return any(pattern.search(text) for _, pattern in self.patterns)

    def text(self, value: str) -> str:
        if self.any_guard is not None and self.any_guard(value):
            # Checked on the text as it came: a marker put in by an earlier detector adds a ':'
            # but no match of any guard, so a kind ruled out here stays ruled out.
            numeric = _DIGIT_OR_COLON(value) is not None
            for kind, guard, regex, replace in self.detector_steps:
                if not numeric and kind in DIGIT_OR_COLON_KINDS or not guard(value):
                    continue
                if isinstance(replace, str):
                    value, found = regex.subn(replace, value)
                    if found:
                        self.counts[kind] += found
                else:
                    value = regex.sub(replace, value)
        for name, pattern in self.patterns:
            value, found = pattern.subn(mark(name), value)
            if found:
                self.counts[name] += found
        return value

    # --- JSON payloads ------------------------------------------------------------------------

    def _walk(self, value: Any) -> Any:
        kind = type(value)  # json.loads makes exactly these types
        if kind is str:
            return self.text(value)
        if kind is dict:
            return {key: self._walk(item) for key, item in value.items()}
        if kind is list:
            return [self._walk(item) for item in value]
        return value  # numbers, booleans and null never change

    def _drop(self, value: Any, path: list[str], name: str) -> None:
        if isinstance(value, list):  # a path walks through lists: each item
            for item in value:
                self._drop(item, path, name)
            return
        if not isinstance(value, dict) or path[0] not in value:
            return
        if len(path) == 1:
            del value[path[0]]
            self.counts[name] += 1
        else:
            self._drop(value[path[0]], path[1:], name)

    def json_text(self, column: str, text: str | None, *, canonical: bool = False
                  ) -> str | None:
        """The payload's canonical JSON text with the rules applied. canonical: the text is
        known to be in the canonical form already (PostgreSQL's jsonb output), so it can be
        redacted where it stands (exports.redaction.in_place), with the same result."""
        if text is None:
            return None
        drops = self.drops.get(column, [])
        wanted_drop = bool(drops) and any(f'"{path[-1]}"' in text for path in drops)
        if canonical and not wanted_drop and in_place.takes(text):
            # With detectors alone, text() tests each string value and a search of the whole
            # text first would change nothing. A team's pattern is first searched over the
            # whole raw text, as below, since that decides (an anchored one, `[0-9]$`, may fail
            # on the text and match a value).
            if self.patterns and not self._might_match(text):
                return text
            return in_place.redact_in_place(text, self.text)
        if not wanted_drop and not self._might_match(text):
            return text
        value = _DECODER.decode(text)
        if wanted_drop:
            for path, name in zip(drops, self.drop_paths[column], strict=True):
                self._drop(value, path, name)
        return canonical_json(self._walk(value))

    def summary(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))
