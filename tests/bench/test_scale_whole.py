"""bench/scale_whole.py's helpers: the disk it asks for, its line count, its last line."""

from __future__ import annotations

from bench.rss import MB, RssPeaks, high_water_mark
from bench.scale_whole import WholeRun, count_lines, disk_needed, summary_line, tenths


def run_of(rows: int, seconds: float, peak_mb: int) -> WholeRun:
    return WholeRun(rows=rows, parts=rows // 50_000, bytes=rows * 900, seconds=seconds,
                    plan_s=0.5, parts_s=seconds - 10, join_s=9.5,
                    rss=RssPeaks(creator=80 * MB, worker=70 * MB, horse=peak_mb * MB,
                                 join=90 * MB))


def test_disk_needed_counts_the_parts_and_the_joined_file_side_by_side():
    # 10M logs of ~900 bytes: 9 GB of parts and 9 GB of file, with the 50 % margin.
    assert disk_needed(rows=10_000_000, bytes_per_row=900) == 27_000_000_000


def test_count_lines_across_chunk_boundaries(tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_bytes(b'{"a": 1}\n' * 1000)
    assert count_lines(path, chunk=7) == 1000  # lines split across every read
    path.write_bytes(b"")
    assert count_lines(path) == 0


def test_summary_line_sets_both_sizes_side_by_side():
    whole, reference = run_of(10_000_000, 600.0, 120), run_of(1_000_000, 60.0, 118)
    assert summary_line(whole=whole, psql_s=300.0, reference=reference) == (
        "whole_export rows=10000000 seconds=600.0 psql_seconds=300.0 ratio=0.50 "
        "peak_rss_mb_per_process=120 rss_at_1M=118")
    # At 1M logs the whole export is its own reference; at other sizes there is none.
    one_million = summary_line(whole=reference, psql_s=30.0, reference=None)
    assert one_million.endswith("peak_rss_mb_per_process=118 rss_at_1M=118")
    assert summary_line(whole=run_of(20_000, 2.0, 100), psql_s=1.0,
                        reference=None).endswith("rss_at_1M=n/a")


def test_high_water_mark_of_this_process_and_of_none():
    assert high_water_mark(__import__("os").getpid()) > 10 * MB
    assert high_water_mark(2**22 + 12345) == 0  # above pid_max by default: no such process


def test_tenths_of_the_parts():
    from datetime import UTC, datetime, timedelta

    start = datetime(2025, 1, 1, tzinfo=UTC)
    # 20 parts finishing every 3 s, in any order: each tenth (2 parts) took 6 s.
    finished = [start + timedelta(seconds=3 * (index + 1)) for index in range(20)][::-1]
    assert tenths(start, finished) == [6.0] * 10
    # Slowing down: the last part alone took 100 s more.
    assert tenths(start, finished[1:] + [start + timedelta(seconds=160)])[-1] == 106.0
    assert tenths(start, []) == tenths(start, [None]) == []  # one part: no time of its own
