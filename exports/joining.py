"""Joining an export's part objects into its one file, where the files are stored.

Every part of an export is written by its own RQ job into an object of its own (`part_name`);
once all are written one worker joins them. No web process ever carries the bytes.

- jsonl, jsonl.gz, csv, csv.gz, finetune.jsonl: the file is the parts' bytes one after another.
  Lines need nothing more; a CSV header is written by part 0 alone; gzip members concatenated
  are one valid multi-member gzip file (RFC 1952 2.2; Python's gzip and `gunzip` read them).
  - filesystem: appended into a temporary file, fsynced, renamed into place (exports.storage's
    FileSystemSink), hashed on the way.
  - S3: one multipart upload whose parts are UploadPartCopy of the part objects, so S3 copies
    the bytes itself. S3 wants every upload part but the last to hold at least 5 MiB: where a
    part object is smaller, its bytes (and as much of the next one as fills 5 MiB) are read by
    the worker and uploaded; memory holds at most 5 MiB. The file's sha256 then needs one read
    of the joined object (a digest cannot be carried over from part digests: sha256 is one
    sequential pass, and the parts were hashed on different workers); reading the joined object
    back checks what S3 actually holds, for the same cost as reading the parts.
- parquet: a Parquet file ends with one footer describing all of its row groups, so parts cannot
  be concatenated. Their row groups are rewritten into one file, one row group at a time (flat
  memory), through the same sinks as any export file, hashed on the way.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from django.core.files.storage import FileSystemStorage, Storage
from storages.utils import clean_name

from exports.storage import (
    CONTENT_TYPES,
    S3_MIN_PART_SIZE,
    FileSystemSink,
    HashingSink,
    S3MultipartSink,
    export_storage,
)

CHUNK = 1024 * 1024
BYTE_FORMATS = frozenset({"jsonl", "jsonl.gz", "csv", "csv.gz", "finetune.jsonl"})
ROW_GROUP_FORMATS = frozenset({"parquet"})


@dataclass(frozen=True)
class StoredPart:
    """A part's object as its writer left it: name and size in bytes."""

    name: str
    size: int


@dataclass
class JoinResult:
    bytes: int
    sha256: str
    # Where each part lies in the joined file: (first byte, bytes) when `unit` is "bytes",
    # (first row group, row groups) when it is "row_groups" (Parquet).
    extents: list[tuple[int, int]]
    unit: Literal["bytes", "row_groups"]
    # Bytes the worker read and uploaded itself (S3 parts under 5 MiB); 0 when S3 copied all.
    bytes_through_worker: int = 0
    # S3: the multipart upload's parts in order, ("copy" or "upload", bytes).
    s3_upload_parts: list[tuple[str, int]] = field(default_factory=list)


def part_name(file_name: str, index: int, *, attempt: int) -> str:
    """The object attempt `attempt` of part `index` of the file `file_name` is written to: one
    name per attempt, so an attempt taken for dead that still writes can not touch the object
    of the attempt that replaced it. (The name starts with the file's, so exports.reconciler's
    sweep of unfinished files finds it under the export's own attempt.)"""
    return f"{file_name}.p{index:05d}-{attempt}"


def _s3_key(storage: Any, name: str) -> str:
    return storage._normalize_name(clean_name(name))


def _content_type(file_format: str) -> str:
    return CONTENT_TYPES.get(file_format, "application/octet-stream")


def open_file_sink(name: str, *, file_format: str) -> HashingSink:
    """A sink for the file `name` in the export storage, whatever the format."""
    storage = export_storage()
    if isinstance(storage, FileSystemStorage):
        return HashingSink(FileSystemSink(storage, name))
    return HashingSink(S3MultipartSink(storage, name, _content_type(file_format)))


