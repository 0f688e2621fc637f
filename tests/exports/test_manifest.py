"""exports.manifest: an export written as parts (planned, written, joined) gets a manifest that
matches its file; `verify` and `manage.py exports_verify` pass on it and name the part a changed
byte is in, on the filesystem and on S3 (SeaweedFS)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from exports.fields import FIELD_CATALOGUE_VERSION
from exports.joining import StoredPart, join_parts, open_file_sink, part_name
from exports.manifest import PartFacts, build_manifest, verify
from exports.models import ExportJob, ExportPart
from exports.parts import part_queryset, part_rows, plan_parts
from exports.storage import export_storage
from exports.writer import write_export
from tests.conftest import ROOT, _database_url
from tests.exports.s3_server import BUCKET
from tests.exports.test_joining import _parquet_part, _stored

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = ["id", "created_at", "ai_model", "total_tokens"]



def _export_in_parts(workspace, *, offset: int = 10, limit: int = 290) -> ExportJob:
    """What the wired-up export will do, block by block: plan, write each part to its own
    object, join, build the manifest."""
    export = ExportJob.objects.create(
        workspace=workspace, filters={}, requested_data=FIELDS, limit=limit, offset=offset,
        format="jsonl", file_name=f"{workspace.slug}/export.jsonl", started_at=timezone.now())
    ranges = plan_parts(workspace_id=workspace.id, filters={}, offset=offset, limit=limit,
                        part_logs=100)
    ExportPart.objects.bulk_create(part_rows(export, ranges))
    stored = []
    for part, planned in zip(export.parts.order_by("index"), ranges, strict=True):
        part.file_name = part_name(export.file_name, part.index, attempt=1)
        sink = open_file_sink(part.file_name, file_format="jsonl")
        written = write_export(workspace_id=workspace.id, filters={}, field_names=FIELDS,
                               limit=planned.rows, offset=planned.offset, file_format="jsonl",
                               sink=sink, checkpoint=lambda rows: None)
        sink.commit()
        logs = part_queryset(workspace_id=workspace.id, filters={}, after=planned.after,
                             through=planned.through)
        part.rows_written, part.file_size, part.sha256 = written.rows, sink.bytes_written, \
            sink.sha256
        part.first_created_at = logs.first().created_at
        part.last_created_at = planned.through.created_at
        part.status = ExportPart.Status.SUCCESS
        part.save()
        stored.append(part)
    joined = join_parts(file_name=export.file_name,
                        parts=[StoredPart(part.file_name, part.file_size) for part in stored],
                        file_format="jsonl")
    export.manifest = build_manifest(export=export, parts=[PartFacts.of(p) for p in stored],
                                     joined=joined)
    export.file_size, export.sha256, export.part_count = joined.bytes, joined.sha256, len(stored)
    export.save()
    return export


def _replace_stored(name: str, data: bytes, backend) -> None:
    if backend is None:
        with open(export_storage().path(name), "wb") as target:
            target.write(data)
        return
    client, prefix = backend
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/{name}", Body=data)


def test_the_manifest_matches_the_joined_file(seeded, export_backend):
    export = _export_in_parts(seeded)

    manifest = export.manifest
    data = _stored(export.file_name)
    lines = [json.loads(line) for line in data.splitlines()]
    assert len(lines) == manifest["rows"] == 290
    assert manifest["bytes"] == len(data)
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert (manifest["export_id"], manifest["workspace"]) == (
        str(export.id), {"id": str(seeded.id), "slug": "main"})
    assert (manifest["fields"], manifest["format"], manifest["filters"]) == (FIELDS, "jsonl", {})
    assert manifest["schema_version"] == FIELD_CATALOGUE_VERSION
    assert manifest["rows_skipped"] == 0
    assert manifest["started_at"] and manifest["finished_at"]
    assert [part["offset"] for part in manifest["parts"]] == [10, 110, 210]
    assert [part["rows"] for part in manifest["parts"]] == [100, 100, 90]
    for part in manifest["parts"]:
        piece = data[part["byte_offset"] : part["byte_offset"] + part["bytes"]]
        assert hashlib.sha256(piece).hexdigest() == part["sha256"]
        rows = [json.loads(line) for line in piece.splitlines()]
        assert len(rows) == part["rows"]
        assert rows[0]["created_at"] == part["first_created_at"]
        assert rows[-1]["created_at"] == part["last_created_at"]
    assert json.loads(json.dumps(manifest)) == manifest  # stored and served as JSON as it is

    assert verify(export).ok


def test_one_changed_byte_fails_verify_naming_its_part(seeded, export_backend):
    export = _export_in_parts(seeded)
    data = bytearray(_stored(export.file_name))
    part = export.manifest["parts"][2]
    data[part["byte_offset"] + 40] ^= 0x01  # same size, one bit
    _replace_stored(export.file_name, bytes(data), export_backend)

    result = verify(export)

    assert not result.ok and result.part == 2
    assert result.message.startswith(f"part 2: bytes {part['byte_offset']}-")


def test_a_truncated_file_names_the_part_it_ends_in(seeded, export_storage_dir):
    export = _export_in_parts(seeded)
    data = _stored(export.file_name)
    cut = export.manifest["parts"][1]["byte_offset"] + 3
    _replace_stored(export.file_name, data[:cut], None)

    result = verify(export)

    assert (result.ok, result.part) == (False, 1)
    assert result.message.startswith(f"part 1: the file ends at byte {cut}, inside the part")


def test_exports_verify_command_exit_status_and_message(seeded, export_storage_dir):
    export = _export_in_parts(seeded)

    def command() -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 - fixed arguments
            [sys.executable, str(ROOT / "manage.py"), "exports_verify", str(export.id)],
            env={**os.environ, "DATABASE_URL": _database_url(),
                 "EXPORTS_STORAGE": "filesystem", "EXPORTS_STORAGE_DIR": str(export_storage_dir)},
            cwd=ROOT, capture_output=True, text=True, timeout=60)

    passed = command()
    assert passed.returncode == 0, passed.stderr
    assert f"export {export.id}: 290 rows" in passed.stdout
    data = bytearray(_stored(export.file_name))
    data[export.manifest["parts"][0]["byte_offset"] + 7] ^= 0x01
    _replace_stored(export.file_name, bytes(data), None)

    failed = command()
    assert failed.returncode == 1
    assert "part 0: bytes 0-" in failed.stderr
    with pytest.raises(CommandError, match="^export_id: no export 'nope'"):
        call_command("exports_verify", "nope")


def test_a_parquet_file_is_verified_by_row_groups_and_checksum(workspace, export_backend):
    export = ExportJob.objects.create(workspace=workspace, requested_data=["id"], limit=355,
                                      format="jsonl", file_name="main/export.parquet")
    blobs = [_parquet_part(0, 250, 100), _parquet_part(250, 100, 100), _parquet_part(350, 5, 100)]
    facts, stored = [], []
    for index, (blob, rows) in enumerate(zip(blobs, [250, 100, 5], strict=True)):
        sink = open_file_sink(part_name(export.file_name, index, attempt=1), file_format="parquet")
        sink.write(blob)
        sink.commit()
        stored.append(StoredPart(part_name(export.file_name, index, attempt=1), len(blob)))
        facts.append(PartFacts(index=index, rows=rows, rows_skipped=0, bytes=len(blob),
                               sha256=hashlib.sha256(blob).hexdigest(), first_created_at=None,
                               last_created_at=None))
    joined = join_parts(file_name=export.file_name, parts=stored, file_format="parquet")
    export.manifest = build_manifest(export=export, parts=facts, joined=joined)

    assert [part["row_groups"] for part in export.manifest["parts"]] == [
        {"first": 0, "count": 3}, {"first": 3, "count": 1}, {"first": 4, "count": 1}]
    assert verify(export).ok

    export.manifest["parts"][1]["rows"] = 99
    result = verify(export)
    assert (result.ok, result.part) == (False, 1)
    assert result.message == "part 1: row groups 3-3 hold 100 rows, the manifest says 99"

    export.manifest["parts"][1]["rows"] = 100
    data = bytearray(_stored(export.file_name))
    data[len(data) // 3] ^= 0x01
    _replace_stored(export.file_name, bytes(data), export_backend)
    result = verify(export)
    assert not result.ok and result.message.startswith("file: sha256 ")
