"""Counting and seeking through a time range by whole hours (LogHourlyCount), not by rows.

When the filters are a time range plus, optionally, some providers, models and status codes,
how many logs match — and which log stands at position `offset` — follow from the hourly
counts, kept per (hour, provider, model, status code): the hours wholly inside the range are
summed from LogHourlyCount (one indexed aggregate over the range's hours), and only the two edge
pieces (less than an hour each) are counted in the logs' indexes. The row at `offset` is then
found inside one hour (or edge) by an OFFSET over that hour's matching rows only. The cost grows
with the rows of one hour, not with the offset.

Any other filter (trace id, metadata, cost, ...) selects rows the hourly counts do not know, so
callers fall back to logs.counting's bounded count: `time_range()` returns None for those.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from django.db.models import QuerySet, Sum

from logs.models import Log, LogHourlyCount

HOUR = timedelta(hours=1)
# The facets LogHourlyCount counts by, each a Log column of the same name and type, and the
# type of the values a normalised filter lists for it.
FACETS: dict[str, type] = {"ai_provider": str, "ai_model": str, "status_code": int}


def _floor_hour(moment: datetime) -> datetime:
    # The counts' hours are UTC hours (an offset such as +05:30 would shift them).
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _ceil_hour(moment: datetime) -> datetime:
    floor = _floor_hour(moment)
    return floor if floor == moment else floor + HOUR  # aware datetimes compare as instants


@dataclass(frozen=True)
class TimeRange:
    """A workspace's logs with gte <= created_at <= lte (either bound may be open) and, for each
    facet given, one of its values."""

    workspace_id: UUID
    gte: datetime | None
    lte: datetime | None
    using: str = "default"
    ai_provider: tuple[str, ...] | None = None
    ai_model: tuple[str, ...] | None = None
    status_code: tuple[int, ...] | None = None

    def _facet_lookups(self) -> dict[str, tuple]:
        """The same `__in` lookups logs.filters applies, for logs and hourly rows alike."""
        return {f"{name}__in": getattr(self, name) for name in FACETS
                if getattr(self, name) is not None}

    def logs(self) -> QuerySet[Log]:
        queryset = Log.objects.using(self.using).filter(workspace_id=self.workspace_id,
                                                        **self._facet_lookups())
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
        hours = LogHourlyCount.objects.using(self.using).filter(
            workspace_id=self.workspace_id, **self._facet_lookups())
        if first is not None:
            hours = hours.filter(hour__gte=first)
        if end is not None:
            hours = hours.filter(hour__lt=end)
        return hours

    def _segments(self) -> list[tuple[datetime | None, datetime | None, int]]:
        """(start, stop, rows) pieces of the range in order: the leading edge, each whole hour,
        the trailing edge. A piece holds the range's rows from start (None: open) to before
        stop (None: to the range's end)."""
        first, end = self._whole_hours()
        logs = self.logs()
        segments: list[tuple[datetime | None, datetime | None, int]] = []
        if first is not None:
            segments.append((self.gte, first, logs.filter(created_at__lt=first).count()))
        # An hour is several rows (one per provider, model and status code): summed per hour.
        hours = (self._hours(first, end).values("hour").annotate(rows=Sum("count"))
                 .filter(rows__gt=0).order_by("hour").values_list("hour", "rows"))
        segments.extend((hour, hour + HOUR, rows) for hour, rows in hours)
        if end is not None:
            segments.append((end, None, logs.filter(created_at__gte=end).count()))
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

    def hour_counts(self) -> list[tuple[datetime, int]]:
        """(UTC hour, logs) for each hour of the range that holds any, in order: the pieces
        count() reads (whole hours from the hourly counts, the two edges from the logs' index),
        so they sum to count() at the same cost. A chart of the range by hour or day reads
        these; an edge piece is counted in the hour it lies in."""
        by_hour: dict[datetime, int] = {}
        for start, _, rows in self._segments():
            if rows and start is not None:
                hour = _floor_hour(start)
                by_hour[hour] = by_hour.get(hour, 0) + rows
        return sorted(by_hour.items())

    def position(self, offset: int) -> tuple[datetime, Any] | None:
        """(created_at, id) of the row at `offset` in (created_at, id) order; None past the end."""
        return self.positions([offset])[0]

    def positions(self, offsets: list[int]) -> list[tuple[datetime, Any] | None]:
        """position() of each of the offsets (ascending), reading the hourly counts once: an
        export's part boundaries are many offsets into the same range."""
        segments = self._segments()
        found: list[tuple[datetime, object] | None] = []
        before, index = 0, 0
        for offset in offsets:
            while index < len(segments) and offset >= before + segments[index][2]:
                before += segments[index][2]
                index += 1
            if index == len(segments):
                found.append(None)
                continue
            start, stop, _ = segments[index]
            # Bounded at both ends: with several models or codes the hour's rows come from
            # several index ranges and are sorted, which must stay one hour's worth.
            piece = self.logs()
            if start is not None:
                piece = piece.filter(created_at__gte=start)
            if stop is not None:
                piece = piece.filter(created_at__lt=stop)
            within = offset - before
            ordered = piece.order_by("created_at", "id").values_list("created_at", "id")
            found.append(next(iter(ordered[within : within + 1]), None))
        return found


def _listed(values, kind: type) -> tuple | None:
    """The values as a tuple when they are a list of `kind` exactly as logs.filters normalises
    them (a bare string would be read by `__in` letter by letter, True as 1): else None."""
    if not isinstance(values, list | tuple) or any(type(value) is not kind for value in values):
        return None
    return tuple(values)


def time_range(*, workspace_id, filters: dict, using: str = "default") -> TimeRange | None:
    """The normalised filters as a TimeRange when they hold nothing but a time range and the
    facets the hourly counts keep (each a list of values), else None."""
    if set(filters) - {"created_at", *FACETS}:
        return None
    facets = {}
    for name, kind in FACETS.items():
        if name in filters:
            facets[name] = _listed(filters[name], kind)
            if facets[name] is None:
                return None
    bounds = filters.get("created_at") or {}
    if set(bounds) - {"gte", "lte"}:
        return None
    return TimeRange(
        workspace_id=workspace_id,
        gte=datetime.fromisoformat(bounds["gte"]) if "gte" in bounds else None,
        lte=datetime.fromisoformat(bounds["lte"]) if "lte" in bounds else None,
        using=using,
        **facets,
    )


def facet_counts(*, workspace_id, filters: dict, using: str = "default") -> dict[str, list]:
    """For each facet, [(value, logs)] over the hours the time range touches, most logs first:
    the choice lists of a filter form, counted from the hourly counts (whole hours, so a value
    seen only in an edge hour's other part is counted too) without reading any log."""
    bounds = filters.get("created_at") or {}
    hours = LogHourlyCount.objects.using(using).filter(workspace_id=workspace_id)
    if "gte" in bounds:
        hours = hours.filter(hour__gte=_floor_hour(datetime.fromisoformat(bounds["gte"])))
    if "lte" in bounds:
        hours = hours.filter(hour__lte=datetime.fromisoformat(bounds["lte"]))
    return {
        name: [(value, total) for value, total in
               hours.values_list(name).annotate(total=Sum("count")).filter(total__gt=0)
               .order_by("-total", name)]
        for name in FACETS
    }