def read_chunks(name: str, *, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The stored object's bytes [start, end) in chunks of about 1 MiB, never all at once."""
    storage = export_storage()
    if isinstance(storage, FileSystemStorage):
        with open(storage.path(name), "rb") as source:
            source.seek(start)
            left = None if end is None else end - start
            while left is None or left > 0:
                chunk = source.read(CHUNK if left is None else min(CHUNK, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk
        return
    if end is not None and end <= start:
        return
    span = f"bytes={start}-{'' if end is None else end - 1}"
    answer = storage.connection.meta.client.get_object(
        Bucket=storage.bucket_name, Key=_s3_key(storage, name), Range=span)
    body = answer["Body"]
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


@contextmanager
def local_copy(name: str) -> Iterator[str]:
    """A path to the object's bytes on this host: its own file, or a temporary download (for
    readers that seek, such as a Parquet footer's)."""
    storage = export_storage()
    if isinstance(storage, FileSystemStorage):
        yield storage.path(name)
        return
    with tempfile.NamedTemporaryFile(suffix=".part") as copy:
        storage.connection.meta.client.download_fileobj(
            storage.bucket_name, _s3_key(storage, name), copy)
        copy.flush()
        yield copy.name


def _join_bytes_through_sink(file_name: str, parts: list[StoredPart],
                             file_format: str) -> JoinResult:
    sink = open_file_sink(file_name, file_format=file_format)
    extents = []
    try:
        for part in parts:
            start = sink.bytes_written
            for chunk in read_chunks(part.name):
                sink.write(chunk)
            extents.append((start, sink.bytes_written - start))
        sink.commit()
    except BaseException:
        sink.abort()
        raise
    return JoinResult(bytes=sink.bytes_written, sha256=sink.sha256, extents=extents, unit="bytes")


class _S3Join:
    """One multipart upload assembled from the part objects (see the module's note)."""

    def __init__(self, storage: Any, file_name: str, file_format: str):
        self.client = storage.connection.meta.client
        self.bucket = storage.bucket_name
        self.storage = storage
        self.key = _s3_key(storage, file_name)
        self.upload_id = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=self.key, ContentType=_content_type(file_format))["UploadId"]
        self.etags: list[dict] = []
        self.kinds: list[tuple[str, int]] = []
        self.buffer = bytearray()
        self.through_worker = 0

    def _number(self) -> int:
        return len(self.etags) + 1

    def copy(self, name: str, start: int, end: int) -> None:
        answer = self.client.upload_part_copy(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
            PartNumber=self._number(), CopySourceRange=f"bytes={start}-{end - 1}",
            CopySource={"Bucket": self.bucket, "Key": _s3_key(self.storage, name)})
        self.etags.append({"ETag": answer["CopyPartResult"]["ETag"], "PartNumber": self._number()})
        self.kinds.append(("copy", end - start))

    def flush(self) -> None:
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
            PartNumber=self._number(), Body=bytes(self.buffer))
        self.through_worker += len(self.buffer)
        self.etags.append({"ETag": answer["ETag"], "PartNumber": self._number()})
        self.kinds.append(("upload", len(self.buffer)))
        self.buffer = bytearray()

    def add(self, part: StoredPart, *, last: bool) -> None:
        position = 0
        while position < part.size:
            rest = part.size - position
            if not self.buffer and (rest >= S3_MIN_PART_SIZE or last):
                self.copy(part.name, position, part.size)
                return
            # Too small to stand alone: its bytes wait in the buffer, topped up to 5 MiB.
            take = min(rest, S3_MIN_PART_SIZE - len(self.buffer))
            for chunk in read_chunks(part.name, start=position, end=position + take):
                self.buffer += chunk
            position += take
            if len(self.buffer) >= S3_MIN_PART_SIZE:
                self.flush()

    def complete(self) -> None:
        if self.buffer or not self.etags:  # the last upload part may be small, or empty
            self.flush()
        self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
            MultipartUpload={"Parts": self.etags})

    def abort(self) -> None:
        self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key,
                                           UploadId=self.upload_id)


def _join_bytes_on_s3(storage: Storage, file_name: str, parts: list[StoredPart],
                      file_format: str) -> JoinResult:
    join = _S3Join(storage, file_name, file_format)
    try:
        for index, part in enumerate(parts):
            join.add(part, last=index == len(parts) - 1)
        join.complete()
    except BaseException:
        join.abort()
        raise
    digest, size = hashlib.sha256(), 0
    for chunk in read_chunks(file_name):
        digest.update(chunk)
        size += len(chunk)
    extents, start = [], 0
    for part in parts:
        extents.append((start, part.size))
        start += part.size
    if size != start:
        raise RuntimeError(f"the joined object holds {size} bytes, its parts {start}")
    return JoinResult(bytes=size, sha256=digest.hexdigest(), extents=extents, unit="bytes",
                      bytes_through_worker=join.through_worker, s3_upload_parts=join.kinds)


class _SinkFile:
    """The file-like object pyarrow writes to: a sink, which pyarrow must not close."""

    closed = False

    def __init__(self, sink: HashingSink):
        self.sink = sink

    def write(self, data) -> int:
        self.sink.write(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def _join_parquet(file_name: str, parts: list[StoredPart]) -> JoinResult:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = open_file_sink(file_name, file_format="parquet")
    writer, extents, groups = None, [], 0
    try:
        for part in parts:
            with local_copy(part.name) as path:
                source = pq.ParquetFile(path)
                if writer is None:  # the first part's schema, with its metadata (catalogue)
                    writer = pq.ParquetWriter(pa.PythonFile(_SinkFile(sink), mode="w"),
                                              source.schema_arrow, compression="zstd")
                for group in range(source.num_row_groups):
                    table = source.read_row_group(group)
                    # One row group in, one out: a part's rows stay countable by row group.
                    writer.write_table(table, row_group_size=max(1, table.num_rows))
                extents.append((groups, source.num_row_groups))
                groups += source.num_row_groups
        if writer is not None:
            writer.close()
        sink.commit()
    except BaseException:
        sink.abort()
        raise
    return JoinResult(bytes=sink.bytes_written, sha256=sink.sha256, extents=extents,
                      unit="row_groups")


def join_parts(*, file_name: str, parts: list[StoredPart], file_format: str) -> JoinResult:
    """Joins the part objects, in order, into the file `file_name`, then removes them.

    The file appears under its name only once complete; a failure leaves the parts in place
    (the join can run again) and no file."""
    if not parts:
        raise ValueError("parts: an export file is joined from one part at least")
    storage = export_storage()
    if file_format in ROW_GROUP_FORMATS:
        result = _join_parquet(file_name, parts)
    elif file_format not in BYTE_FORMATS:
        raise ValueError(f"file_format: {file_format!r} has no join")
    elif isinstance(storage, FileSystemStorage):
        result = _join_bytes_through_sink(file_name, parts, file_format)
    else:
        result = _join_bytes_on_s3(storage, file_name, parts, file_format)
    for part in parts:
        storage.delete(part.name)
    return result
