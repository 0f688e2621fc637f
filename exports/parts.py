"""Splitting an export's slice into parts: keyset ranges of at most EXPORTS_PART_LOGS logs.

The slice is the matching logs [offset, offset + limit) in (created_at, id) order. Part i is the
logs after the position (created_at, id) where part i-1 ended, up to and including its own last
row's position, both fixed when the export is planned. Positions, not offsets, because an offset
moves whenever a log is written or deleted before it: with positions a log written meanwhile
outside a part's range never moves that part, so parts can run in any order, on any worker, be
retried alone, and still neither overlap nor leave a gap. A log that arrives inside a part's
range after planning is written by that part, once (a limit on the part would drop the part's
last planned row instead, and the next part starts after it: a gap).

The boundaries are found by index seeks, never by reading the rows: through the hourly counts
when the filters allow (logs.hourly_counts; one hour's index entries per boundary), otherwise by
stepping EXPORTS_PART_LOGS index entries at a time from one boundary to the next. All of the
planner's reads see one snapshot, so the boundaries agree with each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import connections, transaction
from django.db.models import QuerySet

from exports.models import ExportJob, ExportPart
from logs.filters import export_slice_count, matching_logs
from logs.hourly_counts import time_range
from logs.keyset import Position, beyond
from logs.models import Log
from logs.replica import read_database


@dataclass(frozen=True)
class PartRange:
    """One part as planned: the logs after `after` (None: from the first match) through
    `through`, `rows` of them, the first at `offset` in the export's order."""

    index: int
    offset: int
    after: Position | None
    through: Position
    rows: int


class PlanError(ValueError):
    """The export can not be planned as asked; the message names the field and the reason."""


@contextmanager
def _one_snapshot(using: str) -> Iterator[None]:
    """Every read inside sees the same committed rows (PostgreSQL: REPEATABLE READ; SQLite: one
    read transaction), so boundaries found by separate queries fit together."""
    connection = connections[using]
    if connection.in_atomic_block:  # the caller's transaction is the snapshot already
        yield
        return
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _position(row: tuple | None) -> Position | None:
    return None if row is None else Position(created_at=row[0], id=row[1])


def _ranges(offset: int, ends: list[Position | None], rows_each: list[int],
            start: Position | None) -> list[PartRange]:
    ranges, after, first = [], start, offset
    for index, (through, rows) in enumerate(zip(ends, rows_each, strict=True)):
        if through is None:
            raise RuntimeError("the hourly counts name more logs than the logs table holds")
        if after is not None and (through.created_at, through.id) <= (after.created_at, after.id):
            # Cannot happen inside one snapshot; refuse rather than write overlapping parts.
            raise RuntimeError(f"part {index} ends before it starts: the logs changed mid-plan")
        ranges.append(PartRange(index=index, offset=first, after=after, through=through,
                                rows=rows))
        after, first = through, first + rows
    return ranges


def _plan_by_hours(hourly, *, offset: int, limit: int, part_logs: int) -> list[PartRange]:
    rows = export_slice_count(matches=hourly.count(), limit=limit, offset=offset)
    sizes = [min(part_logs, rows - start) for start in range(0, rows, part_logs)]
    last_offsets, end = [], offset
    for size in sizes:
        end += size
        last_offsets.append(end - 1)
    found = hourly.positions(([offset - 1] if offset else []) + last_offsets)
    start = _position(found.pop(0)) if offset else None
    ends = [_position(row) for row in found]
    if any(position is None for position in ends):
        raise RuntimeError("the hourly counts name more logs than the logs table holds")
    return _ranges(offset, ends, sizes, start)


