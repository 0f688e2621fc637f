"""JSONL: one JSON object per log with exactly the requested fields, in catalogue order.

Each line is written in the normal form that PostgreSQL's jsonb prints (", " and ": "
separators, UTF-8 text): nested payloads are stored in that form already (logs.canonical_json),
so both of the writer's paths copy them through and give the same bytes for the same data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC
from decimal import Decimal

from exports.fields import ExportField
from exports.formats.base import (
    ExportFormat,
    LooseValue,
    PassThrough,
    SegmentsSQL,
    source_column,
)
from logs.canonical_json import _encode_string


def _render_text(value: str | None) -> str:
    return "null" if value is None else _encode_string(value)


def _render_json(value: str | None) -> str:
    return "null" if value is None else value


def _render_integer(value: int | None) -> str:
    return "null" if value is None else str(value)


def render_decimal(value: Decimal | None) -> str | None:
    if value is None:
        return None
    # Same text as PostgreSQL's trim_scale(numeric): no trailing zeros, never an exponent.
    return format(value.normalize(), "f") if value else "0"


def render_timestamp(value) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def render_success(status_code: int) -> str:
    return "true" if 200 <= status_code < 300 else "false"


PY_RENDERERS: dict[str, Callable] = {
    "uuid": lambda value: f'"{value}"',
    "text": _render_text,
    "timestamp": lambda value: '"' + render_timestamp(value) + '"',
    "json": _render_json,
    "integer": _render_integer,
    "decimal": lambda value: render_decimal(value) or "null",
    "boolean": render_success,
}

# PostgreSQL's text of a timestamp, as render_timestamp writes it.
SQL_TIMESTAMP = "to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
SQL_SUCCESS = "CASE WHEN {col} BETWEEN 200 AND 299 THEN 'true' ELSE 'false' END"

# Each renderer is a list of SQL text pieces: quoted literals and expressions, which
# line_expression joins with the line's own literals into one concat(...) call.
SQL_RENDERERS = {
    "uuid": ["'\"'", "{col}", "'\"'"],  # a uuid's text never needs escaping
    "text": ["COALESCE(to_json({col})::text, 'null')"],
    "timestamp": ["'\"'", SQL_TIMESTAMP, "'\"'"],
    "json": ["COALESCE({col}::text, 'null')"],
    "integer": ["COALESCE({col}::text, 'null')"],
    "decimal": ["COALESCE(trim_scale({col})::text, 'null')"],
    "boolean": [SQL_SUCCESS],
}


def _line_columns(fields: list[ExportField], quote_name: Callable[[str], str],
                  loose: Callable[[ExportField], bool]) -> list[str]:
    segments = SegmentsSQL()
    segments.text("{")
    for index, field in enumerate(fields):
        # Names come from the catalogue only (never from a request), so they are safe literals.
        segments.text((", " if index else "") + _encode_string(field.name) + ": ")
        column = quote_name(source_column(field))
        if loose(field):
            # Sent as its JSON text (a payload's jsonb text, a string's JSON string); null as
            # NULL, which the piece turns into null.
            segments.loose(f"{column}::text" if field.kind == "json"
                           else f"to_json({column})::text")
            continue
        for piece in SQL_RENDERERS[field.kind]:
            if piece.startswith("'") and piece.endswith("'") and piece.count("'") == 2:
                segments.text(piece[1:-1])
            else:
                segments.sql(piece.format(col=column))
    segments.text("}")
    return segments.finish()


def line_expression(fields: list[ExportField], quote_name: Callable[[str], str]) -> str:
    """One concat() of the whole line: it builds the text once, where a chain of || copies the
    growing line at every step (~40 copies of ~1 KB per row)."""
    return _line_columns(fields, quote_name, lambda field: False)[0]


def _json_text(sent: bytes | None) -> bytes:
    return b"null" if sent is None else sent


JSON_VALUE = LooseValue(unchanged=_json_text,
                        read=lambda sent: None if sent is None else sent.decode(),
                        piece=lambda value: _render_json(value).encode())
TEXT_VALUE = LooseValue(unchanged=_json_text,
                        read=lambda sent: None if sent is None else json.loads(sent),
                        piece=lambda value: _render_text(value).encode())


class JsonLines:
    """Rows as JSON lines: on PostgreSQL the database builds each line (binary COPY)."""

    copy_format = "binary"

    def sql_columns(self, fields, quote_name) -> list[str]:
        return [line_expression(fields, quote_name)]

    def cut_sql_columns(self, fields, quote_name, loose) -> list[str]:
        columns = _line_columns(fields, quote_name, loose)
        columns[-1] = f"concat({columns[-1]}, chr(10))"  # the line's end
        return columns

    def loose_value(self, field: ExportField, fields: list[ExportField]) -> LooseValue:
        return JSON_VALUE if field.kind == "json" else TEXT_VALUE

    def renderer(self, fields: list[ExportField]) -> Callable[[Sequence], str]:
        prefixes = [_encode_string(field.name) + ": " for field in fields]
        plan = list(zip(prefixes, [PY_RENDERERS[field.kind] for field in fields], strict=True))

        def render(row: Sequence) -> str:
            # zip stops at the last field: a row's trailing page key is not written.
            return "{" + ", ".join(
                prefix + render(value) for (prefix, render), value in zip(plan, row)  # noqa: B905
            ) + "}\n"

        return render


JSONL_ROWS = JsonLines()

JSONL = ExportFormat(
    name="jsonl", member="JSONL", label="JSONL",
    summary="One JSON object per log, one per line: for scripts, jq, BigQuery and Snowflake.",
    content_type="application/jsonl; charset=utf-8", rows=JSONL_ROWS,
    open_encoder=lambda fields, write, header=True: PassThrough(write),
)
JSONL_GZ = ExportFormat(
    name="jsonl.gz", member="JSONL_GZ", label="JSONL, gzip-compressed",
    summary="The JSONL file, gzip-compressed: several times smaller to download.",
    content_type="application/gzip", rows=JSONL_ROWS,
    open_encoder=lambda fields, write, header=True: PassThrough(write, gzip=True),
)
