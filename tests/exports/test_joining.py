"""exports.joining: part objects become one file on the filesystem and on a real S3 server
(SeaweedFS), in every format's own way, and the parts are gone afterwards."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import random
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from exports.joining import (
    StoredPart,
    join_parts,
    local_copy,
    open_file_sink,
    part_name,
    read_chunks,
)
from exports.storage import S3_MIN_PART_SIZE, export_storage
from tests.conftest import ROOT
from tests.exports.s3_server import BUCKET

pytestmark = pytest.mark.django_db(transaction=True)

FILE = "ws/export-1.bin"
MIB = 1024 * 1024



def _store_parts(blobs: list[bytes], file_format: str = "jsonl") -> list[StoredPart]:
    parts = []
    for index, blob in enumerate(blobs):
        sink = open_file_sink(part_name(FILE, index, attempt=1), file_format=file_format)
        for start in range(0, len(blob), MIB):
            sink.write(blob[start : start + MIB])
        sink.commit()
        parts.append(StoredPart(name=part_name(FILE, index, attempt=1), size=sink.bytes_written))
    return parts


def _stored(name: str) -> bytes:
    return b"".join(read_chunks(name))


def _lines(part: int, count: int) -> bytes:
    return "".join(f'{{"part": {part}, "row": {row}, "text": "naïve ✓"}}\n'
                   for row in range(count)).encode()


def test_jsonl_parts_are_appended_in_order(export_backend):
    blobs = [_lines(part, 50 + part) for part in range(4)]
    parts = _store_parts(blobs)

    result = join_parts(file_name=FILE, parts=parts, file_format="jsonl")

    joined = _stored(FILE)
    assert joined == b"".join(blobs)
    assert (result.bytes, result.sha256) == (len(joined), hashlib.sha256(joined).hexdigest())
    assert result.unit == "bytes"
    assert [joined[start : start + size] for start, size in result.extents] == blobs
    storage = export_storage()
    assert not any(storage.exists(part.name) for part in parts)


def test_gzip_members_join_into_one_file_gzip_and_gunzip_read(export_backend):
    blobs = [_lines(part, 200) for part in range(3)]
    parts = _store_parts([gzip.compress(blob) for blob in blobs], "jsonl.gz")

    join_parts(file_name=FILE, parts=parts, file_format="jsonl.gz")

    joined = _stored(FILE)
    assert gzip.decompress(joined) == b"".join(blobs)
    gunzip = subprocess.run(["gunzip", "-c"], input=joined, capture_output=True, check=True)
    assert gunzip.stdout == b"".join(blobs)


def test_csv_parts_keep_the_one_header_of_part_zero(export_storage_dir):
    rows = [["id", "text"], *([str(n), f'say "hi", {n}\nbye'] for n in range(30))]

    def csv_bytes(selected) -> bytes:
        text = io.StringIO()
        csv.writer(text).writerows(selected)
        return text.getvalue().encode()

    parts = _store_parts([csv_bytes(rows[:11]), csv_bytes(rows[11:21]), csv_bytes(rows[21:])],
                         "csv")
    join_parts(file_name=FILE, parts=parts, file_format="csv")

    assert list(csv.reader(io.StringIO(_stored(FILE).decode(), newline=""))) == rows


def _parquet_part(first: int, rows: int, group_rows: int) -> bytes:
    table = pa.table({"id": pa.array(range(first, first + rows), pa.int64()),
                      "text": [f"row {n}" for n in range(first, first + rows)]})
    table = table.replace_schema_metadata({"field_catalogue_version": "1"})
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=group_rows, compression="zstd")
    return out.getvalue()


def test_parquet_parts_become_one_file_row_group_by_row_group(export_backend):
    parts = _store_parts([_parquet_part(0, 250, 100), _parquet_part(250, 100, 100),
                          _parquet_part(350, 5, 100)], "parquet")

    result = join_parts(file_name=FILE, parts=parts, file_format="parquet")

    with local_copy(FILE) as path:
        joined = pq.ParquetFile(path)
        assert joined.read().column("id").to_pylist() == list(range(355))
        assert [joined.metadata.row_group(n).num_rows for n in range(joined.num_row_groups)] == [
            100, 100, 50, 100, 5]
        assert joined.schema_arrow.metadata[b"field_catalogue_version"] == b"1"
        assert joined.metadata.row_group(0).column(0).compression == "ZSTD"
        with open(path, "rb") as raw:
            assert hashlib.sha256(raw.read()).hexdigest() == result.sha256
    assert result.unit == "row_groups" and result.extents == [(0, 3), (3, 1), (4, 1)]
    assert not any(export_storage().exists(part.name) for part in parts)


def _random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def test_s3_copies_parts_of_5_mib_and_more_without_reading_them(s3_storage):
    blobs = [_random_bytes(6 * MIB, 1), _random_bytes(5 * MIB + 7, 2), _random_bytes(1000, 3)]
    parts = _store_parts(blobs)

    result = join_parts(file_name=FILE, parts=parts, file_format="jsonl")

    assert result.s3_upload_parts == [("copy", 6 * MIB), ("copy", 5 * MIB + 7), ("copy", 1000)]
    assert result.bytes_through_worker == 0
    joined = b"".join(blobs)
    assert _stored(FILE) == joined
    assert result.sha256 == hashlib.sha256(joined).hexdigest()


def test_s3_reads_and_uploads_parts_under_5_mib_holding_at_most_5_mib(s3_storage):
    blobs = [_random_bytes(size, seed) for seed, size in enumerate(
        [100_000, 3 * MIB, 7 * MIB, 200, 2 * MIB, 6 * MIB, 10])]
    parts = _store_parts(blobs)

    result = join_parts(file_name=FILE, parts=parts, file_format="jsonl")

    joined = b"".join(blobs)
    assert _stored(FILE) == joined
    assert result.sha256 == hashlib.sha256(joined).hexdigest()
    sizes = [size for _, size in result.s3_upload_parts]
    assert sum(sizes) == len(joined)
    assert all(size >= S3_MIN_PART_SIZE for size in sizes[:-1])  # what S3 requires
    kinds = [kind for kind, _ in result.s3_upload_parts]
    assert "copy" in kinds and "upload" in kinds  # the big rest of a part is still copied
    assert all(size <= S3_MIN_PART_SIZE for kind, size in result.s3_upload_parts
               if kind == "upload")  # the worker never buffers more than 5 MiB
    # 100 kB + 3 MiB wait, topped up from the 7 MiB part whose 4.9 MiB rest is copied; 200 B +
    # 2 MiB wait, topped up from the 6 MiB part, whose 3 MiB rest waits for the last 10 B.
    head = 5 * MIB - 100_000 - 3 * MIB
    top_up = 5 * MIB - 200 - 2 * MIB
    assert result.s3_upload_parts == [
        ("upload", 5 * MIB), ("copy", 7 * MIB - head), ("upload", 5 * MIB),
        ("upload", 6 * MIB - top_up + 10)]
    assert result.bytes_through_worker == len(joined) - (7 * MIB - head)


def test_a_failed_s3_join_leaves_no_file_no_upload_and_the_parts(s3_storage):
    client, prefix = s3_storage[:2]
    parts = _store_parts([_lines(0, 10), _lines(1, 10)])
    missing = StoredPart(name=part_name(FILE, 9, attempt=1), size=100)

    with pytest.raises(Exception, match="NoSuchKey|Not Found|404|does not exist"):
        join_parts(file_name=FILE, parts=[*parts, missing], file_format="jsonl")

    storage = export_storage()
    assert not storage.exists(FILE)
    assert all(storage.exists(part.name) for part in parts)
    uploads = client.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix + "/")
    assert uploads.get("Uploads", []) == []


def test_join_refuses_no_parts_and_an_unknown_format(export_storage_dir):
    with pytest.raises(ValueError, match="^parts:"):
        join_parts(file_name=FILE, parts=[], file_format="jsonl")
    parts = _store_parts([b"x"])
    with pytest.raises(ValueError, match="^file_format:"):
        join_parts(file_name=FILE, parts=parts, file_format="xlsx")



JOIN_AND_MEASURE = """
import json, os
import pyarrow as pa
from exports.joining import StoredPart, join_parts
parts = [StoredPart(name, size) for name, size in json.loads(os.environ["JOIN_PARTS"])]
join_parts(file_name="big.parquet", parts=parts, file_format="parquet")
print(pa.default_memory_pool().max_memory())
"""


def _parquet_join_peak(storage_dir, *, rows: int, groups: int, part_count: int) -> int:
    """Peak Arrow memory of joining the parts, in a process of its own."""
    table = pa.table({"id": pa.array(range(rows * groups), pa.int64()),
                      "text": [f"{n:08d} " + "x" * 90 for n in range(rows * groups)]})
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=rows, compression="zstd")
    parts = _store_parts([out.getvalue()] * part_count, "parquet")
    env = {**os.environ, "EXPORTS_STORAGE": "filesystem", "EXPORTS_STORAGE_DIR": str(storage_dir),
           "JOIN_PARTS": json.dumps([(part.name, part.size) for part in parts])}
    joined = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", JOIN_AND_MEASURE], env=env,
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert joined.returncode == 0, joined.stderr
    assert pq.ParquetFile(storage_dir / "big.parquet").metadata.num_rows == \
        rows * groups * part_count
    return int(joined.stdout.strip().splitlines()[-1])


def test_a_parquet_join_holds_a_few_row_groups_in_memory_at_any_size(export_storage_dir):
    rows, groups = 20_000, 8  # row groups of ~2.3 MB uncompressed
    small = _parquet_join_peak(export_storage_dir, rows=rows, groups=groups, part_count=2)
    large = _parquet_join_peak(export_storage_dir, rows=rows, groups=groups, part_count=10)
    print(f"peak Arrow memory: {small:,} B joining 2 parts, {large:,} B joining 10")
    assert large < 1.3 * small  # flat: five times the data, about the same memory
    assert large < 20 * 1024 * 1024  # the 10 parts hold ~180 MB uncompressed
