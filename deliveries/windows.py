"""A schedule's windows: pure date arithmetic, no database.

Windows are half-open, [start, end), and consecutive: the first starts at the schedule's start,
each next one at the previous one's end (so nothing a window leaves out can fall between two
windows, and none overlaps another). A window ends at the first boundary of its interval
strictly after its start:

- hourly: the next whole hour of the schedule's time zone (for the usual whole-hour offsets,
  the next whole hour in UTC);
- daily: the next `hour`:00 in the time zone;
- weekly: the next `weekday` (0 = Monday) at `hour`:00 in the time zone.

Boundaries are instants found from wall-clock times through zoneinfo, so a day is 23 or 25
hours long across a DST change. A wall-clock time that does not exist that day (02:30 when the
clocks jump from 02:00 to 03:00) is the instant of the jump; one that occurs twice (01:30 when
they fall back) is its first occurrence. All instants are returned in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

INTERVALS = ("hourly", "daily", "weekly")
QUARTER_HOUR = timedelta(minutes=15)  # every UTC offset in use is a multiple of it


@cache
def timezone_names() -> frozenset[str]:
    return frozenset(available_timezones())


@dataclass(frozen=True)
class Cadence:
    """When a schedule's windows end: its interval, time zone, hour and weekday."""

    interval: str
    timezone: str = "UTC"
    hour: int | None = None  # daily and weekly: 0-23
    weekday: int | None = None  # weekly: 0 = Monday … 6 = Sunday

    def __post_init__(self) -> None:
        if self.interval not in INTERVALS:
            raise ValueError(f"unknown interval {self.interval!r}")
        if self.interval != "hourly" and (self.hour is None or not 0 <= self.hour <= 23):
            raise ValueError("a daily or weekly cadence needs an hour from 0 to 23")
        if self.interval == "weekly" and (self.weekday is None or not 0 <= self.weekday <= 6):
            raise ValueError("a weekly cadence needs a weekday from 0 (Monday) to 6")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def due(self, *, now: datetime, settle_seconds: float) -> bool:
        """A window is run once it has ended and logs written late into it had time to land."""
        return now >= self.end + timedelta(seconds=settle_seconds)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("window arithmetic needs aware datetimes")
    return value.astimezone(UTC)


def window_end(cadence: Cadence, start: datetime) -> datetime:
    """The first boundary of the cadence strictly after `start` (UTC)."""
    start = _utc(start)
    zone = cadence.zone
    if cadence.interval == "hourly":
        # Quarter hours in UTC, exact: the first whose wall clock in the zone reads :00.
        candidate = start.replace(minute=start.minute - start.minute % 15, second=0,
                                  microsecond=0)
        while True:
            if candidate > start and candidate.astimezone(zone).minute == 0:
                return candidate
            candidate += QUARTER_HOUR
    local_day = start.astimezone(zone).date()
    at = time(cadence.hour or 0)
    for days in range(-1, 9):  # a boundary lies within the next 8 local days
        day = local_day + timedelta(days=days)
        if cadence.interval == "weekly" and day.weekday() != cadence.weekday:
            continue
        # fold=0: a time skipped by DST is the instant of the jump; a repeated one, its first.
        boundary = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
        if boundary > start:
            return boundary
    raise AssertionError("no boundary within 8 days")  # cannot happen for these cadences


def next_window(cadence: Cadence, *, first_start: datetime,
                previous_end: datetime | None) -> Window:
    """The window after the last one run (or the first, from the schedule's start)."""
    start = _utc(previous_end if previous_end is not None else first_start)
    return Window(start=start, end=window_end(cadence, start))


def windows(cadence: Cadence, *, first_start: datetime, until: datetime) -> Iterator[Window]:
    """The consecutive windows from first_start that end at or before `until`."""
    window = next_window(cadence, first_start=first_start, previous_end=None)
    while window.end <= _utc(until):
        yield window
        window = next_window(cadence, first_start=first_start, previous_end=window.end)
