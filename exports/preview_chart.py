"""The Request Data preview's chart: matching logs per hour, day or month over the time range,
drawn on the server as inline SVG (no chart library, no script in the browser).

The counts come from the hourly counts (logs.hourly_counts) whenever the filters are a time
range plus providers, models and status codes: the same three queries the preview's count reads
anyway, so the chart costs nothing extra. Any other filter (metadata, trace id, cost, tokens)
selects rows the hourly table does not know; then one GROUP BY over the matching rows counts
them per hour, but only when the preview's bounded count has already found at most SCAN_ROWS
of them. That count read every matching row to count them, so the GROUP BY reads no more than
it did; with more matches (a month of 10M logs filtered by cost would be millions of rows, and
seconds of work on every keystroke) the chart says plainly that it is not drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo

from django.db.models import Count, QuerySet
from django.db.models.functions import Trunc

HOUR = timedelta(hours=1)
# The page shows every time in UTC (the form's "From (UTC)", the exports' times), so the
# chart's hours and days are UTC ones too.
DISPLAY_TIME_ZONE: tzinfo = UTC
HOURS_UP_TO = timedelta(days=3)  # a longer range is drawn by day (at most 73 bars by hour)
DAYS_UP_TO = timedelta(days=400)  # a longer one by month
SCAN_ROWS = 50_000  # the most matching rows a GROUP BY may count (filters hourly counts lack)
VIEW_WIDTH, VIEW_HEIGHT = 600, 120  # the SVG's own units; it is drawn at the box's width


@dataclass(frozen=True)
class Bucket:
    start: datetime  # in the display time zone
    logs: int
    label: str  # "2 Dec 14:00", "2 Dec", "Dec 2024"


@dataclass(frozen=True)
class Bar:
    x: str
    y: str
    width: str
    height: str
    bucket: Bucket


@dataclass
class VolumeChart:
    unit: str = "hour"  # hour | day | month
    buckets: list[Bucket] = field(default_factory=list)
    start: datetime | None = None  # the range shown, in the display time zone
    end: datetime | None = None
    unavailable: str = ""  # why no chart is drawn for these filters, in words

    @property
    def total(self) -> int:
        return sum(bucket.logs for bucket in self.buckets)

    @property
    def is_empty(self) -> bool:
        return not self.unavailable and self.total == 0

    @property
    def peak(self) -> Bucket | None:
        return max(self.buckets, key=lambda bucket: bucket.logs, default=None)

    @property
    def zone(self) -> str:
        return (self.start.tzname() if self.start is not None else None) or "UTC"

    @property
    def range_text(self) -> str:
        if self.start is None or self.end is None:
            return "all time"
        return f"{_moment(self.start)} – {_moment(self.end)} {self.zone}"

    @property
    def summary(self) -> str:
        """The chart in one sentence: its accessible name."""
        peak = self.peak
        if peak is None or not peak.logs:
            return f"No matching logs, {self.range_text}"
        at = {"hour": "at", "day": "on", "month": "in"}[self.unit]
        return (f"Matching logs by {self.unit}, {self.range_text}, "
                f"peak {peak.logs:,} {at} {peak.label}")

    @property
    def bars(self) -> list[Bar]:
        """Each bucket's bar in the SVG's units; an empty bucket has none, a small one is
        still a visible sliver."""
        peak = self.peak
        if not self.buckets or peak is None or not peak.logs:
            return []
        slot = VIEW_WIDTH / len(self.buckets)
        gap = slot * 0.18 if slot >= 4 else 0
        bars = []
        for index, bucket in enumerate(self.buckets):
            if not bucket.logs:
                continue
            height = max(1.5, bucket.logs / peak.logs * (VIEW_HEIGHT - 2))
            bars.append(Bar(x=f"{index * slot + gap / 2:.2f}", y=f"{VIEW_HEIGHT - height:.2f}",
                            width=f"{slot - gap:.2f}", height=f"{height:.2f}", bucket=bucket))
        return bars

    @property
    def first_label(self) -> str:
        return self.buckets[0].label if self.buckets else ""

    @property
    def last_label(self) -> str:
        return self.buckets[-1].label if self.buckets else ""

    view_width = VIEW_WIDTH
    view_height = VIEW_HEIGHT


def _moment(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %H:%M}"


MAX_BUCKETS = 600  # months, 50 years: past that a bar chart says nothing


def choose_unit(start: datetime, end: datetime) -> str:
    span = end - start
    if span <= HOURS_UP_TO:
        return "hour"
    return "day" if span <= DAYS_UP_TO else "month"


def bucket_floor(moment: datetime, unit: str, tz: tzinfo) -> datetime:
    """The start of the bucket (in tz) that holds the moment."""
    local = moment.astimezone(tz)
    if unit == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    midnight = datetime.combine(local.date(), time(), tzinfo=tz)
    return midnight if unit == "day" else midnight.replace(day=1)


def next_bucket(start: datetime, unit: str, tz: tzinfo) -> datetime:
    if unit == "hour":  # by the instant: a local hour repeated at a clock change stays two
        return (start.astimezone(UTC) + HOUR).astimezone(tz)
    if unit == "day":
        return datetime.combine(start.date() + timedelta(days=1), time(), tzinfo=tz)
    if start.month == 12:
        return datetime(start.year + 1, 1, 1, tzinfo=tz)
    return datetime(start.year, start.month + 1, 1, tzinfo=tz)


def _label(start: datetime, unit: str, years: bool) -> str:
    if unit == "hour":
        return _moment(start)
    if unit == "day":
        return f"{start.day} {start:%b}" + (f" {start.year}" if years else "")
    return f"{start:%b %Y}"


def bucketed(hour_counts: list[tuple[datetime, int]], *, gte: datetime | None,
             lte: datetime | None, tz: tzinfo = DISPLAY_TIME_ZONE) -> VolumeChart:
    """The UTC hours' counts gathered into buckets of tz over the range gte..lte (inclusive;
    an open bound ends at the first or last hour with logs). Every bucket of the range is
    listed, empty ones too.

    A UTC hour goes whole into the bucket its start falls in: exact for UTC and every zone a
    whole number of hours from it (a +05:30 zone would need the counts by half hour)."""
    hours = sorted((hour, logs) for hour, logs in hour_counts if logs)
    start = gte if gte is not None else (hours[0][0] if hours else None)
    end = lte if lte is not None else (hours[-1][0] + HOUR if hours else None)
    if start is None or end is None or end < start:
        return VolumeChart(start=start and start.astimezone(tz), end=end and end.astimezone(tz))
    too_long = (end.year - start.year) * 12 > MAX_BUCKETS
    if too_long and not hours:  # nothing to draw: the empty state
        return VolumeChart(start=start.astimezone(tz), end=end.astimezone(tz))
    if too_long:
        # A range of years (up to 9999-12-31 on the form) is drawn over the hours that hold
        # logs, not over centuries of empty months.
        start = max(start, hours[0][0])
        end = min(end, hours[-1][0] + HOUR)
    unit = choose_unit(start, end)
    if unit == "month" and (end.year - start.year) * 12 > MAX_BUCKETS:
        return VolumeChart(unavailable=(
            f"The chart is not drawn: the logs of this range span more than "
            f"{MAX_BUCKETS // 12} years."))
    first = bucket_floor(start, unit, tz)
    last = bucket_floor(end, unit, tz)
    # A range that ends exactly where a bucket starts (to 00:00) holds only that one instant
    # of it: its logs are shown in the bucket before rather than in a bar of their own.
    exclusive_end = lte is None or last == end
    if exclusive_end and last > first:
        last = bucket_floor(end - timedelta(microseconds=1), unit, tz)
    # Keyed by the UTC instant: two local times of one zone compare by their wall clock (a
    # repeated hour at a clock change would be one key).
    first_key, last_key = first.astimezone(UTC), last.astimezone(UTC)
    counts: dict[datetime, int] = {}
    for hour, logs in hours:
        key = min(max(bucket_floor(hour, unit, tz).astimezone(UTC), first_key), last_key)
        counts[key] = counts.get(key, 0) + logs
    years = first.year != last.year
    buckets = []
    moment = first
    while moment.astimezone(UTC) <= last_key:
        buckets.append(Bucket(start=moment, logs=counts.get(moment.astimezone(UTC), 0),
                              label=_label(moment, unit, years)))
        try:
            moment = next_bucket(moment, unit, tz)
        except (OverflowError, ValueError):  # the range ends in the year 9999
            break
    return VolumeChart(unit=unit, buckets=buckets, start=start.astimezone(tz),
                       end=end.astimezone(tz))


def counted_hours(queryset: QuerySet) -> list[tuple[datetime, int]]:
    """(UTC hour, logs) of the matching rows: one GROUP BY date_trunc('hour', ...) query."""
    rows = (queryset.order_by().annotate(hour=Trunc("created_at", "hour", tzinfo=UTC))
            .values("hour").annotate(logs=Count("id")).values_list("hour", "logs"))
    return [(hour, logs) for hour, logs in rows]


def volume_chart(*, queryset: QuerySet, hour_counts: list[tuple[datetime, int]] | None,
                 matches: int, matches_exact: bool, bounds: dict,
                 tz: tzinfo = DISPLAY_TIME_ZONE) -> VolumeChart:
    """The chart of the matching logs over the filters' time range (`bounds`: the normalised
    created_at, ISO text). `hour_counts` are the hourly counts' answer, None when the filters
    are ones they cannot answer; `matches` the preview's bounded count of the rows."""
    gte = datetime.fromisoformat(bounds["gte"]) if bounds.get("gte") else None
    lte = datetime.fromisoformat(bounds["lte"]) if bounds.get("lte") else None
    if hour_counts is None:
        if not matches_exact or matches > SCAN_ROWS:
            return VolumeChart(unavailable=(
                f"The chart is not drawn for these filters: more than {SCAN_ROWS:,} logs "
                "match, and only a time range with provider, model and status code filters "
                "is counted by hour without reading every log."))
        hour_counts = counted_hours(queryset) if matches else []
    return bucketed(hour_counts, gte=gte, lte=lte, tz=tz)
