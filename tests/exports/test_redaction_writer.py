"""Every format of the writer applies the redaction rules: on a corpus with planted values,
none remains, no look-alike changes, and every other field equals the unredacted export's."""

from __future__ import annotations

import gzip
import io
import json

import pytest

from exports.fields import ALL_FIELD_NAMES
from exports.formats import FORMATS
from exports.redaction.detectors import DETECTORS
from tests.exports.format_readers import (
    assert_csv_matches_jsonl,
    assert_parquet_matches_jsonl,
    expected_examples,
    jsonl_records,
    same_example,
)
from tests.exports.redaction_corpus import KINDS, create_redaction_corpus
from tests.exports.test_writer import MemorySink

# PostgreSQL runs the fast path (COPY, screened blocks), SQLite the portable one.
pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]
ALL_RULES = {"detectors": list(DETECTORS), "patterns": [], "drop_keys": []}
PAYLOADS = ("request", "response", "metadata")


def write(workspace, file_format, *, redaction=None, fields=ALL_FIELD_NAMES):
    from exports.writer import write_export

    sink = MemorySink()
    result = write_export(workspace_id=workspace.id, filters={}, field_names=list(fields),
                          limit=10_000, offset=0, file_format=file_format, sink=sink,
                          checkpoint=lambda rows: None, redaction=redaction)
    return sink.data, result


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def expected_redaction(value, corpus):
    """The value with each planted value replaced by its mark, nothing else."""
    if isinstance(value, str):
        for kind in KINDS:
            for planted in corpus.planted[kind]:
                value = value.replace(planted, f"[REDACTED:{kind}]")
        return value
    if isinstance(value, dict):
        return {key: expected_redaction(item, corpus) for key, item in value.items()}
    if isinstance(value, list):
        return [expected_redaction(item, corpus) for item in value]
    return value


@pytest.fixture
def corpus(workspace):
    return create_redaction_corpus(workspace)


def test_jsonl_with_every_detector(workspace, corpus):
    plain, _ = write(workspace, "jsonl")
    redacted, result = write(workspace, "jsonl", redaction=ALL_RULES)
    before, after = jsonl_records(plain), jsonl_records(redacted)
    assert len(after) == len(before) == corpus.logs
    for old, new in zip(before, after, strict=True):
        for name in ALL_FIELD_NAMES:
            if name in PAYLOADS or name == "request_url":
                assert new[name] == expected_redaction(old[name], corpus), name
            else:
                assert new[name] == old[name], name  # ids, numbers, times never change
    text = "\n".join(s for record in after for name in PAYLOADS for s in strings(record[name]))
    for kind in KINDS:
        assert len(corpus.planted[kind]) >= 50
        assert not [value for value in corpus.planted[kind] if value in text], kind
    for other in corpus.look_alikes:
        assert plain.count(other.encode()) == redacted.count(other.encode()) > 0, other
    assert result.redaction_counts == {kind: len(corpus.planted[kind]) for kind in KINDS}


@pytest.mark.parametrize("file_format", [fmt.name for fmt in FORMATS
                                         if fmt.name not in ("jsonl", "finetune.jsonl")])
def test_every_other_format_holds_the_redacted_jsonl_values(workspace, corpus, file_format):
    reference, _ = write(workspace, "jsonl", redaction=ALL_RULES)
    data, result = write(workspace, file_format, redaction=ALL_RULES)
    assert result.redaction_counts == {kind: len(corpus.planted[kind]) for kind in KINDS}
    if file_format == "jsonl.gz":
        assert gzip.decompress(data) == reference
    elif file_format.startswith("csv"):
        assert assert_csv_matches_jsonl(data, reference, list(ALL_FIELD_NAMES)) == corpus.logs
    else:
        assert assert_parquet_matches_jsonl(data, reference,
                                            list(ALL_FIELD_NAMES)) == corpus.logs
    raw = gzip.decompress(data) if file_format.endswith(".gz") else data
    if file_format == "parquet":
        import pyarrow.parquet as pq

        raw = json.dumps(pq.read_table(io.BytesIO(data)).to_pylist(), default=str).encode()
    for kind in KINDS:
        single_line = [value for value in corpus.planted[kind] if "\n" not in value]
        assert not [value for value in single_line if value.encode() in raw], kind


def test_finetune_examples_are_redacted(workspace, corpus):
    reference, _ = write(workspace, "jsonl", redaction=ALL_RULES,
                         fields=["request", "response", "status_code"])
    data, result = write(workspace, "finetune.jsonl", redaction=ALL_RULES,
                         fields=["request", "response"])
    examples, skipped = expected_examples(reference)
    written = jsonl_records(data)
    assert len(written) == len(examples) == corpus.logs and result.skipped == skipped == 0
    for got, want in zip(written, examples, strict=True):
        assert same_example(got, want)
    text = "\n".join(strings(written))
    for kind in KINDS:
        assert not [value for value in corpus.planted[kind] if value in text], kind


def test_patterns_and_drop_keys(workspace, corpus):
    rules = {"detectors": [], "patterns": [{"name": "ticket", "regex": "ticket [0-9]+"}],
             "drop_keys": ["metadata.contact", "request.body.messages.role"]}
    data, result = write(workspace, "jsonl", redaction=rules)
    records = jsonl_records(data)
    assert all("contact" not in record["metadata"] for record in records)
    assert all("role" not in message for record in records
               for message in record["request"]["body"]["messages"])
    with_contact = sum(1 for kind in KINDS for index in range(len(corpus.planted[kind]))
                       if (index + KINDS.index(kind)) % 3 == 2)
    summaries = sum("ticket 42" in s for r in jsonl_records(write(workspace, "jsonl")[0])
                    for s in strings(r["request"]))
    assert result.redaction_counts == {"metadata.contact": with_contact,
                                       "request.body.messages.role": 2 * corpus.logs,
                                       "ticket": summaries}
