"""The Request Data preview: how many logs match, how many the export holds, about how big;
a chart of the matches over time (exports.preview_chart) and the file's first rows
(exports.preview_samples).

Read-only; it checks the same things the create service checks, so the preview and the Request
Export button never disagree about what is valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from exports import inputs
from exports.preview_chart import VolumeChart, volume_chart
from exports.preview_samples import SAMPLE_LOGS, SampleRows, sample_rows
from exports.writer import write_export
from logs.counting import BoundedCount, bounded_count
from logs.filters import export_slice_count, matching_logs, normalise_filters
from logs.hourly_counts import time_range
from logs.replica import read_database

SAMPLE_ROWS = 200  # rows written to memory to measure the size of a line


class _MemorySink:
    def __init__(self):
        self.bytes_written = 0

    def write(self, data: bytes) -> None:
        self.bytes_written += len(data)


@dataclass
class ExportPreview:
    matches: int | None = None  # exact when matches_exact, else a lower bound
    matches_exact: bool = True
    matches_estimate: int | None = None
    rows: int | None = None
    estimated_bytes: int | None = None
    cap: int = 0
    part_logs: int = 0
    offset: int = 0
    problems: dict[str, list[str]] = field(default_factory=dict)
    chart: VolumeChart | None = None
    samples: SampleRows | None = None

    @property
    def next_offset(self) -> int:
        return self.offset + (self.rows or 0)

    @property
    def parts(self) -> int:
        """How many parts the export is written in (exports.parts): one file either way."""
        return -(-(self.rows or 0) // self.part_logs) if self.part_logs else 0

    @property
    def has_more(self) -> bool:
        """Matching logs past this export's slice, which another export could hold."""
        return bool(self.rows) and (self.matches or 0) > self.next_offset


def export_preview(*, workspace, filters, requested_data, limit, offset,
                   file_format, redaction: dict | None = None) -> ExportPreview:
    preview = ExportPreview(cap=settings.EXPORTS_MAX_LOGS_PER_EXPORT,
                            part_logs=settings.EXPORTS_PART_LOGS)
    # Every part is checked, so the preview names every problem at once, not only the first.
    values: dict[str, Any] = {}
    for name, normalise, raw in (
        ("filters", normalise_filters, filters),
        ("limit", inputs.normalise_limit, limit),
        ("offset", inputs.normalise_offset, offset),
        ("requested_data", inputs.normalise_requested_data, requested_data),
        ("format", inputs.normalise_format, file_format),
    ):
        try:
            values[name] = normalise(raw)
        except ValidationError as error:
            preview.problems.update(error.message_dict)
    if not {"filters", "limit", "offset"} <= values.keys():
        return preview
    normalised, limit_value, offset_value = values["filters"], values["limit"], values["offset"]
    preview.offset = offset_value
    # Counted up to offset + limit only (as far as this export reaches: its size is then
    # exact); past that the page says "more than N" with the planner's estimate. A time range
    # (with or without providers, models, status codes) is counted from the hourly counts
    # instead (exact, and its cost does not grow with the offset), hour by hour: the chart
    # draws the same counts.
    database = read_database()
    matching = matching_logs(workspace_id=workspace.id, filters=normalised).using(database)
    hourly = time_range(workspace_id=workspace.id, filters=normalised, using=database)
    hour_counts = hourly.hour_counts() if hourly is not None else None
    if hour_counts is not None:
        matches = BoundedCount(value=sum(logs for _, logs in hour_counts), exact=True)
    else:
        matches = bounded_count(matching, bound=offset_value + limit_value, estimate=True)
    preview.matches, preview.matches_exact = matches.value, matches.exact
    preview.matches_estimate = matches.estimate
    preview.rows = export_slice_count(matches=matches.value, limit=limit_value,
                                      offset=offset_value)
    preview.chart = volume_chart(queryset=matching, hour_counts=hour_counts,
                                 matches=matches.value, matches_exact=matches.exact,
                                 bounds=normalised.get("created_at") or {})
    if preview.problems:
        return preview
    field_names, format_value = values["requested_data"], values["format"]
    if preview.rows:
        sample = min(preview.rows, SAMPLE_ROWS)
        sink = _MemorySink()
        # The first matching rows stand for the export's rows (the size of a line does not
        # depend on where it is): a sample at the offset would seek past offset rows again.
        write_export(
            workspace_id=workspace.id, filters=normalised, field_names=field_names,
            limit=sample, offset=0, file_format=format_value, sink=sink,
            checkpoint=lambda rows: None, fast_path=False,
        )
        preview.estimated_bytes = round(sink.bytes_written / sample * preview.rows)
        preview.samples = sample_rows(
            workspace_id=workspace.id, filters=normalised, field_names=field_names,
            offset=offset_value, logs=min(preview.rows, SAMPLE_LOGS), file_format=format_value,
            redaction=redaction)
    else:
        preview.estimated_bytes = 0
    return preview
