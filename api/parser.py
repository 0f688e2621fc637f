"""Reading a request body as JSON: size, media type, syntax, depth and storable text.

Every refusal is an ApiError naming the field where it can, so a malformed body never reaches
a service, and never a database that would choke on it (a NUL character, a lone surrogate) or
code that would recurse through it (a body nested hundreds of levels deep).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from ninja.parser import Parser

from api.errors import ApiError, field_path, too_large

# Deeper than any real request or LLM payload; deep enough bodies would exhaust the recursion
# of the JSON encoders downstream.
MAX_JSON_DEPTH = 64
JSON_MEDIA_TYPES = ("application/json",)


# Strings (skipped whole) and the characters that open, close or separate JSON values.
JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]')


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _storable_text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "must not contain the NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (it holds a lone surrogate such as \\ud800)"
    return None


def too_deep(path: tuple) -> ApiError:
    field = field_path(path[:3]) or None
    reason = f"is nested more than {MAX_JSON_DEPTH} levels deep"
    return ApiError(422, f"{field}: {reason}" if field else f"the request body {reason}",
                    code="invalid_value", field=field)


def path_too_deep(text: str) -> tuple:
    """Where a body too deep for json.loads first passes MAX_JSON_DEPTH: scanned token by token,
    so that even such a body gets an error naming its field."""
    path: list = []  # per open container: its key (object) or index (array)
    pending_key = None
    for match in JSON_TOKEN.finditer(text):
        token = match.group()
        if token in "{[":
            if len(path) >= MAX_JSON_DEPTH:
                return tuple(path)
            path.append(None if token == "{" else 0)
        elif token in "}]":
            if path:
                path.pop()
        elif token == ",":
            if path and isinstance(path[-1], int):
                path[-1] += 1
        elif token == ":":
            if path and pending_key is not None:
                path[-1] = pending_key
        else:
            pending_key = token[1:-1]
            continue
        pending_key = None
    return tuple(path)


def check_json_value(value: Any) -> None:
    """Depth and text of a parsed body, walked without recursion; the first problem names its
    path (e.g. filters.metadata.region or [1].request.url)."""
    stack: list[tuple[Any, tuple]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if len(path) > MAX_JSON_DEPTH:
            raise too_deep(path)
        if isinstance(item, str):
            problem = _storable_text_problem(item)
            if problem:
                field = field_path(path) or None
                raise ApiError(422, f"{field}: {problem}" if field else problem,
                               code="invalid_value", field=field)
        elif isinstance(item, dict):
            for key, child in item.items():
                problem = _storable_text_problem(key)
                if problem:
                    field = field_path(path) or None
                    raise ApiError(422, f"{field or 'a key'}: a key {problem}",
                                   code="invalid_value", field=field)
                stack.append((child, (*path, key)))
        elif isinstance(item, list):
            stack.extend((child, (*path, index)) for index, child in enumerate(item))


def read_json_body(request: HttpRequest) -> Any:
    """The request's JSON value; 413 past API_MAX_BODY_BYTES, 415 when it says it is not JSON,
    400 when it is not JSON, 422 naming the field for text no database can store."""
    limit = settings.API_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise too_large(limit)
    try:
        raw = request.body
    except RequestDataTooBig:
        raise too_large(limit) from None
    if len(raw) > limit:
        raise too_large(limit)
    media_type = (request.content_type or "").lower()
    if media_type and media_type not in JSON_MEDIA_TYPES and not media_type.endswith("+json"):
        raise ApiError(415, f"the request body must be JSON (Content-Type: application/json), "
                       f"not {media_type}", code="unsupported_media_type")
    if not raw.strip():
        raise ApiError(400, "the request body must be a JSON object", code="invalid_body")
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise too_deep(path_too_deep(raw.decode("utf-8", "replace"))) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, f"the request body is not valid JSON: {error}",
                       code="invalid_json") from None
    check_json_value(body)
    return body


class JsonBodyParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        return read_json_body(request)
