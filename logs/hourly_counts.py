"""Counting and seeking through a time range by whole hours (LogHourlyCount), not by rows.

When the only filter is the time range, how many logs match — and which log stands at
position `offset` — follow from the hourly counts: the hours wholly inside the range are summed
from LogHourlyCount (one row per hour), and only the two edge pieces (less than an hour each)
are counted in the (workspace, created_at, id) index. The row at `offset` is then found inside
one hour (or edge) by an index-only OFFSET over that hour's rows only. The cost grows with the
rows of one hour, not with the offset.

Any other filter (model, status, metadata, ...) selects rows the hourly counts do not know, so
callers fall back to logs.counting's bounded count: `time_range()` returns None for those.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import QuerySet, Sum

from logs.models import Log, LogHourlyCount

HOUR = timedelta(hours=1)


def _floor_hour(moment: datetime) -> datetime:
    # The counts' hours are UTC hours (an offset such as +05:30 would shift them).
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _ceil_hour(moment: datetime) -> datetime:
    floor = _floor_hour(moment)
    return floor if floor == moment else floor + HOUR  # aware datetimes compare as instants


@dataclass(frozen=True)
class TimeRange:
    """A workspace's logs with gte <= created_at <= lte (either bound may be open)."""

    workspace_id: int
    gte: datetime | None
    lte: datetime | None
    using: str = "default"

    def logs(self) -> QuerySet[Log]:
        queryset = Log.objects.using(self.using).filter(workspace_id=self.workspace_id)
        if self.gte is not None:
            queryset = queryset.filter(created_at__gte=self.gte)
        if self.lte is not None:
            queryset = queryset.filter(created_at__lte=self.lte)
        return queryset

    def _whole_hours(self) -> tuple[datetime | None, datetime | None]:
        """[first, end): the hours that lie wholly inside the range (None: open)."""
        first = None if self.gte is None else _ceil_hour(self.gte)
        # An hour h is whole when h + 1 hour <= lte: every log in it is before lte.
        end = None if self.lte is None else _floor_hour(self.lte)
        if first is not None and end is not None and end < first:
            end = first  # the range lies inside one or two partial hours: no whole hour
        return first, end

    def _hours(self, first: datetime | None, end: datetime | None) -> QuerySet:
        hours = LogHourlyCount.objects.using(self.using).filter(workspace_id=self.workspace_id)
        if first is not None:
            hours = hours.filter(hour__gte=first)
        if end is not None:
            hours = hours.filter(hour__lt=end)
        return hours

    def _segments(self) -> list[tuple[datetime | None, int]]:
        """(start, rows) pieces of the range in order: the leading edge, each whole hour, the
        trailing edge. A piece's rows are those of the range from its start to the next one's."""
        first, end = self._whole_hours()
        logs = self.logs()
        segments: list[tuple[datetime | None, int]] = []
        if first is not None:
            segments.append((self.gte, logs.filter(created_at__lt=first).count()))
        segments.extend(
            self._hours(first, end).filter(count__gt=0).order_by("hour")
            .values_list("hour", "count")
        )
        if end is not None:
            segments.append((end, logs.filter(created_at__gte=end).count()))
        return segments

    def count(self) -> int:
        """Exactly how many logs the range holds."""
        first, end = self._whole_hours()
        logs = self.logs()
        total = self._hours(first, end).aggregate(total=Sum("count"))["total"] or 0
        if first is not None:
            total += logs.filter(created_at__lt=first).count()
        if end is not None:
            total += logs.filter(created_at__gte=end).count()
        return total

    def position(self, offset: int) -> tuple[datetime, object] | None:
        """(created_at, id) of the row at `offset` in (created_at, id) order; None past the end."""
        before = 0
        for start, rows in self._segments():
            if offset < before + rows:
                piece = self.logs() if start is None else self.logs().filter(created_at__gte=start)
                within = offset - before
                ordered = piece.order_by("created_at", "id").values_list("created_at", "id")
                return next(iter(ordered[within : within + 1]), None)
            before += rows
        return None


def time_range(*, workspace_id, filters: dict, using: str = "default") -> TimeRange | None:
    """The normalised filters as a TimeRange when time is their only filter, else None."""
    if set(filters) - {"created_at"}:
        return None
    bounds = filters.get("created_at") or {}
    return TimeRange(
        workspace_id=workspace_id,
        gte=datetime.fromisoformat(bounds["gte"]) if "gte" in bounds else None,
        lte=datetime.fromisoformat(bounds["lte"]) if "lte" in bounds else None,
        using=using,
    )
