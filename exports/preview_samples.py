"""The Request Data preview's sample rows: the first rows of the export's slice as the file will
hold them, in the chosen format, fields and redaction rules.

The rows are written by the export's own writer (exports.writer.write_export, the same encoder
and redactor) into memory and read back, so the preview never shows anything the file would
not contain, and never re-implements a format. Text is shortened for the page only.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError

from exports.formats import export_format
from exports.redaction.policy import export_rules
from exports.redaction.rules import is_empty
from exports.writer import write_export

SAMPLE_LOGS = 3  # logs of the slice shown, from its offset
DISPLAY_CHARS = 300  # each line (or Parquet value) is cut here on the page, with "…"


class _Buffer:
    def __init__(self):
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data


@dataclass
class SampleRows:
    file_format: str = ""
    logs: int = 0  # logs of the slice these rows come from
    lines: list[str] = field(default_factory=list)  # the file's text (CSV: with its header)
    columns: list[str] = field(default_factory=list)  # Parquet: "name (type)"
    rows: list[list[str]] = field(default_factory=list)  # Parquet: each row's values
    skipped: int = 0  # logs the fine-tuning format leaves out
    redacted: bool = False  # redaction rules were applied, as the export will
    unavailable: str = ""  # why no rows are shown, in words

    @property
    def is_table(self) -> bool:
        return bool(self.columns)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def label(self) -> str:
        return export_format(self.file_format).label if self.file_format else ""

    @property
    def compressed(self) -> bool:
        return self.file_format.endswith(".gz")

    @property
    def is_finetune(self) -> bool:
        return self.file_format == "finetune.jsonl"


def shorten(text: str, limit: int | None = DISPLAY_CHARS) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[:limit].rstrip() + "…"


def csv_records(text: str) -> list[str]:
    """The CSV text's records (its header first), each without its "\\n". A newline inside a
    quoted cell does not end a record: quotes come in pairs outside and inside a quoted cell."""
    records, start, quoted = [], 0, False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char == "\n" and not quoted:
            records.append(text[start:index])
            start = index + 1
    if start < len(text):
        records.append(text[start:])
    return records


def _typed(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def read_sample(file_format: str, data: bytes, *,
                display_chars: int | None = DISPLAY_CHARS) -> SampleRows:
    """The file's bytes as a person reads them: text lines, or Parquet's typed values."""
    sample = SampleRows(file_format=file_format)
    if file_format == "parquet":
        import pyarrow.parquet

        table = pyarrow.parquet.read_table(io.BytesIO(data))
        sample.columns = [f"{column.name} ({column.type})" for column in table.schema]
        sample.rows = [[shorten(_typed(row[name]), display_chars) for name in table.column_names]
                       for row in table.to_pylist()]
        return sample
    if file_format.endswith(".gz"):
        data = gzip.decompress(data)
    text = data.decode("utf-8")
    if file_format.startswith("csv"):
        records = csv_records(text)
    else:  # JSON lines: split on "\n" alone (a JSON string may hold U+2028)
        records = text.split("\n")[:-1] if text else []
    sample.lines = [shorten(record, display_chars) for record in records]
    return sample


def sample_rows(*, workspace_id, filters: dict, field_names: list[str], offset: int, logs: int,
                file_format: str, redaction: dict | None,
                display_chars: int | None = DISPLAY_CHARS) -> SampleRows:
    """The file's first rows for the slice's first `logs` logs (from `offset`), written with
    the rules the export would apply (`redaction` as the form has it; None: the workspace's)."""
    try:
        rules = export_rules(workspace_id, redaction, given=redaction is not None)
    except ValidationError:
        return SampleRows(file_format=file_format, unavailable=(
            "Sample rows show once the redaction rules are valid: the file's rows are "
            "never shown unredacted."))
    buffer = _Buffer()
    # The portable path reads the few rows in one keyset query; PostgreSQL's COPY would open a
    # connection of its own for three rows (both give the same bytes).
    result = write_export(
        workspace_id=workspace_id, filters=filters, field_names=field_names, limit=logs,
        offset=offset, file_format=file_format, sink=buffer, checkpoint=lambda rows: None,
        fast_path=False, redaction=rules,
    )
    sample = read_sample(export_format(file_format).name, bytes(buffer.data),
                         display_chars=display_chars)
    sample.logs = result.rows + result.skipped
    sample.skipped = result.skipped
    sample.redacted = not is_empty(rules)
    return sample
