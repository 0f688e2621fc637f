"""CSV: a header row with the requested field names in catalogue order, then one row per log.

RFC 4180 quoting, UTF-8, rows ending in "\\n" (as PostgreSQL's COPY writes them). Each cell is
the text of the log's value in the JSONL export: strings as they are, numbers and booleans as
their JSON text, request/response/metadata as their JSON text; an empty cell is a null. On
PostgreSQL the database writes the rows itself (COPY ... (FORMAT csv)); the portable path quotes
exactly as COPY does, so both give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from exports.fields import ExportField
from exports.formats.base import (
    ExportFormat,
    LooseValue,
    PassThrough,
    SegmentsSQL,
    source_column,
)
from exports.formats.jsonl import (
    SQL_SUCCESS,
    SQL_TIMESTAMP,
    render_decimal,
    render_success,
    render_timestamp,
)

SQL_CELLS = {
    "uuid": "{col}",
    "text": "{col}",
    "timestamp": SQL_TIMESTAMP,
    "json": "{col}::text",
    "integer": "{col}",
    "decimal": "trim_scale({col})",
    "boolean": SQL_SUCCESS,
}

PY_CELLS: dict[str, Callable] = {
    "uuid": str,
    "text": lambda value: value,
    "timestamp": render_timestamp,
    "json": lambda value: value,
    "integer": lambda value: None if value is None else str(value),
    "decimal": render_decimal,
    "boolean": render_success,
}

_NEEDS_QUOTES = frozenset(',"\r\n')


def quote_cell(text: str | None, *, single_column: bool = False) -> str:
    """COPY's CSV quoting: a null is an empty cell, an empty string is "" (so they differ),
    and a lone \\. in a one-column file is quoted (it would read as COPY's end marker)."""
    if text is None:
        return ""
    if text == "" or not _NEEDS_QUOTES.isdisjoint(text) or (single_column and text == "\\."):
        return '"' + text.replace('"', '""') + '"'
    return text


def quote_cell_bytes(sent: bytes | None, *, single_column: bool = False) -> bytes:
    """quote_cell of UTF-8 text as it came (the characters it looks for are ASCII)."""
    if sent is None:
        return b""
    if (sent == b"" or b'"' in sent or b"," in sent or b"\n" in sent or b"\r" in sent
            or (single_column and sent == b"\\.")):
        return b'"' + sent.replace(b'"', b'""') + b'"'
    return sent


# COPY's CSV quoting in SQL, for the text cells the database writes next to loose values.
SQL_QUOTED = ("CASE WHEN {v} IS NULL THEN '' WHEN {v} = '' OR strpos({v}, ',') > 0 "
              "OR strpos({v}, '\"') > 0 OR strpos({v}, chr(10)) > 0 OR strpos({v}, chr(13)) > 0 "
              "THEN concat('\"', replace({v}, '\"', '\"\"'), '\"') ELSE {v} END")
# The other kinds' texts never hold a comma, a quote or a line break, nor are empty (a null
# is, and concat() writes it as nothing, as COPY does).
NEVER_QUOTED = frozenset({"uuid", "timestamp", "integer", "decimal", "boolean"})


class CsvRows:
    copy_format = "csv"

    def sql_columns(self, fields, quote_name) -> list[str]:
        return [SQL_CELLS[field.kind].format(col=quote_name(source_column(field)))
                for field in fields]

    def cut_sql_columns(self, fields, quote_name, loose) -> list[str]:
        segments = SegmentsSQL()
        for index, field in enumerate(fields):
            if index:
                segments.text(",")
            cell = SQL_CELLS[field.kind].format(col=quote_name(source_column(field)))
            if loose(field):
                segments.loose(cell)  # its text as stored: quoted by loose_value's piece
            elif field.kind in NEVER_QUOTED:
                segments.sql(cell)
            else:
                segments.sql(SQL_QUOTED.format(v=cell))
        segments.sql("chr(10)")  # the row's end
        return segments.finish()

    def loose_value(self, field: ExportField, fields: list[ExportField]) -> LooseValue:
        single = len(fields) == 1
        return LooseValue(
            unchanged=lambda sent: quote_cell_bytes(sent, single_column=single),
            read=lambda sent: None if sent is None else sent.decode(),
            piece=lambda value: quote_cell(value, single_column=single).encode())

    def renderer(self, fields: list[ExportField]) -> Callable[[Sequence], str]:
        cells = [PY_CELLS[field.kind] for field in fields]
        single = len(fields) == 1

        def render(row: Sequence) -> str:
            # zip stops at the last field: a row's trailing page key is not written.
            return ",".join(
                quote_cell(cell(value), single_column=single)
                for cell, value in zip(cells, row)  # noqa: B905
            ) + "\n"

        return render


CSV_ROWS = CsvRows()


def csv_header(fields: list[ExportField]) -> bytes:
    return (",".join(field.name for field in fields) + "\n").encode()


CSV = ExportFormat(
    name="csv", member="CSV", label="CSV",
    summary="A header row, then one row per log: for spreadsheets, pandas and SQL loaders.",
    content_type="text/csv; charset=utf-8; header=present", rows=CSV_ROWS,
    open_encoder=lambda fields, write, header=True: PassThrough(
        write, header=csv_header(fields) if header else b""),
)
CSV_GZ = ExportFormat(
    name="csv.gz", member="CSV_GZ", label="CSV, gzip-compressed",
    summary="The CSV file, gzip-compressed: several times smaller to download.",
    content_type="application/gzip", rows=CSV_ROWS,
    open_encoder=lambda fields, write, header=True: PassThrough(
        write, header=csv_header(fields) if header else b"", gzip=True),
)
