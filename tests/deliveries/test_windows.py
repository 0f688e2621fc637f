"""A schedule's windows, pure: half-open, consecutive, DST-correct, edits from the next one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deliveries.windows import Cadence, Window, next_window, window_end, windows

HOUR = timedelta(hours=1)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def consecutive(found: list[Window]) -> bool:
    return all(earlier.end == later.start for earlier, later in zip(found, found[1:], strict=False))


def test_hourly_windows_are_whole_hours_from_an_aligned_start():
    found = list(windows(Cadence("hourly"), first_start=utc(2026, 12, 2, 10),
                         until=utc(2026, 12, 2, 15)))
    assert [(w.start, w.end) for w in found] == [
        (utc(2026, 12, 2, 10 + n), utc(2026, 12, 2, 11 + n)) for n in range(5)]


def test_an_unaligned_start_makes_a_short_first_window_then_whole_ones():
    found = list(windows(Cadence("hourly"), first_start=utc(2026, 12, 2, 10, 25),
                         until=utc(2026, 12, 2, 13)))
    assert [(w.start, w.end) for w in found] == [
        (utc(2026, 12, 2, 10, 25), utc(2026, 12, 2, 11)),
        (utc(2026, 12, 2, 11), utc(2026, 12, 2, 12)), (utc(2026, 12, 2, 12), utc(2026, 12, 2, 13))]
    # A start right on a boundary is the window's start, never its end.
    assert window_end(Cadence("hourly"), utc(2026, 12, 2, 11)) == utc(2026, 12, 2, 12)


def test_hourly_follows_the_zones_whole_hours():
    assert window_end(Cadence("hourly", "Asia/Kolkata"), utc(2026, 3, 27, 5)) == \
        utc(2026, 3, 27, 5, 30)


def test_daily_across_the_spring_and_autumn_changes_in_berlin():
    cadence = Cadence("daily", "Europe/Berlin", hour=2)
    found = list(windows(cadence, first_start=utc(2026, 3, 28, 1), until=utc(2026, 3, 31)))
    # 29 March: 02:00 does not exist (clocks jump to 03:00): the window ends at the jump.
    assert [(w.start, w.end - w.start) for w in found] == [
        (utc(2026, 3, 28, 1), timedelta(hours=24)), (utc(2026, 3, 29, 1), timedelta(hours=23)),
        (utc(2026, 3, 30, 0), timedelta(hours=24))]
    cadence = Cadence("daily", "Europe/Berlin", hour=0)
    found = list(windows(cadence, first_start=utc(2026, 10, 24, 22), until=utc(2026, 10, 27)))
    assert [w.end - w.start for w in found] == [timedelta(hours=25), timedelta(hours=24)]
    assert consecutive(found)


def test_weekly_at_a_repeated_hour_takes_its_first_occurrence():
    # New York falls back on Sunday 1 November 2026: 01:00 happens twice; the first counts.
    cadence = Cadence("weekly", "America/New_York", hour=1, weekday=6)
    found = list(windows(cadence, first_start=utc(2026, 10, 20, 5), until=utc(2026, 11, 16)))
    assert [w.end for w in found] == [utc(2026, 10, 25, 5), utc(2026, 11, 1, 5),
                                      utc(2026, 11, 8, 6), utc(2026, 11, 15, 6)]
    assert found[2].end - found[2].start == timedelta(days=7, hours=1)
    assert consecutive(found)


def test_an_edit_applies_from_the_next_window():
    last = Window(utc(2026, 12, 2, 10), utc(2026, 12, 2, 11))  # run as hourly
    edited = Cadence("daily", "UTC", hour=6)
    following = next_window(edited, first_start=utc(2026, 12, 1), previous_end=last.end)
    assert (following.start, following.end) == (utc(2026, 12, 2, 11), utc(2026, 12, 3, 6))


def test_due_once_settled():
    window = Window(utc(2026, 12, 2, 10), utc(2026, 12, 2, 11))
    assert not window.due(now=utc(2026, 12, 2, 11, 0, 59), settle_seconds=60)
    assert window.due(now=utc(2026, 12, 2, 11, 1), settle_seconds=60)


@pytest.mark.parametrize("cadence", [
    {"interval": "daily"}, {"interval": "weekly", "hour": 3}, {"interval": "monthly"},
    {"interval": "daily", "hour": 24}])
def test_incomplete_cadences_are_refused(cadence):
    with pytest.raises(ValueError):
        Cadence(**cadence)
