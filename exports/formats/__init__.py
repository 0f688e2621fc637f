"""The export formats: one module each, and the list the model, form, API and writer read."""

from __future__ import annotations

from exports.formats.base import ExportFormat
from exports.formats.csv import CSV, CSV_GZ
from exports.formats.finetune import FINETUNE
from exports.formats.jsonl import JSONL, JSONL_GZ
from exports.formats.parquet import PARQUET

FORMATS: tuple[ExportFormat, ...] = (JSONL, JSONL_GZ, CSV, CSV_GZ, PARQUET, FINETUNE)
FORMATS_BY_NAME: dict[str, ExportFormat] = {fmt.name: fmt for fmt in FORMATS}
DEFAULT_FORMAT = JSONL.name


def export_format(name: str) -> ExportFormat:
    return FORMATS_BY_NAME[name]
