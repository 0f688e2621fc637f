"""Redaction of a payload's canonical JSON text where it stands, without parsing the payload.

The Redactor's answer for a payload is canonical_json(walk(parse(text))): every string value
(never a key) redacted, then the whole value printed in the stored canonical form
(logs.canonical_json). When the text is already in that form (PostgreSQL's jsonb output always
is: that is what the form was made to match), printing the parsed value again gives back the
same text, token by token: keys keep their order, numbers and literals their text, and each
string is printed by the same encoder (json's, ensure_ascii=False). So the answer is the text
with each string value that the redaction changes replaced by its new printing, and the rest
left as it is. That costs one C-level scan for the tokens and a call of Redactor.text per string
value, where parsing, walking and printing the whole value cost ~3 times more.

A string token without a backslash holds its value's exact characters (the form escapes only
`"`, `\\` and control characters), so its text is redacted as it stands; a token with escapes is
decoded by json's own scanner. A changed value is printed by the encoder canonical_json uses.
The only texts this does not take (the caller parses them as before) are those where parsing or
printing fails: an escaped NUL (canonical_json refuses to print one) and an integer longer than
Python reads (int() refuses more than sys.get_int_max_str_digits() digits).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from json.decoder import scanstring  # type: ignore[attr-defined]  # json's C string scanner

_encode_string = json.JSONEncoder(ensure_ascii=False).encode

# A string token: its characters (escapes kept) and, for an object key, the ':' that follows it
# (canonical text puts no space before the colon, and nothing but , } ] or the end after a value).
_STRING_TOKEN = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"(:?)', re.DOTALL)

_MAX_DIGITS = sys.get_int_max_str_digits()  # 0: no limit
_TOO_LONG_NUMBER = re.compile(rf"[0-9]{{{_MAX_DIGITS + 1}}}") if _MAX_DIGITS else None


def takes(text: str) -> bool:
    """Whether redact_in_place gives the parse path's answer for this canonical text."""
    if "\\u0000" in text:
        return False
    return (_TOO_LONG_NUMBER is None or len(text) <= _MAX_DIGITS
            or _TOO_LONG_NUMBER.search(text) is None)


def redact_in_place(text: str, redact: Callable[[str], str]) -> str:
    """The canonical text with redact() applied to every string value (not key), each changed
    value printed canonically and everything else kept. The caller checks takes(text) first."""
    pieces: list[str] = []
    kept = 0  # where the text not yet copied to pieces starts
    for token in _STRING_TOKEN.finditer(text):
        if token.group(2):  # an object key: keys are never redacted
            continue
        value = token.group(1)
        if "\\" in value:
            value = scanstring(text, token.start() + 1)[0]
        redacted = redact(value)
        if redacted == value:
            continue
        pieces.append(text[kept:token.start()])
        pieces.append(_encode_string(redacted))
        kept = token.end()
    if not pieces:
        return text
    pieces.append(text[kept:])
    return "".join(pieces)
