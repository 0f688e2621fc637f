"""Redaction on both of the writer's paths (exports.writer), with the same bytes and counts.

The values redaction reads are a row's JSON payloads and its free text (REDACTED_TEXT_FIELDS):
its loose values. Ids, names of providers and models, numbers and times are never touched.
- Portable path: Python renders every row; the redactor goes over its loose values first.
- PostgreSQL fast path: the database still builds the row's text (COPY), cut at its loose
  values: each run of other fields arrives finished, and each loose value on its own. A block
  of rows is screened at once (exports.redaction.screen: the detectors' guards in one RE2 pass
  per value, outside the GIL); only the values it lets through are read, redacted and rendered
  in Python, the others go out as they came.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from exports.fields import ExportField
from exports.formats.base import LooseValue, RowEncoding
from exports.redaction.redactor import Redactor
from exports.redaction.screen import Screen

REDACTED_TEXT_FIELDS = frozenset({"request_url"})


def is_loose(field: ExportField) -> bool:
    return field.kind == "json" or field.name in REDACTED_TEXT_FIELDS


def redaction_step(field: ExportField, redactor: Redactor, *, canonical: bool = False
                   ) -> Callable[[str | None], str | None]:
    """canonical: the payloads come as PostgreSQL's jsonb text, which is in the canonical form,
    so they are redacted where they stand (exports.redaction.in_place), with the same result."""
    if field.kind == "json":
        return lambda text: redactor.json_text(field.name, text, canonical=canonical)
    return lambda text: None if text is None else redactor.text(text)


def redacting(fields: list[ExportField], render: Callable[[Sequence], str],
              redactor: Redactor) -> Callable[[Sequence], str]:
    """The portable path: render() after the redactor has gone over the row's loose values."""
    steps = [(index, redaction_step(field, redactor))
             for index, field in enumerate(fields) if is_loose(field)]

    def redacted(row: Sequence) -> str:
        values = list(row)
        for index, step in steps:
            values[index] = step(values[index])
        return render(values)

    return redacted


class CutRows:
    """The fast path: rows of the format's cut SQL columns (segment, loose, ..., segment) as
    UTF-8 bytes, turned into blocks of the file's rows."""

    def __init__(self, fields: list[ExportField], rows: RowEncoding, redactor: Redactor):
        loose = [field for field in fields if is_loose(field)]
        self.slots: list[tuple[str, LooseValue, Callable]] = [
            (field.name, rows.loose_value(field, fields),
             redaction_step(field, redactor, canonical=True))
            for field in loose]
        self.screen = Screen(redactor)

    def screened(self, rows: Sequence[Sequence[bytes | None]]) -> list[list[bool]]:
        """For each loose value of each row (by slot): whether the redactor could change it."""
        return self.screen.flags([(name, [row[2 * slot + 1] for row in rows])
                                  for slot, (name, _, _) in enumerate(self.slots)])

    def block(self, rows: Sequence[Sequence[bytes | None]], flags: list[list[bool]]) -> bytes:
        """The file's bytes for a block of rows, screened."""
        width = 2 * len(self.slots) + 1
        out: list[bytes | None] = [None] * (len(rows) * width)
        for at in range(0, width, 2):  # the segments, as the database wrote them
            out[at::width] = [row[at] for row in rows]
        for slot, (_, value, step) in enumerate(self.slots):
            unchanged, read, piece = value.unchanged, value.read, value.piece
            at = 2 * slot + 1
            out[at::width] = [piece(step(read(row[at]))) if needed else unchanged(row[at])
                              for row, needed in zip(rows, flags[slot], strict=True)]
        return b"".join(out)  # type: ignore[arg-type]  # every place is filled

    def blocks(self, rows: Iterable[Sequence[bytes | None]], *, block_rows: int,
               block_bytes: int) -> Iterator[tuple[bytes, int]]:
        """The file's blocks. Each block is screened on a thread of its own while the next one
        streams in (Arrow's compute runs without the GIL), then redacted and joined here."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-screen") as screening:
            waiting: tuple[list, Future] | None = None
            for pending in _gathered(rows, block_rows, block_bytes):
                screened = screening.submit(self.screened, pending)
                if waiting is not None:
                    yield self.block(waiting[0], waiting[1].result()), len(waiting[0])
                waiting = (pending, screened)
            if waiting is not None:
                yield self.block(waiting[0], waiting[1].result()), len(waiting[0])


def _gathered(rows: Iterable[Sequence[bytes | None]], block_rows: int,
              block_bytes: int) -> Iterator[list[Sequence[bytes | None]]]:
    pending: list[Sequence[bytes | None]] = []
    size = 0
    for row in rows:
        pending.append(row)
        size += sum(map(len, filter(None, row)))
        if len(pending) >= block_rows or size >= block_bytes:
            yield pending
            pending, size = [], 0
    if pending:
        yield pending
