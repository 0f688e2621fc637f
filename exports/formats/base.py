"""What every export format gives the writer (exports.writer), and the pieces formats share.

A format names how the writer reads rows from the database (its row encoding: JSONL lines or
CSV rows, built by the database on PostgreSQL and in Python elsewhere) and opens an encoder that
turns blocks of those rows into the file's bytes. The writer feeds the encoder on a thread of
its own, so encoding overlaps the database stream.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from exports.fields import ExportField

Write = Callable[[bytes], None]


@dataclass(frozen=True)
class LooseValue:
    """A value a redacted export may change, as it travels on the PostgreSQL fast path: the
    database sends it on its own (`sent`: its UTF-8 text or None), Python reads it only when the
    redactor may change it, and the file gets its piece either way."""

    unchanged: Callable[[bytes | None], bytes]  # the piece of the value as sent
    read: Callable[[bytes | None], str | None]  # the value the redactor reads
    piece: Callable[[str | None], bytes]  # the piece of a (redacted) value


class RowEncoding(Protocol):
    """How rows leave the database: the same bytes on both of the writer's paths."""

    # COPY's format on PostgreSQL: "binary" (one column, the whole row's text) or "csv".
    copy_format: str

    def sql_columns(self, fields: list[ExportField], quote_name: Callable[[str], str]
                    ) -> list[str]: ...

    def renderer(self, fields: list[ExportField]) -> Callable[[Sequence], str]: ...

    # A redacted export's fast path (binary COPY): the row cut at its loose fields, as SQL
    # columns [segment, loose, segment, ..., segment] where each segment is the row's finished
    # text between two loose values (the last one ends the row), and how each loose value
    # becomes its piece.
    def cut_sql_columns(self, fields: list[ExportField], quote_name: Callable[[str], str],
                        loose: Callable[[ExportField], bool]) -> list[str]: ...

    def loose_value(self, field: ExportField, fields: list[ExportField]) -> LooseValue: ...


class SegmentsSQL:
    """Builds a row's SQL columns: runs of literals and expressions, each run one concat()
    (which builds the text once, where a chain of || copies the growing text at every step),
    cut where a loose value goes in a column of its own."""

    def __init__(self) -> None:
        self.columns: list[str] = []
        self.pieces: list[str] = []
        self.literal = ""

    def text(self, literal: str) -> None:
        self.literal += literal

    def sql(self, expression: str) -> None:
        self._end_literal()
        self.pieces.append(expression)

    def loose(self, expression: str) -> None:
        self.columns.append(self._segment())
        self.columns.append(expression)

    def finish(self) -> list[str]:
        self.columns.append(self._segment())
        return self.columns

    def _end_literal(self) -> None:
        if self.literal:
            self.pieces.append("'" + self.literal.replace("'", "''") + "'")
            self.literal = ""

    def _segment(self) -> str:
        self._end_literal()
        pieces, self.pieces = self.pieces, []
        return "concat(" + ", ".join(pieces) + ")" if pieces else "''"


class Encoder(Protocol):
    skipped: int  # rows fed that the file leaves out (the fine-tuning format's rule)

    def feed(self, data: bytes) -> None: ...
    def close(self) -> None: ...


def source_column(field: ExportField) -> str:
    # is_success is the only derived field; it is computed from the status code.
    return field.column or "status_code"


class GzipWrite:
    """gzip (RFC 1952) around a write: one member, so any gunzip reads the whole file."""

    def __init__(self, write: Write):
        self.out = write
        self.compressor = zlib.compressobj(6, zlib.DEFLATED, 31)

    def __call__(self, data: bytes) -> None:
        self.out(self.compressor.compress(data))

    def close(self) -> None:
        self.out(self.compressor.flush())


class PassThrough:
    """Rows as the database encoded them, after an optional header, optionally gzipped."""

    skipped = 0

    def __init__(self, write: Write, *, header: bytes = b"", gzip: bool = False):
        self.gzip = GzipWrite(write) if gzip else None
        self.write = self.gzip or write
        if header:
            self.write(header)

    def feed(self, data: bytes) -> None:
        self.write(data)

    def close(self) -> None:
        if self.gzip:
            self.gzip.close()


@dataclass(frozen=True)
class ExportFormat:
    name: str  # the API's `format` value and the file's extension
    member: str  # its name in ExportJob.Format
    label: str
    summary: str  # one line: what the file is and what reads it
    content_type: str
    rows: RowEncoding
    # (fields, write, header=True): header=False for every part of an export in parts but the
    # first, so a joined file has the header once.
    open_encoder: Callable[..., Encoder]
    # The fields read from the database, from the ones requested (the fine-tuning format reads
    # the payloads it needs, whatever was asked for).
    source_fields: Callable[[list[ExportField]], list[ExportField]] = list

    @property
    def extension(self) -> str:
        return self.name
