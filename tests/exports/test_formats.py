"""Each format's file, read back with the tool a user would use, holds the JSONL export's
values: csv module, pyarrow, the fine-tuning rules; on both of the writer's paths."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime

import pytest
from django.db import connection

from exports.fields import ALL_FIELD_NAMES, FIELD_CATALOGUE_VERSION
from exports.formats import FORMATS_BY_NAME, parquet
from tests.exports.format_readers import (
    assert_csv_matches_jsonl,
    assert_parquet_matches_jsonl,
    create_chat_logs,
    expected_examples,
    finetune_rule_breaks,
    same_example,
)
from tests.exports.test_writer import MemorySink, export_bytes
from tests.nasty import create_nasty_logs

pytestmark = pytest.mark.django_db(transaction=True)

PATHS = [
    pytest.param(True, id="copy", marks=pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the fast path is PostgreSQL's")),
    pytest.param(False, id="portable"),
]
SOME_FIELDS = ["id", "created_at", "config", "cost", "status_code", "metadata", "is_success"]


@pytest.fixture
def nasty(seeded):
    create_nasty_logs(seeded, start=datetime(2030, 1, 1, tzinfo=UTC))
    return seeded


def write(workspace, file_format, *, fields=ALL_FIELD_NAMES, fast_path=None, limit=1000):
    from exports.writer import write_export

    sink = MemorySink()
    result = write_export(workspace_id=workspace.id, filters={}, field_names=list(fields),
                          limit=limit, offset=0, file_format=file_format, sink=sink,
                          checkpoint=lambda rows: None, fast_path=fast_path)
    return sink.data, result


@pytest.mark.parametrize("fast_path", PATHS)
@pytest.mark.parametrize("fields", [ALL_FIELD_NAMES, SOME_FIELDS, ["trace_id"]])
def test_csv_reads_back_to_the_jsonl_values(nasty, fast_path, fields):
    jsonl = export_bytes(nasty, fields=fields, fast_path=fast_path)
    data, result = write(nasty, "csv", fields=fields, fast_path=fast_path)
    assert assert_csv_matches_jsonl(data, jsonl, list(fields)) == result.rows == 307
    packed, _ = write(nasty, "csv.gz", fields=fields, fast_path=fast_path)
    assert packed[:2] == b"\x1f\x8b" and gzip.decompress(packed) == data


def test_csv_quotes_as_rfc_4180_and_tells_null_from_empty(workspace):
    from logs.models import Log

    Log.objects.create(workspace=workspace, trace_id='a "b", c\nd', config=None, prompt_slug="")
    data, _ = write(workspace, "csv", fields=["trace_id", "config", "prompt_slug"])
    assert data == b'trace_id,config,prompt_slug\n"a ""b"", c\nd",,""\n'


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the fast path is PostgreSQL's")
def test_csv_is_the_same_bytes_from_copy_and_from_python(nasty):
    for fields in (ALL_FIELD_NAMES, ["metadata", "id"], ["trace_id"]):
        assert write(nasty, "csv", fields=fields, fast_path=True)[0] == \
            write(nasty, "csv", fields=fields, fast_path=False)[0]


@pytest.mark.parametrize("fast_path", PATHS)
def test_parquet_has_typed_columns_holding_the_jsonl_values(nasty, fast_path):
    import pyarrow.parquet as pq

    jsonl = export_bytes(nasty, fast_path=fast_path)
    data, result = write(nasty, "parquet", fast_path=fast_path)
    assert data[:4] == b"PAR1" and data[-4:] == b"PAR1"
    assert assert_parquet_matches_jsonl(data, jsonl, list(ALL_FIELD_NAMES)) == result.rows == 307
    metadata = pq.read_metadata(io.BytesIO(data))
    assert metadata.metadata[b"log_exports.fields_version"] == str(FIELD_CATALOGUE_VERSION).encode()
    assert metadata.row_group(0).column(0).compression == "ZSTD"


def test_parquet_is_written_in_row_groups_and_reads_as_one_table(nasty, monkeypatch):
    import pyarrow.parquet as pq

    monkeypatch.setattr(parquet, "ROW_GROUP_BYTES", 64 * 1024)
    monkeypatch.setattr("exports.writer.CHECKPOINT_ROWS", 50)
    data, result = write(nasty, "parquet")
    metadata = pq.read_metadata(io.BytesIO(data))
    assert metadata.num_row_groups > 3
    assert metadata.num_rows == result.rows == 307
    jsonl = export_bytes(nasty)
    assert assert_parquet_matches_jsonl(data, jsonl, list(ALL_FIELD_NAMES)) == 307


@pytest.mark.parametrize("fast_path", PATHS)
def test_finetune_lines_pass_the_format_rules_and_skipped_logs_are_counted(seeded, fast_path):
    counts = create_chat_logs(seeded)
    jsonl = export_bytes(seeded, fields=["request", "response", "status_code"],
                         fast_path=fast_path)
    # The fields chosen do not matter: the format reads the payloads it needs.
    data, result = write(seeded, "finetune.jsonl", fields=["id"], fast_path=fast_path)
    examples = [json.loads(line) for line in data.decode("utf-8").split("\n")[:-1]]
    assert all(finetune_rule_breaks(example) == [] for example in examples)
    expected, skipped = expected_examples(jsonl)
    # The seeded logs are chat completions too: their 2xx ones are examples, the rest skipped.
    assert (result.rows, result.skipped) == (len(expected), skipped)
    assert result.rows + result.skipped == 300 + counts["usable"] + counts["skipped"]
    assert skipped >= counts["skipped"]
    assert all(same_example(mine, theirs) for mine, theirs in zip(examples, expected,
                                                                  strict=True))
    with_tools = [example for example in examples if "tools" in example]
    assert len(with_tools) == 2
    assert with_tools[1]["messages"][-1]["tool_calls"][0]["id"] == "call_1"
    assert not any("refusal" in message or "annotations" in message
                   for example in examples for message in example["messages"])


@pytest.mark.parametrize("file_format", sorted(FORMATS_BY_NAME))
def test_an_empty_export_is_a_valid_empty_file_in_every_format(workspace, file_format):
    import pyarrow.parquet as pq

    data, result = write(workspace, file_format, fields=["id", "cost"])
    assert (result.rows, result.skipped) == (0, 0)
    if file_format == "parquet":
        table = pq.read_table(io.BytesIO(data))
        assert (table.num_rows, table.column_names) == (0, ["id", "cost"])
    elif file_format.startswith("csv"):
        text = gzip.decompress(data) if file_format.endswith(".gz") else data
        assert text == b"id,cost\n"
    elif file_format.endswith(".gz"):
        assert gzip.decompress(data) == b""
    else:
        assert data == b""
