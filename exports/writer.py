"""Streams an export's logs into a file in its format. Knows nothing about HTTP, RQ or job states.

The format (exports.formats) says how rows leave the database, JSONL lines or CSV rows, and
turns blocks of them into the file's bytes; this module moves them. Two paths give the same
rows for the same data:
- PostgreSQL: the database builds each row and streams it out with COPY (fast path); with
  redaction, the row comes cut at the values redaction may change (exports.redacting);
- any database: the ORM reads pages of rows and Python builds each row (portable path).
The format's encoder runs on a thread of its own, behind a bounded queue, beside the stream.
"""

from __future__ import annotations

import queue
import struct
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, connections
from django.db.models import F, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from exports.fields import FIELDS_BY_NAME, ExportField
from exports.formats import export_format
from exports.formats.base import RowEncoding, source_column
from exports.redacting import CutRows, is_loose, redacting
from exports.redaction.redactor import Redactor
from logs.filters import matching_logs
from logs.hourly_counts import TimeRange, time_range
from logs.keyset import Position, beyond, seek_slice
from logs.replica import read_database
from ops.database_time import statement_timeout_sql

# Called with the number of rows written so far; raises to stop the export.
Checkpoint = Callable[[int], None]

FLUSH_BYTES = 1024 * 1024  # rows are handed to the sink in blocks of about this size
CHECKPOINT_ROWS = 500
PIPELINE_BLOCKS = 4  # blocks waiting for the sink: memory stays under ~(4 + 2) × FLUSH_BYTES


class ExportStopped(Exception):
    """The job was cancelled or restarted while it was being written."""


@dataclass
class WriteResult:
    rows: int  # rows in the file
    skipped: int = 0  # rows of the slice the format left out
    redaction_counts: dict[str, int] = field(default_factory=dict)  # values replaced, per rule


# --- The portable path -----------------------------------------------------------------------

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


def _portable_lines(queryset, fields: list[ExportField], render: Callable[[Sequence], str], *,
                    offset: int, limit: int, hourly: TimeRange | None = None) -> Iterator[str]:
    annotations = {
        f"{field.name}__text": Cast(F(field.column), TextField())
        for field in fields
        if field.kind == "json" and field.column
    }
    columns = [
        f"{field.name}__text" if field.kind == "json" else source_column(field) for field in fields
    ]
    pages = _keyset_pages(queryset.annotate(**annotations), columns, offset=offset, limit=limit,
                          hourly=hourly)
    for page in pages:
        for row in page:
            yield render(row)


def _portable_blocks(queryset, fields: list[ExportField], rows: RowEncoding, *, offset: int,
                     limit: int, hourly: TimeRange | None = None,
                     redactor: Redactor | None = None) -> Generator[tuple[bytes, int]]:
    batch: list[str] = []
    size = 0
    render = rows.renderer(fields)
    if redactor is not None and redactor.active:
        render = redacting(fields, render, redactor)
    for line in _portable_lines(queryset, fields, render, offset=offset,
                                limit=limit, hourly=hourly):
        batch.append(line)
        size += len(line)
        if len(batch) >= CHECKPOINT_ROWS or size >= FLUSH_BYTES:
            yield "".join(batch).encode(), len(batch)
            batch, size = [], 0
    if batch:
        yield "".join(batch).encode(), len(batch)


# --- The PostgreSQL fast path ----------------------------------------------------------------

def _copy_statement(raw, queryset, columns: list[str], copy_format: str) -> str:
    import psycopg

    names = [f"export_{index}" for index in range(len(columns))]
    sql, params = queryset.annotate(
        **{name: RawSQL(column, ()) for name, column in zip(names, columns, strict=True)}
    ).values_list(*names).query.sql_with_params()
    # Binary COPY sends each text value as its raw UTF-8 bytes: nothing to unescape (the text
    # format doubles every backslash, and undoing that costs more than the framing below). CSV
    # is the file's own text already.
    return (f"COPY ({psycopg.ClientCursor(raw).mogrify(sql, params)}) TO STDOUT "
            f"(FORMAT {copy_format})")


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


def _copy_csv_blocks(raw, statement: str) -> Iterator[tuple[bytearray, int]]:
    """The rows of a CSV COPY, in blocks of about FLUSH_BYTES, with row counts.

    The server sends each row in a message of its own (a row may hold newlines inside quotes,
    so counting messages is how rows are counted).
    """
    buffer = bytearray()
    rows = 0
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for message in copy:
            buffer += message
            rows += 1
            if rows % CHECKPOINT_ROWS == 0 or len(buffer) >= FLUSH_BYTES:
                yield buffer, rows
                buffer = bytearray()
                rows = 0
    if buffer:
        yield buffer, rows


def _copy_connection(queryset):
    # A connection of its own (to the database the query reads: the replica if there is one): the
    # job's progress is saved on Django's while COPY streams here.
    source = connections[queryset.db]
    raw = source.get_new_connection(source.get_connection_params())
    # The stream's own bound, however the web's is set.
    raw.execute(statement_timeout_sql(settings.EXPORTS_STATEMENT_TIMEOUT_MS))
    return raw


