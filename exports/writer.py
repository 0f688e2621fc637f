"""Streams an export's logs into JSONL bytes. Knows nothing about HTTP, RQ or job states.

Every line is one JSON object with exactly the requested fields, in catalogue order, written in
the normal form that PostgreSQL's jsonb prints (", " and ": " separators, UTF-8 text): nested
payloads are stored in that form already (logs.canonical_json), so both paths copy them through.

Two paths give the same bytes for the same data:
- PostgreSQL: the database builds each line and streams it out with COPY (fast path);
- any database: the ORM streams rows and Python builds each line (portable path).
"""

from __future__ import annotations

import queue
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal

from django.db import connection, connections
from django.db.models import F, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from exports.fields import FIELDS_BY_NAME, ExportField
from logs.canonical_json import _encode_string
from logs.filters import matching_logs
from logs.hourly_counts import TimeRange, time_range
from logs.keyset import Position, beyond, seek_slice
from logs.replica import read_database

# Called with the number of rows written so far; raises to stop the export.
Checkpoint = Callable[[int], None]

FLUSH_BYTES = 1024 * 1024  # rows are handed to the sink in blocks of about this size
CHECKPOINT_ROWS = 500
PIPELINE_BLOCKS = 4  # blocks waiting for the sink: memory stays under ~(4 + 2) × FLUSH_BYTES


class ExportStopped(Exception):
    """The job was cancelled or restarted while it was being written."""


@dataclass
class WriteResult:
    rows: int


# --- The portable path -----------------------------------------------------------------------

def _render_text(value: str | None) -> str:
    return "null" if value is None else _encode_string(value)


def _render_json(value: str | None) -> str:
    return "null" if value is None else value


def _render_integer(value: int | None) -> str:
    return "null" if value is None else str(value)


def _render_decimal(value: Decimal | None) -> str:
    if value is None:
        return "null"
    # Same text as PostgreSQL's trim_scale(numeric): no trailing zeros, never an exponent.
    return format(value.normalize(), "f") if value else "0"


def _render_timestamp(value) -> str:
    return '"' + value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") + '"'


def _render_uuid(value) -> str:
    return f'"{value}"'


def _render_boolean_success(status_code: int) -> str:
    return "true" if 200 <= status_code < 300 else "false"


PY_RENDERERS = {
    "uuid": _render_uuid,
    "text": _render_text,
    "timestamp": _render_timestamp,
    "json": _render_json,
    "integer": _render_integer,
    "decimal": _render_decimal,
    "boolean": _render_boolean_success,
}


def _source_column(field: ExportField) -> str:
    # is_success is the only derived field; it is computed from the status code.
    return field.column or "status_code"


PAGE_ROWS = 2000  # rows the portable path reads per query


def _keyset_pages(queryset, columns: list[str], *, offset: int, limit: int,
                  hourly: TimeRange | None) -> Iterator[list]:
    """The slice [offset, offset + limit) of the matching logs, one page per query.

    Each page is read whole by a query of its own, so no read transaction stays open while the
    file is written: on SQLite an open read keeps the job's own progress UPDATE from getting the
    write lock ("database is locked") as soon as anything else has written meanwhile. A page
    starts after the (created_at, id) of the last row of the one before (an index range), so a
    row written meanwhile elsewhere in the range never makes a page skip or repeat a row.
    """
    keyed = queryset.annotate(_page_created=F("created_at"), _page_id=F("id"))
    rows = keyed.values_list(*columns, "_page_created", "_page_id")
    remaining = limit
    page = list(seek_slice(rows, offset=offset, limit=min(PAGE_ROWS, remaining), hourly=hourly))
    while page:
        yield page  # each row ends with its (created_at, id) key, which the caller ignores
        remaining -= len(page)
        if remaining <= 0 or len(page) < PAGE_ROWS:
            return
        last = Position(created_at=page[-1][-2], id=page[-1][-1])
        after = beyond(rows.order_by("created_at", "id"), last, ">")
        page = list(after[: min(PAGE_ROWS, remaining)])


def _portable_lines(queryset, fields: list[ExportField], *, offset: int, limit: int,
                    hourly: TimeRange | None = None) -> Iterator[str]:
    annotations = {
        f"{field.name}__text": Cast(F(field.column), TextField())
        for field in fields
        if field.kind == "json"
    }
    columns = [
        f"{field.name}__text" if field.kind == "json" else _source_column(field) for field in fields
    ]
    renderers = [PY_RENDERERS[field.kind] for field in fields]
    prefixes = [_encode_string(field.name) + ": " for field in fields]
    plan = list(zip(prefixes, renderers, strict=True))
    pages = _keyset_pages(queryset.annotate(**annotations), columns, offset=offset, limit=limit,
                          hourly=hourly)
    for page in pages:
        for row in page:
            yield "{" + ", ".join(
                # zip stops at the last field: the row's trailing page key is not written.
                prefix + render(value) for (prefix, render), value in zip(plan, row)  # noqa: B905
            ) + "}\n"


