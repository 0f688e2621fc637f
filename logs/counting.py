"""Counting logs without scanning them all.

No page needs an exact count past a bound: an export holds at most EXPORTS_MAX_LOGS_PER_EXPORT
logs, so its size is exact once `offset + limit` matches are counted, and a list only needs "more
than N". Counting a LIMITed subquery stops at the bound; past it the planner's row estimate says
about how many (PostgreSQL only: it costs one EXPLAIN, no rows are read).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import connections
from django.db.models import QuerySet

from logs.hourly_counts import TimeRange

# The Logs page counts this far, then says "more than": a list needs no exact count of millions
# (an export's preview counts as far as the export reaches instead).
LIST_COUNT_BOUND = 50_000


@dataclass(frozen=True)
class BoundedCount:
    """`value` matches exactly when `exact`; otherwise more than `value` (== the bound) match."""

    value: int
    exact: bool
    estimate: int | None = None  # the planner's guess of the whole count, when not exact

    @property
    def more_than(self) -> int | None:
        return None if self.exact else self.value


def bounded_count(queryset: QuerySet, *, bound: int, estimate: bool = False,
                  hourly: TimeRange | None = None) -> BoundedCount:
    """How many rows match, counted up to `bound` only: SELECT count(*) FROM (... LIMIT bound+1).

    With `hourly` (the same rows as a TimeRange) the count comes from the hourly counts
    instead: exact at any size, past the bound too."""
    if hourly is not None:
        return BoundedCount(value=hourly.count(), exact=True)
    counted = queryset.order_by()[: bound + 1].count()
    if counted <= bound:
        return BoundedCount(value=counted, exact=True)
    guess = planner_estimate(queryset) if estimate else None
    # An estimate below what was counted is plainly wrong; say only "more than".
    return BoundedCount(value=bound, exact=False,
                        estimate=guess if guess is not None and guess > bound else None)


def planner_estimate(queryset: QuerySet) -> int | None:
    """PostgreSQL's estimate of the rows the query returns; None on other databases."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def export_slice_size(queryset: QuerySet, *, limit: int, offset: int,
                      hourly: TimeRange | None = None) -> int:
    """Exactly how many rows an export of this limit and offset holds: min(limit, matches - offset),
    counting no further than offset + limit (or, with `hourly`, from the hourly counts)."""
    if hourly is not None:
        return max(0, min(limit, hourly.count() - offset))
    counted = queryset.order_by()[: offset + limit].count()
    return max(0, min(limit, counted - offset))
