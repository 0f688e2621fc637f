"""The Request Data chart: buckets by hour, day or month over the range, in the display time
zone; the hourly counts and the GROUP BY agree; the SVG's geometry and accessible name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from exports import preview_chart
from exports.preview import export_preview
from exports.preview_chart import (
    VIEW_HEIGHT,
    VIEW_WIDTH,
    bucketed,
    choose_unit,
    counted_hours,
    volume_chart,
)
from logs.filters import matching_logs, normalise_filters
from logs.hourly_counts import time_range
from logs.models import Log

PARIS = ZoneInfo("Europe/Paris")
DEC_2 = datetime(2024, 12, 2, tzinfo=UTC)


def hour(day: int, at: int, month: int = 12) -> datetime:
    return datetime(2024, month, day, at, tzinfo=UTC)


# --- Bucket maths (no database) ---------------------------------------------------------------

def test_up_to_three_days_is_drawn_by_hour_longer_by_day_and_past_400_days_by_month():
    assert choose_unit(DEC_2, DEC_2 + timedelta(days=3)) == "hour"
    assert choose_unit(DEC_2, DEC_2 + timedelta(days=3, seconds=1)) == "day"
    assert choose_unit(DEC_2, DEC_2 + timedelta(days=400)) == "day"
    assert choose_unit(DEC_2, DEC_2 + timedelta(days=401)) == "month"


def test_a_day_by_hour_lists_every_hour_and_names_the_peak():
    chart = bucketed([(hour(2, 14), 1234), (hour(2, 3), 5)], gte=DEC_2,
                     lte=DEC_2 + timedelta(days=1))
    assert chart.unit == "hour"
    # To 3 Dec 00:00 inclusive: the closing instant belongs to the last hour, no 25th bar.
    assert len(chart.buckets) == 24 and chart.buckets[0].label == "2 Dec 00:00"
    assert chart.buckets[-1].label == "2 Dec 23:00"
    assert [bucket.logs for bucket in chart.buckets if bucket.logs] == [5, 1234]
    assert chart.total == 1239
    assert chart.summary == ("Matching logs by hour, 2 Dec 00:00 – 3 Dec 00:00 UTC, "
                             "peak 1,234 at 2 Dec 14:00")


def test_a_log_at_the_ranges_closing_instant_is_counted_in_the_last_bucket():
    end = DEC_2 + timedelta(days=1)
    chart = bucketed([(end, 2), (hour(2, 23), 1)], gte=DEC_2, lte=end)
    assert len(chart.buckets) == 24 and chart.buckets[-1].logs == 3


def test_a_range_starting_and_ending_inside_hours_keeps_both_partial_hours():
    gte, lte = hour(2, 10) + timedelta(minutes=37), hour(3, 10) + timedelta(minutes=37)
    chart = bucketed([(hour(2, 10), 4), (hour(3, 10), 6)], gte=gte, lte=lte)
    assert len(chart.buckets) == 25  # 10:00 (from 10:37) … 10:00 next day (to 10:37)
    assert chart.buckets[0].logs == 4 and chart.buckets[-1].logs == 6
    assert chart.range_text == "2 Dec 10:37 – 3 Dec 10:37 UTC"


def test_a_week_is_drawn_by_day_and_the_utc_day_changes_at_midnight():
    chart = bucketed([(hour(2, 23), 7), (hour(3, 0), 11)], gte=DEC_2,
                     lte=DEC_2 + timedelta(days=7))
    assert chart.unit == "day" and len(chart.buckets) == 7
    assert [(bucket.label, bucket.logs) for bucket in chart.buckets[:2]] == [("2 Dec", 7),
                                                                             ("3 Dec", 11)]
    assert chart.summary.endswith("peak 11 on 3 Dec")


def test_days_of_another_zone_start_at_its_midnight_across_a_clock_change():
    # Paris falls back on 27 Oct 2024: that day has 25 hours, 26 Oct 22:00 to 27 Oct 23:00 UTC.
    gte = datetime(2024, 10, 25, 22, tzinfo=UTC)  # 26 Oct 00:00 in Paris (UTC+2)
    counts = [(gte + timedelta(hours=index), 1) for index in range(24 + 25 + 24)]
    chart = bucketed(counts, gte=gte, lte=gte + timedelta(hours=72, minutes=59), tz=PARIS)
    assert [bucket.start.isoformat() for bucket in chart.buckets] == [
        "2024-10-26T00:00:00+02:00", "2024-10-27T00:00:00+02:00", "2024-10-28T00:00:00+01:00"]
    assert [bucket.logs for bucket in chart.buckets] == [24, 25, 24]
    # The UTC hour 23:00 of 1 Dec is already 2 Dec in Paris.
    late = bucketed([(hour(1, 23), 3)], gte=hour(1, 0), lte=hour(5, 0), tz=PARIS)
    assert [(bucket.label, bucket.logs) for bucket in late.buckets if bucket.logs] == [
        ("2 Dec", 3)]


def test_hours_of_a_repeated_local_hour_stay_two_bars():
    gte = datetime(2024, 10, 26, 23, tzinfo=UTC)  # 27 Oct 01:00 Paris (summer time)
    chart = bucketed([(gte + timedelta(hours=index), index + 1) for index in range(4)],
                     gte=gte, lte=gte + timedelta(hours=3, minutes=59), tz=PARIS)
    assert [bucket.label for bucket in chart.buckets] == [
        "27 Oct 01:00", "27 Oct 02:00", "27 Oct 02:00", "27 Oct 03:00"]
    assert [bucket.logs for bucket in chart.buckets] == [1, 2, 3, 4]


def test_long_ranges_are_drawn_by_month_across_a_new_year():
    gte, lte = datetime(2023, 11, 15, tzinfo=UTC), datetime(2025, 1, 10, tzinfo=UTC)
    chart = bucketed([(datetime(2023, 12, 31, 23, tzinfo=UTC), 2),
                      (datetime(2024, 1, 1, tzinfo=UTC), 3)], gte=gte, lte=lte)
    assert chart.unit == "month" and len(chart.buckets) == 15
    assert [(bucket.label, bucket.logs) for bucket in chart.buckets[1:3]] == [("Dec 2023", 2),
                                                                              ("Jan 2024", 3)]


def test_an_open_range_spans_the_hours_that_hold_logs():
    chart = bucketed([(hour(2, 5), 1), (hour(2, 9), 2)], gte=None, lte=None)
    assert chart.unit == "hour" and [bucket.label for bucket in chart.buckets][::4] == [
        "2 Dec 05:00", "2 Dec 09:00"]
    nothing = bucketed([], gte=None, lte=None)
    assert nothing.is_empty and nothing.buckets == [] and nothing.range_text == "all time"


def test_an_empty_range_is_an_empty_chart_not_a_missing_one():
    chart = bucketed([], gte=DEC_2, lte=DEC_2 + timedelta(days=2))
    assert chart.is_empty and not chart.unavailable and chart.bars == []
    assert len(chart.buckets) == 48 and chart.peak is not None and chart.peak.logs == 0
    assert chart.summary == "No matching logs, 2 Dec 00:00 – 4 Dec 00:00 UTC"


def test_bars_fill_the_view_box_the_tallest_at_the_peak_and_small_ones_still_visible():
    counts = [(hour(2, at), logs) for at, logs in ((0, 1000), (1, 1), (5, 500))]
    chart = bucketed(counts, gte=DEC_2, lte=DEC_2 + timedelta(hours=23, minutes=59))
    bars = chart.bars
    assert len(bars) == 3  # an empty hour has no bar
    heights = [float(bar.height) for bar in bars]
    assert heights[0] == VIEW_HEIGHT - 2 and heights[1] >= 1.5 and heights[2] == pytest.approx(
        (VIEW_HEIGHT - 2) / 2)
    for bar in bars:
        assert float(bar.x) >= 0 and float(bar.x) + float(bar.width) <= VIEW_WIDTH
        assert float(bar.y) + float(bar.height) == pytest.approx(VIEW_HEIGHT)


# --- The counts it is drawn from (PostgreSQL) -------------------------------------------------

def make_logs(workspace, moments_and_models) -> None:
    Log.objects.bulk_create([
        Log(workspace=workspace, created_at=moment, ai_model=model, ai_provider="openai",
            metadata={"team": "search" if index % 2 else "ads"})
        for index, (moment, model) in enumerate(moments_and_models)])


@pytest.mark.django_db
def test_the_hourly_counts_by_hour_equal_a_group_by_of_the_logs(workspace):
    start = hour(2, 9) + timedelta(minutes=20)
    moments = [start + timedelta(minutes=7 * index) for index in range(60)]
    make_logs(workspace, [(moment, "gpt-4o" if index % 3 else "gpt-4o-mini")
                          for index, moment in enumerate(moments)])
    for facets in ({}, {"ai_model": ["gpt-4o"]}):
        filters = normalise_filters({"created_at": {
            "gte": (start + timedelta(minutes=30)).isoformat(),
            "lte": (start + timedelta(hours=5, minutes=10)).isoformat()}, **facets})
        hourly = time_range(workspace_id=workspace.id, filters=filters)
        by_hour = hourly.hour_counts()
        grouped = counted_hours(matching_logs(workspace_id=workspace.id, filters=filters))
        assert sorted(by_hour) == sorted(grouped)
        assert sum(logs for _, logs in by_hour) == hourly.count()


@pytest.mark.django_db
def test_filters_the_hourly_counts_lack_are_grouped_when_few_match_else_not_drawn(
        workspace, monkeypatch):
    make_logs(workspace, [(hour(2, at), "gpt-4o") for at in range(10)])
    filters = normalise_filters({"created_at": {"gte": DEC_2.isoformat(),
                                                "lte": hour(2, 23).isoformat()},
                                 "metadata": {"team": "search"}})
    assert time_range(workspace_id=workspace.id, filters=filters) is None
    matching = matching_logs(workspace_id=workspace.id, filters=filters)
    with CaptureQueriesContext(connection) as queries:
        chart = volume_chart(queryset=matching, hour_counts=None, matches=5, matches_exact=True,
                             bounds=filters["created_at"])
    assert len(queries) == 1 and "GROUP BY" in queries[0]["sql"]
    assert chart.total == 5 and chart.unit == "hour"
    monkeypatch.setattr(preview_chart, "SCAN_ROWS", 4)
    with CaptureQueriesContext(connection) as queries:
        too_many = volume_chart(queryset=matching, hour_counts=None, matches=5,
                                matches_exact=True, bounds=filters["created_at"])
        past_bound = volume_chart(queryset=matching, hour_counts=None, matches=5,
                                  matches_exact=False, bounds=filters["created_at"])
    assert len(queries) == 0
    for chart in (too_many, past_bound):
        assert chart.unavailable.startswith("The chart is not drawn for these filters")


@pytest.mark.django_db
def test_the_preview_draws_the_chart_from_the_counts_it_already_reads(workspace):
    make_logs(workspace, [(hour(2, at) + timedelta(minutes=at), "gpt-4o") for at in range(20)])
    filters = {"created_at": {"gte": (DEC_2 + timedelta(minutes=5)).isoformat(),
                              "lte": hour(2, 22).isoformat()}, "ai_model": ["gpt-4o"]}
    with CaptureQueriesContext(connection) as queries:
        preview = export_preview(workspace=workspace, filters=filters, requested_data=["id"],
                                 limit=100, offset=0, file_format="jsonl")
    hourly_reads = [query for query in queries if "logs_loghourlycount" in query["sql"]]
    assert len(hourly_reads) == 1  # the count and the chart: one read of the hourly counts
    assert preview.matches == 19 and preview.chart.total == 19  # 00:00 is before 00:05
    assert preview.chart.unit == "hour" and len(preview.chart.buckets) == 22


def test_a_range_to_the_year_9999_is_drawn_over_the_logs_not_centuries():
    # Found by the malformed-input test: created_to 9999-12-31 made the month loop overflow.
    logs_at = [(datetime(2026, 11, 30, 10, tzinfo=UTC), 3),
               (datetime(2026, 12, 1, 9, tzinfo=UTC), 2)]
    chart = bucketed(logs_at, gte=datetime(2026, 1, 1, tzinfo=UTC),
                     lte=datetime(9999, 12, 31, 23, 59, tzinfo=UTC), tz=UTC)
    assert sum(bucket.logs for bucket in chart.buckets) == 5
    assert len(chart.buckets) <= 400
    empty = bucketed([], gte=datetime(2026, 1, 1, tzinfo=UTC),
                     lte=datetime(9999, 12, 31, 23, 59, tzinfo=UTC), tz=UTC)
    assert empty.buckets == [] and not empty.unavailable


def test_logs_spread_over_centuries_are_not_charted_month_by_month():
    logs_at = [(datetime(1, 1, 1, tzinfo=UTC), 1), (datetime(9999, 12, 31, 22, tzinfo=UTC), 1)]
    chart = bucketed(logs_at, gte=None, lte=None, tz=UTC)
    assert chart.buckets == [] and "years" in chart.unavailable
