"""Which values of a block of rows the redactor could change, found in one pass over each.

The redactor (exports.redaction.redactor) first tests each payload with its detectors' guards
and its drop keys; a payload that fails every test goes out as stored. Python's `re` tests
~1.4 KB of JSON in ~30 µs per guard, so the fast path runs the same tests on whole blocks of
payloads at once, through Arrow's compute functions: RE2 (a DFA: every guard in one pass,
~1 µs per KB) in C++, without the GIL. Only the values the screen lets through are parsed and
redacted in Python, by the same Redactor, so the output is the same bytes either way.

The screen is never narrower than the guards (a value a guard would fire on is let through):
it is exact but for decimal digits other than 0-9, whose values it lets through, and patterns
of the team's own are Python regexes, so any pattern lets every value through.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Sequence
from functools import cache
from itertools import chain

from exports.redaction.detectors import GUARD_PATTERNS
from exports.redaction.redactor import Redactor


@cache
def wide_digit_class() -> str:
    """RE2's class of the characters besides 0-9 that Python's `\\d` takes (Unicode's decimal
    digits, as the running Python knows them)."""
    every_character = array("I", chain(range(0x80, 0xD800), range(0xE000, 0x110000)))
    text = every_character.tobytes().decode("utf-32-le")
    runs = (match.span() for match in re.finditer(r"\d+", text))
    return "[" + "".join(f"\\x{{{ord(text[start]):x}}}-\\x{{{ord(text[end - 1]):x}}}"
                         for start, end in runs) + "]"


def guard_re2(kinds: Sequence[str]) -> str | None:
    """One RE2 pattern that matches wherever any of the detectors' guards would, and maybe
    elsewhere. RE2's `\\d` is [0-9] alone, so the guards read digits as [0-9], and any other
    decimal digit lets its value through: a small pattern (compiled once per block), exact for
    the texts without such digits, which are nearly all."""
    if not kinds:
        return None
    guards = [GUARD_PATTERNS[kind] for kind in kinds]
    if any(r"\d" in guard for guard in guards):
        guards.append(wide_digit_class())
    return "|".join(guard.replace(r"\d", "[0-9]") for guard in guards)


class Screen:
    """The rows of a block whose value in a column the redactor could change."""

    def __init__(self, redactor: Redactor):
        self.pattern = guard_re2([kind for kind, _, _, _ in redactor.detector_steps])
        self.everything = bool(redactor.patterns)
        self.drop_marks = {column: sorted({f'"{path[-1]}"' for path in paths})
                           for column, paths in redactor.drops.items()}

    def flags(self, columns: Sequence[tuple[str, Sequence[bytes | None]]]) -> list[list[bool]]:
        """For each (column, values) of a block, each value's UTF-8 text (or None): whether the
        redactor could change it. One RE2 pass over all of them (a call compiles the pattern)."""
        if self.everything:
            return [[value is not None for value in values] for _, values in columns]
        if self.pattern is None and not any(self.drop_marks.get(name) for name, _ in columns):
            return [[False] * len(values) for _, values in columns]
        import pyarrow as pa
        import pyarrow.compute as pc

        texts = pa.array([value for _, values in columns for value in values], type=pa.string())
        found = (pc.match_substring_regex(texts, self.pattern) if self.pattern is not None
                 else pa.array([False] * len(texts)))
        flags: list[list[bool]] = []
        start = 0
        for name, values in columns:
            part = found.slice(start, len(values))
            for mark in self.drop_marks.get(name, ()):
                part = pc.or_(part, pc.match_substring(texts.slice(start, len(values)), mark))
            flags.append([bool(flag) for flag in part.to_pylist()])
            start += len(values)
        return flags
