"""Fast bulk insert of logs, for seeding and benchmarks.

bulk_create spends most of its time preparing values field by field; here the JSON payloads are
encoded once (in the canonical form every Log JSONField uses) and the rest adapted per vendor:
PostgreSQL gets blocks of COPY text (`COPY ... FROM STDIN`), other databases one executemany per
batch. Rows are prepared in a second process while the database inserts the previous batch.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal

from django.db import connection

from logs.canonical_json import canonical_json
from logs.models import Log

COLUMNS = (
    "id", "workspace_id", "trace_id", "created_at", "request", "response", "ai_provider",
    "ai_model", "request_tokens", "response_tokens", "total_tokens", "cost", "cost_currency",
    "response_time", "status_code", "config", "prompt_slug", "metadata", "request_url", "mode",
)
JSON_COLUMNS = {"request", "response", "metadata"}


def _insert_sql() -> str:
    placeholders = [
        "%s::jsonb" if column in JSON_COLUMNS and connection.vendor == "postgresql" else "%s"
        for column in COLUMNS
    ]
    return (
        f"INSERT INTO {connection.ops.quote_name(Log._meta.db_table)} "
        f"({', '.join(connection.ops.quote_name(c) for c in COLUMNS)}) "
        f"VALUES ({', '.join(placeholders)})"
    )


def _row_adapter(*, sqlite: bool, adapt_datetime):
    def adapt(row: dict) -> tuple:
        return (
            row["id"].hex if sqlite else row["id"],
            row["workspace_id"].hex if sqlite else row["workspace_id"],
            row["trace_id"],
            adapt_datetime(row["created_at"]),
            canonical_json(row["request"]),
            canonical_json(row["response"]),
            row["ai_provider"],
            row["ai_model"],
            row["request_tokens"],
            row["response_tokens"],
            row["total_tokens"],
            str(row["cost"]) if sqlite else Decimal(row["cost"]),
            row["cost_currency"],
            row["response_time"],
            row["status_code"],
            row["config"],
            row["prompt_slug"],
            canonical_json(row["metadata"]),
            row["request_url"],
            row["mode"],
        )

    return adapt


NULL = "\\N"  # COPY text's NULL


def copy_text(text: str) -> str:
    # COPY's text format: backslash, and the row and column separators, must be escaped.
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\n" in text or "\r" in text or "\t" in text:
        text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return text


def copy_json(text: str) -> str:
    # Canonical JSON holds no raw newline, return or tab (they are escaped), only backslashes.
    return text.replace("\\", "\\\\") if "\\" in text else text


def _copy_line(row: dict) -> str:
    config, prompt_slug = row["config"], row["prompt_slug"]
    return "\t".join((
        str(row["id"]),
        str(row["workspace_id"]),
        copy_text(row["trace_id"]),
        row["created_at"].isoformat(),
        copy_json(canonical_json(row["request"])),
        copy_json(canonical_json(row["response"])),
        copy_text(row["ai_provider"]),
        copy_text(row["ai_model"]),
        str(row["request_tokens"]),
        str(row["response_tokens"]),
        str(row["total_tokens"]),
        str(row["cost"]),
        copy_text(row["cost_currency"]),
        str(row["response_time"]),
        str(row["status_code"]),
        NULL if config is None else copy_text(config),
        NULL if prompt_slug is None else copy_text(prompt_slug),
        copy_json(canonical_json(row["metadata"])),
        copy_text(row["request_url"]),
        copy_text(row["mode"]),
    )) + "\n"


def _copy_blocks(lines: Iterable[str], batch_size: int) -> Iterator[tuple[bytes, int]]:
    for batch in _batches(lines, None, batch_size):
        yield "".join(batch).encode(), len(batch)


def _batches(rows: Iterable, adapt, batch_size: int) -> Iterator[list]:
    batch: list = []
    for row in rows:
        batch.append(row if adapt is None else adapt(row))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _made_in_child(make: Callable[[], Iterator]) -> Iterator:
    """The items of make() made in a forked process, so Python and the database each get a core.

    Where fork is not available the items are made in this process.
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        yield from make()
        return
    context = multiprocessing.get_context("fork")
    ready = context.Queue(maxsize=3)

    def produce() -> None:  # runs in the child; it never touches the database connection
        try:
            for item in make():
                ready.put(("item", item))
            ready.put(("done", None))
        except BaseException as error:
            ready.put(("error", f"{type(error).__name__}: {error}"))

    producer = context.Process(target=produce, name="log-batches", daemon=True)
    producer.start()
    try:
        while True:
            kind, payload = ready.get()
            if kind == "done":
                return
            if kind == "error":
                raise RuntimeError(f"preparing log rows failed: {payload}")
            yield payload
    finally:
        producer.kill()
        producer.join()


