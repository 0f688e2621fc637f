"""Fast bulk insert of logs, for seeding and benchmarks: one executemany per batch.

bulk_create spends most of its time preparing values field by field; here the JSON payloads are
encoded once (in the canonical form every Log JSONField uses) and the rest adapted per vendor.
Rows are prepared in a second process while the database inserts the previous batch.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Iterator
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


def _batches(rows: Iterable[dict], adapt, batch_size: int) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(adapt(row))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _prepared_batches(rows: Iterable[dict], adapt, batch_size: int) -> Iterator[list[tuple]]:
    """Batches made in a forked process, so Python and the database each get a core.

    Where fork is not available the batches are made in this process.
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        yield from _batches(rows, adapt, batch_size)
        return
    context = multiprocessing.get_context("fork")
    ready = context.Queue(maxsize=3)

    def produce() -> None:  # runs in the child; it never touches the database connection
        try:
            for batch in _batches(rows, adapt, batch_size):
                ready.put(("batch", batch))
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
    written = 0
    with connection.cursor() as cursor:
        for batch in _prepared_batches(rows, adapt, batch_size):
            cursor.executemany(sql, batch)
            written += len(batch)
    return written
