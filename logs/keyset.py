"""Keyset pages of logs, newest first: each page starts after a (created_at, id) position.

A page is one index seek and PAGE rows, however deep: no OFFSET (which reads and throws away every
row before the page) and no count of everything. A position is written in the page's link
(`?before=<created_at>_<id>` for older logs, `?after=...` for newer ones), so a link keeps showing
the same logs while new ones arrive.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connections
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from logs.hourly_counts import TimeRange
from logs.models import Log

SEPARATOR = "_"


@dataclass(frozen=True)
class Position:
    created_at: datetime
    id: uuid.UUID

    def token(self) -> str:
        stamp = self.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return f"{stamp}{SEPARATOR}{self.id}"

    @classmethod
    def of(cls, log: Log) -> Position:
        return cls(created_at=log.created_at, id=log.id)


class BadPosition(ValueError):
    pass


def parse_position(token: str) -> Position:
    stamp, separator, identifier = token.strip().partition(SEPARATOR)
    try:
        if not separator:
            raise ValueError
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None:
            raise ValueError
        return Position(created_at=created_at.astimezone(UTC), id=uuid.UUID(identifier))
    except ValueError:
        raise BadPosition(f"{token!r} is not a position in the logs") from None


def beyond(queryset: QuerySet, position: Position, operator: str) -> QuerySet:
    """Rows whose (created_at, id) is `operator` the position: one row comparison, which
    PostgreSQL and SQLite both use as an index range on (workspace, ..., created_at, id)."""
    connection = connections[queryset.db]
    table = connection.ops.quote_name(Log._meta.db_table)
    created_at = Log._meta.get_field("created_at").get_db_prep_value(
        position.created_at, connection)
    identifier = Log._meta.get_field("id").get_db_prep_value(position.id, connection)
    condition = RawSQL(
        f"({table}.{connection.ops.quote_name('created_at')}, "
        f"{table}.{connection.ops.quote_name('id')}) {operator} (%s, %s)",
        (created_at, identifier), output_field=BooleanField(),
    )
    return queryset.filter(condition)


@dataclass
class KeysetPage:
    logs: list[Log]
    newer: Position | None  # where the link to newer logs starts, None on the newest page
    older: Position | None  # where the link to older logs starts, None on the oldest page

    @property
    def object_list(self) -> list[Log]:  # the name Django's Page uses
        return self.logs


def keyset_page(queryset: QuerySet, *, size: int, before: Position | None = None,
                after: Position | None = None) -> KeysetPage:
    """A page of `size` logs, newest first: the newest, those older than `before`, or those
    newer than `after` (an `after` page with fewer than `size` newer logs is the newest page)."""
    if after is not None:
        rows = list(beyond(queryset, after, ">").order_by("created_at", "id")[: size + 1])
        if len(rows) > size:
            rows = rows[:size]
            rows.reverse()
            return KeysetPage(logs=rows, newer=Position.of(rows[0]),
                              older=Position.of(rows[-1]))
        before = None  # nothing newer than a full page: show the newest page
    selected = queryset if before is None else beyond(queryset, before, "<")
    rows = list(selected.order_by("-created_at", "-id")[: size + 1])
    has_older = len(rows) > size
    rows = rows[:size]
    return KeysetPage(
        logs=rows,
        newer=Position.of(rows[0]) if rows and before is not None else None,
        older=Position.of(rows[-1]) if has_older else None,
    )


def seek_slice(queryset: QuerySet, *, offset: int, limit: int,
               hourly: TimeRange | None = None) -> QuerySet:
    """queryset[offset:offset + limit] in (created_at, id) order, without an OFFSET over the rows.

    OFFSET n reads n whole rows to throw them away. Here one query finds the first row's
    position, reading (created_at, id) only, which an index holds (an index-only scan), and the
    rows are then read from that position on. With `hourly` (the same rows as a TimeRange) the
    position is found through the hourly counts, reading one hour's index entries.
    """
    ordered = queryset.order_by("created_at", "id")
    if not offset:
        return ordered[:limit]
    if hourly is not None:
        row = hourly.position(offset)
    else:
        row = next(iter(ordered.values_list("created_at", "id")[offset : offset + 1]), None)
    if row is None:  # fewer than offset rows: an empty slice, as the OFFSET would give
        return ordered.filter(RawSQL("1 = 0", (), output_field=BooleanField()))[:limit]
    return beyond(ordered, Position(created_at=row[0], id=row[1]), ">=")[:limit]