def _portable_blocks(queryset, fields: list[ExportField], *, offset: int, limit: int,
                     hourly: TimeRange | None = None) -> Iterator[tuple[bytes, int]]:
    batch: list[str] = []
    size = 0
    for line in _portable_lines(queryset, fields, offset=offset, limit=limit, hourly=hourly):
        batch.append(line)
        size += len(line)
        if len(batch) >= CHECKPOINT_ROWS or size >= FLUSH_BYTES:
            yield "".join(batch).encode(), len(batch)
            batch, size = [], 0
    if batch:
        yield "".join(batch).encode(), len(batch)


# --- The PostgreSQL fast path ----------------------------------------------------------------

# Each renderer is a list of SQL text pieces: quoted literals and expressions, which
# _sql_line_expression joins with the line's own literals into one concat(...) call.
SQL_RENDERERS = {
    "uuid": ["'\"'", "{col}", "'\"'"],  # a uuid's text never needs escaping
    "text": ["COALESCE(to_json({col})::text, 'null')"],
    "timestamp": ["'\"'", "to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
                  "'\"'"],
    "json": ["COALESCE({col}::text, 'null')"],
    "integer": ["COALESCE({col}::text, 'null')"],
    "decimal": ["COALESCE(trim_scale({col})::text, 'null')"],
    "boolean": ["CASE WHEN {col} BETWEEN 200 AND 299 THEN 'true' ELSE 'false' END"],
}


def _sql_line_expression(fields: list[ExportField]) -> str:
    """One concat() of the whole line: it builds the text once, where a chain of || copies the
    growing line at every step (~40 copies of ~1 KB per row)."""
    pieces: list[str] = []
    literal = "{"

    def add_literal(text: str) -> None:
        nonlocal literal
        literal += text

    for index, field in enumerate(fields):
        # Names come from the catalogue only (never from a request), so they are safe literals.
        add_literal((", " if index else "") + _encode_string(field.name) + ": ")
        column = connection.ops.quote_name(_source_column(field))
        for piece in SQL_RENDERERS[field.kind]:
            if piece.startswith("'") and piece.endswith("'") and piece.count("'") == 2:
                add_literal(piece[1:-1])
                continue
            pieces.append("'" + literal + "'")
            literal = ""
            pieces.append(piece.format(col=column))
    pieces.append("'" + literal + "}'")
    return "concat(" + ", ".join(piece for piece in pieces if piece != "''") + ")"


def _copy_statement(raw, queryset, fields: list[ExportField]) -> str:
    import psycopg

    line = RawSQL(_sql_line_expression(fields), ())
    sql, params = queryset.annotate(export_line=line).values_list("export_line").query \
        .sql_with_params()
    # Binary COPY sends each text value as its raw UTF-8 bytes: nothing to unescape (the text
    # format doubles every backslash, and undoing that costs more than the framing below).
    return f"COPY ({psycopg.ClientCursor(raw).mogrify(sql, params)}) TO STDOUT (FORMAT binary)"


COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_FIELD_COUNT_AND_LENGTH = struct.Struct("!hi")


def _copy_blocks(raw, statement: str) -> Iterator[tuple[bytearray, int]]:
    """The lines of a one-column binary COPY, in blocks of about FLUSH_BYTES, with row counts.

    Each tuple is a field count (1), a length and the line's bytes; the stream starts with a
    19-byte header and ends with a field count of -1. A message may end mid-tuple, so what is
    left over waits for the next one.
    """
    buffer = bytearray()
    rows = 0
    pending = b""
    header_seen = False
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for message in copy:
            data = pending + bytes(message) if pending else bytes(message)
            position = 0
            if not header_seen:
                if len(data) < 19:
                    pending = data
                    continue
                if not data.startswith(COPY_SIGNATURE):
                    raise RuntimeError("unexpected COPY stream: no binary header")
                extension = int.from_bytes(data[15:19], "big")
                position, header_seen = 19 + extension, True
            end = len(data)
            while position + 2 <= end:
                if data[position : position + 2] == b"\xff\xff":  # field count -1: the end
                    position = end
                    break
                if position + 6 > end:
                    break
                _, length = _FIELD_COUNT_AND_LENGTH.unpack_from(data, position)
                if length < 0:
                    raise RuntimeError("an export line was NULL")
                if position + 6 + length > end:
                    break
                buffer += data[position + 6 : position + 6 + length]
                buffer += b"\n"
                rows += 1
                position += 6 + length
                if rows % CHECKPOINT_ROWS == 0 or len(buffer) >= FLUSH_BYTES:
                    yield buffer, rows
                    buffer = bytearray()
                    rows = 0
            pending = data[position:]
    if pending:
        raise RuntimeError("the COPY stream ended in the middle of a row")
    if buffer:
        yield buffer, rows