def bulk_insert_logs(rows: Iterable[dict], *, batch_size: int = 1000) -> int:
    """Insert rows (dicts keyed by COLUMNS); returns how many. Call inside a transaction."""
    sql = _insert_sql()
    adapt = _row_adapter(
        sqlite=connection.vendor == "sqlite",
        adapt_datetime=connection.ops.adapt_datetimefield_value,
    )
    if connection.vendor == "postgresql":
        return _copy_insert_logs(rows, batch_size=batch_size)
    written = 0
    with connection.cursor() as cursor:
        # A 64 MiB page cache keeps the indexes being filled in memory; only this connection,
        # only while it inserts (a reading export process does not need it).
        cursor.execute("PRAGMA cache_size")
        previous_cache_size = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size = -65536")
        try:
            for batch in _made_in_child(lambda: _batches(rows, adapt, batch_size)):
                cursor.executemany(sql, batch)
                written += len(batch)
        finally:
            cursor.execute(f"PRAGMA cache_size = {int(previous_cache_size)}")
    return written


def _copy_insert_logs(rows: Iterable[dict], *, batch_size: int) -> int:
    return copy_log_lines((_copy_line(row) for row in rows), batch_size=batch_size)


def copy_log_lines(lines: Iterable[str], *, batch_size: int = 1000) -> int:
    """COPY lines of COPY text (COLUMNS, in order) into the logs; PostgreSQL only. The lines are
    made in a second process while the database takes the previous block."""
    table = connection.ops.quote_name(Log._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(column) for column in COLUMNS)
    written = 0
    with connection.cursor() as cursor, cursor.cursor.copy(
        f"COPY {table} ({columns}) FROM STDIN"
    ) as copy:
        for block, count in _made_in_child(lambda: _copy_blocks(lines, batch_size)):
            copy.write(block)
            written += count
    return written


@contextmanager
def secondary_indexes_set_aside():
    """For a large load into the logs (PostgreSQL; nothing elsewhere): drops the table's
    secondary indexes and its foreign key, and builds them again on leaving.

    Building an index once over sorted rows costs a fraction of updating eight indexes row by
    row, and one validation of the foreign key a fraction of a check per row (docs/scaling.md,
    "Seeding speed"). Call inside a transaction, which keeps it all or nothing; it holds an
    exclusive lock on the logs table throughout, so it is for seeding a benchmark or demo
    database, not for one that serves users.
    """
    if connection.vendor != "postgresql":
        yield
        return
    if not connection.in_atomic_block:
        # Outside a transaction a failed load would leave the table without its indexes.
        raise RuntimeError("secondary_indexes_set_aside() needs a transaction")
    table = Log._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = %s::regclass AND NOT indisunique ORDER BY 1", [table])
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY 1", [table])
        foreign_keys = cursor.fetchall()
        quoted = connection.ops.quote_name(table)
        for name, _ in foreign_keys:
            name = connection.ops.quote_name(name)
            cursor.execute(f"ALTER TABLE {quoted} DROP CONSTRAINT {name}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    with connection.cursor() as cursor:
        # Sorting in memory; the PostgreSQL default (64 MB) spills the sorts of 10M rows to disk.
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        for name, definition in foreign_keys:
            name = connection.ops.quote_name(name)
            cursor.execute(f"ALTER TABLE {quoted} ADD CONSTRAINT {name} {definition} NOT VALID")
            cursor.execute(f"ALTER TABLE {quoted} VALIDATE CONSTRAINT {name}")
