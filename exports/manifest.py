"""The manifest of an export file, and checking a stored file against it.

The manifest says what the file holds and how to prove it: the export's request (filters,
fields, format, field catalogue version), its totals (rows, rows skipped, bytes, the file's
sha256) and every part's place in it. For the formats whose parts are byte ranges of the file
(everything but Parquet) each part has its byte range and the sha256 its writer computed, so a
re-read names the part a changed byte is in. A Parquet file is rewritten when joined, so there a
part is its row groups, checked by their row counts, and the file by its sha256.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils import timezone

from exports.fields import FIELD_CATALOGUE_VERSION
from exports.joining import JoinResult, local_copy, read_chunks
from exports.models import ExportJob, ExportPart
from exports.parts import part_bounds, part_queryset
from exports.redaction.rules import normalise_redaction

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class PartFacts:
    """What a part's writer recorded: the manifest's source for one part."""

    index: int
    rows: int
    rows_skipped: int
    bytes: int
    sha256: str
    first_created_at: datetime | None
    last_created_at: datetime | None
    redaction_counts: dict = field(default_factory=dict)

    @classmethod
    def of(cls, part: ExportPart) -> PartFacts:
        return cls(index=part.index, rows=part.rows_written, rows_skipped=part.rows_skipped,
                   bytes=part.file_size or 0, sha256=part.sha256,
                   first_created_at=part.first_created_at, last_created_at=part.last_created_at,
                   redaction_counts=part.redaction_counts or {})


def _stamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build_manifest(*, export: ExportJob, parts: Sequence[PartFacts], joined: JoinResult,
                   finished_at: datetime | None = None) -> dict:
    """The manifest of the export's joined file (a JSON-ready dict), parts in index order."""
    if [part.index for part in parts] != list(range(len(parts))) or \
            len(parts) != len(joined.extents):
        raise ValueError("parts: one per extent of the joined file, indexed 0, 1, 2, ...")
    entries, position = [], export.offset
    for part, (first, count) in zip(parts, joined.extents, strict=True):
        entry = {
            "index": part.index,
            # Where the part's first log stands in the matching logs: a skipped log (the
            # fine-tuning format's) still takes its place in the slice.
            "offset": position,
            "rows": part.rows,
            "rows_skipped": part.rows_skipped,
            "bytes": part.bytes,
            "sha256": part.sha256,
            "first_created_at": _stamp(part.first_created_at),
            "last_created_at": _stamp(part.last_created_at),
        }
        if joined.unit == "bytes":
            if count != part.bytes:
                raise ValueError(f"part {part.index}: {part.bytes} bytes written, "
                                 f"{count} joined")
            entry["byte_offset"] = first
        else:
            entry["row_groups"] = {"first": first, "count": count}
        entries.append(entry)
        position += part.rows + part.rows_skipped
    return {
        "manifest_version": MANIFEST_VERSION,
        "export_id": str(export.id),
        "workspace": {"id": str(export.workspace_id), "slug": export.workspace.slug},
        "filters": export.filters,
        "fields": list(export.requested_data),
        "format": export.format,
        "schema_version": FIELD_CATALOGUE_VERSION,
        "offset": export.offset,
        "limit": export.limit,
        "rows": sum(part.rows for part in parts),
        "rows_skipped": sum(part.rows_skipped for part in parts),
        "redaction": export.redaction or normalise_redaction(None),
        "redaction_counts": summed_counts(part.redaction_counts for part in parts),
        "bytes": joined.bytes,
        "sha256": joined.sha256,
        "parts_are": joined.unit,
        "parts": entries,
        "started_at": _stamp(export.started_at),
        "finished_at": _stamp(finished_at or timezone.now()),
    }


def created_at_span(queryset) -> tuple[datetime | None, datetime | None]:
    """The first and last created_at of a part's rows (in export order): two index seeks."""
    times = queryset.values_list("created_at", flat=True)
    return times.first(), times.last()