def _postgres_blocks(queryset, fields: list[ExportField]) -> Iterator[tuple[bytearray, int]]:
    # A connection of its own (to the database the query reads: the replica if there is one): the
    # job's progress is saved on Django's while COPY streams here.
    source = connections[queryset.db]
    raw = source.get_new_connection(source.get_connection_params())
    try:
        yield from _copy_blocks(raw, _copy_statement(raw, queryset, fields))
    finally:
        raw.close()


# --- Handing blocks to the sink ---------------------------------------------------------------

class _SinkThread:
    """Writes blocks to the sink on a thread of its own, behind a bounded queue.

    Compressing, hashing and writing files or S3 parts release the GIL, so they overlap the
    database stream instead of following it; the bounded queue keeps memory flat.
    """

    def __init__(self, write: Callable[[bytes], None]):
        self.write = write
        self.blocks: queue.Queue[bytes | None] = queue.Queue(maxsize=PIPELINE_BLOCKS)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="export-sink", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (data := self.blocks.get()) is not None:
            if self.error is None:  # after a failure, blocks are drained so put() never hangs
                try:
                    self.write(data)
                except BaseException as error:  # re-raised in the exporting thread
                    self.error = error

    def put(self, data: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.blocks.put(data)

    def close(self) -> None:
        """Waits until every block is written; raises what the sink raised."""
        self.blocks.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


# --- Entry point ------------------------------------------------------------------------------

def uses_fast_path() -> bool:
    return connection.vendor == "postgresql"


def write_export(
    *,
    workspace_id,
    filters: dict,
    field_names: list[str],
    limit: int,
    offset: int,
    file_format: str,
    sink,
    checkpoint: Checkpoint,
    fast_path: bool | None = None,
) -> WriteResult:
    fields = [FIELDS_BY_NAME[name] for name in field_names]
    database = read_database()
    matching = matching_logs(workspace_id=workspace_id, filters=filters).using(database)
    use_fast = uses_fast_path() if fast_path is None else fast_path
    # The first row is found through the index (logs.keyset.seek_slice): an OFFSET of millions
    # would read every skipped row first; a time range (with or without providers, models,
    # status codes) seeks by whole hours.
    hourly = time_range(workspace_id=workspace_id, filters=filters, using=database)
    if use_fast:
        blocks = _postgres_blocks(
            seek_slice(matching, offset=offset, limit=limit, hourly=hourly), fields)
    else:
        blocks = _portable_blocks(matching, fields, offset=offset, limit=limit, hourly=hourly)
    return _write_blocks(blocks, file_format=file_format, sink=sink, checkpoint=checkpoint)


def write_part(
    *,
    queryset,
    field_names: list[str],
    file_format: str,
    sink,
    checkpoint: Checkpoint,
    first_part: bool,
    fast_path: bool | None = None,
) -> WriteResult:
    """Writes one part of an export (exports.parts.part_queryset: a keyset range in the export's
    order) into its own object. The range bounds the part, so no offset or limit applies.

    `first_part`: the hook for formats whose file starts with a header (a CSV header row): only
    part 0 writes it, so the joined file has it once. JSONL has none.
    """
    fields = [FIELDS_BY_NAME[name] for name in field_names]
    use_fast = uses_fast_path() if fast_path is None else fast_path
    if use_fast:
        blocks = _postgres_blocks(queryset, fields)
    else:
        blocks = _portable_blocks(queryset, fields, offset=0, limit=_NO_LIMIT)
    return _write_blocks(blocks, file_format=file_format, sink=sink, checkpoint=checkpoint)


_NO_LIMIT = 2**62  # the portable path's page loop wants a limit; a part's range is its bound


def _write_blocks(blocks, *, file_format: str, sink, checkpoint: Checkpoint) -> WriteResult:
    # jsonl.gz: each call is one gzip member, so parts written apart join into one valid file.
    if file_format == "jsonl.gz":
        compressor = zlib.compressobj(6, zlib.DEFLATED, 31)

        def write(data: bytes) -> None:
            sink.write(compressor.compress(data) if data else compressor.flush())
    else:
        write = sink.write
    pipeline = _SinkThread(write)
    rows = 0
    try:
        for data, count in blocks:
            pipeline.put(data)
            rows += count
            checkpoint(rows)
        if file_format == "jsonl.gz":
            pipeline.put(b"")  # the gzip trailer
    except BaseException:
        blocks.close()  # ends the database stream now, not at garbage collection
        pipeline.blocks.put(None)
        pipeline.thread.join()
        raise
    pipeline.close()
    return WriteResult(rows=rows)
