"""A redacted export gives the same bytes and counts on PostgreSQL's fast path (COPY, each row
cut at the values redaction may change, screened a block at a time) as on the portable path
(Python renders every row), in every format, with every kind of rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from exports.fields import ALL_FIELD_NAMES
from exports.formats import FORMATS
from exports.redaction.detectors import DETECTORS
from logs.models import Log
from tests.exports.redaction_corpus import create_redaction_corpus
from tests.exports.test_writer import MemorySink
from tests.nasty import NASTY_TEXT, create_nasty_logs

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="the fast path is PostgreSQL's")]

RULES = {
    "detectors": {"detectors": list(DETECTORS), "patterns": [], "drop_keys": []},
    "every rule": {"detectors": ["email", "secret"],
                   "patterns": [{"name": "ticket", "regex": "ticket [0-9]+"}],
                   "drop_keys": ["metadata.contact", "request.body.messages.role"]},
    "drop keys": {"detectors": [], "patterns": [],
                  "drop_keys": ["metadata.contact", "response.body.echo"]},
}
FIELD_SETS = [ALL_FIELD_NAMES, ["request_url"], ["trace_id", "request", "config", "is_success"],
              ["id", "cost"]]


def write(workspace, file_format, rules, fields, *, fast_path):
    from exports.writer import write_export

    sink = MemorySink()
    result = write_export(workspace_id=workspace.id, filters={}, field_names=list(fields),
                          limit=10_000, offset=0, file_format=file_format, sink=sink,
                          checkpoint=lambda rows: None, fast_path=fast_path, redaction=rules)
    return sink.data, result


@pytest.fixture
def logs(workspace):
    """The planted corpus, the nasty payloads and text cells CSV must quote or leave empty,
    over 500 rows so the fast path screens more than one block."""
    create_redaction_corpus(workspace)
    create_nasty_logs(workspace, start=datetime(2030, 1, 1, tzinfo=UTC))
    odd = ["", "a,b", 'say "hi"', "line\nbreak", "cr\rhere", "\\.", None, "+1 415 555 0134",
           "mail jane@example.com", NASTY_TEXT, "٣٣٣-٣٣٣-٣٣٣٣ ５５５.５５５.５５５５"]
    Log.objects.bulk_create([
        Log(workspace=workspace, created_at=datetime(2031, 1, 1, tzinfo=UTC),
            trace_id=(text or "t")[:200], config=text and text[:200],
            prompt_slug=text and text[:200], request_url=text or "", ai_provider="openai",
            ai_model="gpt-4o", status_code=200,
            request={"body": {"messages": [{"role": "user", "content": text or "x"}]}},
            response={"body": {"choices": [{"message": {"role": "assistant",
                                                        "content": text or "y"}}]}},
            metadata={"contact": text, "n": 1.50} if index % 2 else {})
        for index, text in enumerate(odd * 20)])
    return workspace


@pytest.mark.parametrize("file_format", [fmt.name for fmt in FORMATS])
def test_fast_and_portable_paths_give_the_same_redacted_bytes_and_counts(logs, file_format):
    for name, rules in RULES.items():
        for fields in FIELD_SETS:
            fast, fast_result = write(logs, file_format, rules, fields, fast_path=True)
            portable, portable_result = write(logs, file_format, rules, fields, fast_path=False)
            where = f"{name}, {fields[:3]}"
            assert fast == portable, where
            assert fast_result.redaction_counts == portable_result.redaction_counts, where
            assert (fast_result.rows, fast_result.skipped) == \
                (portable_result.rows, portable_result.skipped), where
            assert fast_result.rows > 500 or file_format == "finetune.jsonl", where
    # The rules did change something here, so the equality above is about redacted bytes.
    _, result = write(logs, file_format, RULES["detectors"], ALL_FIELD_NAMES, fast_path=True)
    assert set(result.redaction_counts) == set(DETECTORS)