def summed_counts(counts: Iterable[dict]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for part in counts:
        total.update(part)
    return dict(sorted(total.items()))


def one_part_manifest(*, job: ExportJob, rows: int, file_size: int, sha256: str,
                      skipped: int = 0, redaction_counts: dict | None = None) -> dict:
    """The manifest of an export written by one job into its file directly: one part, the
    whole file. Its first and last created_at are read through the planned range."""
    first = last = None
    part = ExportPart.objects.filter(export=job, index=0).first()
    if part is not None and rows:
        after, through = part_bounds(part)
        first, last = created_at_span(part_queryset(
            workspace_id=job.workspace_id, filters=job.filters, after=after, through=through))
    facts = PartFacts(index=0, rows=rows, rows_skipped=skipped, bytes=file_size, sha256=sha256,
                      first_created_at=first, last_created_at=last,
                      redaction_counts=redaction_counts or {})
    return build_manifest(export=job, parts=[facts], joined=JoinResult(
        bytes=file_size, sha256=sha256, extents=[(0, file_size)], unit="bytes"))


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    message: str
    part: int | None = None  # the part the first mismatch is in, when it is in one


def _check_byte_parts(name: str, manifest: dict) -> tuple[VerifyResult | None, int, str]:
    """Streams the file once: each part's byte range against its sha256, and the whole file's
    size and sha256. Returns the first part that differs (or None), the size and the sha256."""
    parts = manifest["parts"]
    whole, part_digest = hashlib.sha256(), hashlib.sha256()
    at, index, failure = 0, 0, None

    def close_finished_parts() -> None:
        nonlocal index, part_digest, failure
        while index < len(parts) and at == parts[index]["byte_offset"] + parts[index]["bytes"]:
            part = parts[index]
            found = part_digest.hexdigest()
            if failure is None and found != part["sha256"]:
                end = part["byte_offset"] + part["bytes"] - 1
                failure = VerifyResult(False, (
                    f"part {index}: bytes {part['byte_offset']}-{end} have sha256 {found}, the "
                    f"manifest says {part['sha256']}"), part=index)
            index, part_digest = index + 1, hashlib.sha256()

    close_finished_parts()  # empty parts at the start
    for chunk in read_chunks(name):
        whole.update(chunk)
        view = memoryview(chunk)
        while view:
            if index == len(parts):  # bytes past the last part: the size check names them
                at += len(view)
                break
            end = parts[index]["byte_offset"] + parts[index]["bytes"]
            take = min(len(view), end - at)
            part_digest.update(view[:take])
            view, at = view[take:], at + take
            close_finished_parts()
    if failure is None and index < len(parts):
        part = parts[index]
        failure = VerifyResult(False, (
            f"part {index}: the file ends at byte {at}, inside the part (bytes "
            f"{part['byte_offset']}-{part['byte_offset'] + part['bytes'] - 1})"), part=index)
    return failure, at, whole.hexdigest()


def _check_row_group_parts(path: str, manifest: dict) -> VerifyResult | None:
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_metadata(path)
    except Exception as error:  # a changed byte in the footer: not Parquet any more
        return VerifyResult(False, f"file: not a readable Parquet file ({error})")
    groups = [metadata.row_group(n).num_rows for n in range(metadata.num_row_groups)]
    for part in manifest["parts"]:
        first, count = part["row_groups"]["first"], part["row_groups"]["count"]
        rows = sum(groups[first : first + count])
        if first + count > len(groups) or rows != part["rows"]:
            return VerifyResult(False, (
                f"part {part['index']}: row groups {first}-{first + count - 1} hold {rows} "
                f"rows, the manifest says {part['rows']}"), part=part["index"])
    return None


def verify(export: ExportJob) -> VerifyResult:
    """Re-reads the export's stored file and checks it against its manifest; the first mismatch
    is named (the part it is in, where it can be told)."""
    manifest = export.manifest
    if not manifest:
        return VerifyResult(False, f"export {export.id} has no manifest")
    if not export.file_name:
        return VerifyResult(False, f"export {export.id} has no file")
    try:
        if manifest["parts_are"] == "bytes":
            failure, size, sha256 = _check_byte_parts(export.file_name, manifest)
        else:
            with local_copy(export.file_name) as path:
                digest, size = hashlib.sha256(), 0
                with open(path, "rb") as source:
                    while chunk := source.read(1024 * 1024):
                        digest.update(chunk)
                        size += len(chunk)
                sha256 = digest.hexdigest()
                failure = _check_row_group_parts(path, manifest)
    except FileNotFoundError:
        return VerifyResult(False, f"file: {export.file_name} is not in the export storage")
    except Exception as error:
        if "NoSuchKey" in str(error) or "404" in str(error):
            return VerifyResult(False, f"file: {export.file_name} is not in the export storage")
        raise
    if failure is not None:
        return failure
    if size != manifest["bytes"]:
        return VerifyResult(False, f"file: {size} bytes, the manifest says {manifest['bytes']}")
    if sha256 != manifest["sha256"]:
        return VerifyResult(False, f"file: sha256 {sha256}, the manifest says "
                                   f"{manifest['sha256']}")
    return VerifyResult(True, (
        f"export {export.id}: {manifest['rows']} rows, {size} bytes, sha256 {sha256}; "
        f"{len(manifest['parts'])} part(s) match the manifest"))