def _plan_by_steps(matching: QuerySet, *, offset: int, limit: int,
                   part_logs: int) -> list[PartRange]:
    # (created_at, id) only: the (workspace, created_at, id) index answers without the rows.
    keys = matching.order_by("created_at", "id").values_list("created_at", "id")
    start = None
    if offset:
        start = _position(next(iter(keys[offset - 1 : offset]), None))
        if start is None:
            return []  # fewer than offset logs match: an empty slice
    ends, sizes, remaining, after = [], [], limit, start
    while remaining > 0:
        wanted = take = min(part_logs, remaining)
        rest = keys if after is None else beyond(keys, after, ">")
        last = next(iter(rest[take - 1 : take]), None)
        if last is None:  # the slice ends inside this part: read its few keys to find where
            tail = list(rest[:take])
            if not tail:
                break
            last, take = tail[-1], len(tail)
        after = _position(last)
        ends.append(after)
        sizes.append(take)
        remaining -= take
        if take < wanted:
            break
    return _ranges(offset, ends, sizes, start)


def plan_parts(*, workspace_id, filters: dict, offset: int, limit: int,
               part_logs: int | None = None, using: str | None = None) -> list[PartRange]:
    """The parts of the slice [offset, offset + limit) of the matching logs (normalised
    `filters`), each of at most `part_logs` (default EXPORTS_PART_LOGS) logs; [] when the slice
    is empty."""
    part_logs = settings.EXPORTS_PART_LOGS if part_logs is None else part_logs
    if part_logs < 1:
        raise PlanError(f"EXPORTS_PART_LOGS must be at least 1, not {part_logs}")
    if limit > settings.EXPORTS_MAX_LOGS_PER_EXPORT:
        raise PlanError(f"limit: at most {settings.EXPORTS_MAX_LOGS_PER_EXPORT:,} logs per "
                        f"export (EXPORTS_MAX_LOGS_PER_EXPORT), not {limit:,}")
    if limit < 1 or offset < 0:
        raise PlanError("limit must be at least 1 and offset at least 0")
    using = using or read_database()
    with _one_snapshot(using):
        hourly = time_range(workspace_id=workspace_id, filters=filters, using=using)
        if hourly is not None:
            return _plan_by_hours(hourly, offset=offset, limit=limit, part_logs=part_logs)
        matching = matching_logs(workspace_id=workspace_id, filters=filters).using(using)
        return _plan_by_steps(matching, offset=offset, limit=limit, part_logs=part_logs)


def part_queryset(*, workspace_id, filters: dict, after: Position | None, through: Position,
                  using: str | None = None) -> QuerySet[Log]:
    """The logs of one part, in the export's order: the matching logs after `after` through
    `through`. No row limit: the range is the part (see the module's note)."""
    logs = matching_logs(workspace_id=workspace_id, filters=filters).using(
        using or read_database())
    # The row comparisons alone bound the part, but PostgreSQL estimates a row comparison's
    # selectivity blind (at 10,000,000 logs: 2.1M rows for a part of 50,000) and then plans a
    # parallel scan of the whole table and a sort for every part: 5-11 s a part instead of
    # 0.5-0.7 s (docs/scaling.md, "The whole workspace as one file"). The same bounds on
    # created_at alone, implied by the comparisons, are estimated from its histogram.
    if after is not None:
        logs = beyond(logs.filter(created_at__gte=after.created_at), after, ">")
    return beyond(logs.filter(created_at__lte=through.created_at), through, "<=").order_by(
        "created_at", "id")


def part_bounds(part: ExportPart) -> tuple[Position | None, Position]:
    """(after, through) of a stored part."""
    after = None
    if part.after_id is not None and part.after_created_at is not None:
        after = Position(created_at=part.after_created_at, id=part.after_id)
    return after, Position(created_at=part.through_created_at, id=part.through_id)


def part_rows(export: ExportJob, ranges: list[PartRange]) -> list[ExportPart]:
    """Unsaved ExportPart rows for the planned ranges (the services bulk-create them)."""
    return [
        ExportPart(
            export=export, index=part.index, row_limit=part.rows,
            after_created_at=part.after.created_at if part.after else None,
            after_id=part.after.id if part.after else None,
            through_created_at=part.through.created_at, through_id=part.through.id,
        )
        for part in ranges
    ]