def _postgres_blocks(queryset, fields: list[ExportField],
                     rows: RowEncoding) -> Generator[tuple[bytes, int]]:
    raw = _copy_connection(queryset)
    stream = _copy_blocks if rows.copy_format == "binary" else _copy_csv_blocks
    try:
        columns = rows.sql_columns(fields, connection.ops.quote_name)
        yield from stream(raw, _copy_statement(raw, queryset, columns, rows.copy_format))
    finally:
        raw.close()


def _redacted_postgres_blocks(queryset, fields: list[ExportField], rows: RowEncoding,
                              redactor: Redactor) -> Generator[tuple[bytes, int]]:
    """The fast path of a redacted export: binary COPY of each row cut at its loose values
    (every column's raw UTF-8 bytes: psycopg's bytea loader does no decoding)."""
    columns = rows.cut_sql_columns(fields, connection.ops.quote_name, is_loose)
    cut = CutRows(fields, rows, redactor)
    raw = _copy_connection(queryset)
    try:
        statement = _copy_statement(raw, queryset, columns, "binary")
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            copy.set_types(["bytea"] * len(columns))
            yield from cut.blocks(copy.rows(), block_rows=CHECKPOINT_ROWS,
                                  block_bytes=FLUSH_BYTES)
    finally:
        raw.close()


def _database_blocks(queryset, fields: list[ExportField], rows: RowEncoding,
                     redactor: Redactor) -> Generator[tuple[bytes, int]]:
    if redactor.active and any(is_loose(field) for field in fields):
        return _redacted_postgres_blocks(queryset, fields, rows, redactor)
    return _postgres_blocks(queryset, fields, rows)  # nothing it could change is read


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
    redaction: dict | None = None,
) -> WriteResult:
    """Writes the slice in the format; checkpoint() hears how many logs have been read."""
    fmt = export_format(file_format)
    requested = [FIELDS_BY_NAME[name] for name in field_names]
    fields = fmt.source_fields(requested)
    database = read_database()
    matching = matching_logs(workspace_id=workspace_id, filters=filters).using(database)
    redactor = Redactor(redaction or {})
    use_fast = _fast(fast_path)
    # The first row is found through the index (logs.keyset.seek_slice): an OFFSET of millions
    # would read every skipped row first; a time range (with or without providers, models,
    # status codes) seeks by whole hours.
    hourly = time_range(workspace_id=workspace_id, filters=filters, using=database)
    if use_fast:
        blocks = _database_blocks(
            seek_slice(matching, offset=offset, limit=limit, hourly=hourly), fields, fmt.rows,
            redactor)
    else:
        blocks = _portable_blocks(matching, fields, fmt.rows, offset=offset, limit=limit,
                                  hourly=hourly, redactor=redactor)
    return _write_blocks(blocks, fmt=fmt, requested=requested, sink=sink,
                         checkpoint=checkpoint, header=True, redactor=redactor)


def write_part(
    *,
    queryset,
    field_names: list[str],
    file_format: str,
    sink,
    checkpoint: Checkpoint,
    first_part: bool,
    fast_path: bool | None = None,
    redaction: dict | None = None,
) -> WriteResult:
    """Writes one part of an export (exports.parts.part_queryset: a keyset range in the export's
    order) into its own object. The range bounds the part, so no offset or limit applies.

    Only the first part writes the format's header (a CSV header row), so the joined file has it
    once; each gzip part is one gzip member, so the parts join into one valid file.
    """
    fmt = export_format(file_format)
    requested = [FIELDS_BY_NAME[name] for name in field_names]
    fields = fmt.source_fields(requested)
    redactor = Redactor(redaction or {})
    if _fast(fast_path):
        blocks = _database_blocks(queryset, fields, fmt.rows, redactor)
    else:
        blocks = _portable_blocks(queryset, fields, fmt.rows, offset=0, limit=_NO_LIMIT,
                                  redactor=redactor)
    return _write_blocks(blocks, fmt=fmt, requested=requested, sink=sink,
                         checkpoint=checkpoint, header=first_part, redactor=redactor)


def _fast(fast_path: bool | None) -> bool:
    return uses_fast_path() if fast_path is None else fast_path


_NO_LIMIT = 2**62  # the portable path's page loop wants a limit; a part's range is its bound


def _write_blocks(blocks, *, fmt, requested: list[ExportField], sink, checkpoint: Checkpoint,
                  header: bool, redactor: Redactor) -> WriteResult:
    encoder = fmt.open_encoder(requested, sink.write, header=header)
    pipeline = _SinkThread(encoder.feed)
    rows = 0
    try:
        for data, count in blocks:
            pipeline.put(data)
            rows += count
            checkpoint(rows)
    except BaseException:
        blocks.close()  # ends the database stream now, not at garbage collection
        pipeline.blocks.put(None)
        pipeline.thread.join()
        raise
    pipeline.close()
    encoder.close()  # the format's trailer: gzip's, Parquet's footer
    return WriteResult(rows=rows - encoder.skipped, skipped=encoder.skipped,
                       redaction_counts=redactor.summary())
