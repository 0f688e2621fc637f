"""The Request Data preview's sample rows: the first rows of the export's slice exactly as the
file holds them, in every format, with the export's redaction rules applied."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from exports.formats import FORMATS_BY_NAME
from exports.models import ExportJob
from exports.preview_samples import csv_records, read_sample, sample_rows, shorten
from logs.models import Log
from tests.exports.format_readers import csv_rows, jsonl_records
from tests.exports.test_format_jobs_integration import fetch

HTMX = {"HTTP_HX_REQUEST": "true"}
FIELDS = ["id", "created_at", "request", "response", "cost", "status_code", "metadata",
          "is_success"]
SECRET_MAILS = ("ada@example.com", "grace@example.org", "boss@example.net")


def chat_log(workspace, *, at, question: str, answer: str, status: int = 200,
             mail: str = "") -> Log:
    return Log.objects.create(
        workspace=workspace, created_at=at, status_code=status, ai_provider="openai",
        ai_model="gpt-4o", cost="0.125",
        request={"url": "https://api.openai.com/v1/chat/completions",
                 "body": {"model": "gpt-4o", "messages": [{"role": "user", "content": question}]}},
        response={"status": status, "body": {"choices": [{"index": 0, "finish_reason": "stop",
                  "message": {"role": "assistant", "content": answer}}]}}
        if status == 200 else {"status": status, "body": {"error": {"message": "boom"}}},
        metadata={"team": "search", **({"user_email": mail} if mail else {})})


@pytest.fixture
def chat_logs(workspace):
    start = timezone.now() - timedelta(hours=2)
    logs = [
        chat_log(workspace, at=start, question="Hello", answer="Hi."),
        chat_log(workspace, at=start + timedelta(minutes=1),
                 question="Mail me at ada@example.com, line one\nline two, \"quoted\"",
                 answer="Sure " + "long " * 100, mail="boss@example.net"),
        chat_log(workspace, at=start + timedelta(minutes=2), question="Fail", answer="",
                 status=500),
        chat_log(workspace, at=start + timedelta(minutes=3), question="Who?",
                 answer="Ask grace@example.org"),
        chat_log(workspace, at=start + timedelta(minutes=4), question="Last", answer="Bye."),
    ]
    return start, logs


REDACTION = {"detectors": ["email"], "patterns": [], "drop_keys": ["metadata.user_email"]}


def first_rows_of_file(file_format: str, data: bytes) -> dict:
    """The file's first rows read with the tools a user would use (not preview_samples)."""
    if file_format.startswith("csv"):
        header, rows = csv_rows(data)
        return {"header": header, "rows": rows[:3]}
    if file_format == "parquet":
        import pyarrow.parquet as pq

        return {"rows": pq.read_table(io.BytesIO(data)).to_pylist()[:3]}
    if file_format.endswith(".gz"):
        import gzip

        data = gzip.decompress(data)
    return {"rows": jsonl_records(data)[:3]}


def sample_as_rows(file_format: str, sample) -> dict:
    import csv
    import json

    if file_format.startswith("csv"):
        reader = csv.reader(io.StringIO("\n".join(sample.lines) + "\n", newline=""))
        header, *rows = list(reader)
        return {"header": header, "rows": rows}
    if file_format == "parquet":
        return {"rows": sample.rows}
    return {"rows": [json.loads(line) for line in sample.lines]}


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_sample_rows_are_the_first_rows_of_the_real_export_in_every_format(
        workspace, user, client, chat_logs, rq_workers, settings):
    settings.EXPORTS_MAX_IN_PROGRESS_PER_WORKSPACE = len(FORMATS_BY_NAME)
    start, _ = chat_logs
    client.force_login(user)
    form = {"time_range": "custom",
            "created_from": (start - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),
            "requested_data": FIELDS, "limit": "10", "offset": "1",
            "redact_detectors": ["email"], "redact_patterns": "",
            "redact_drop_keys": "metadata.user_email"}
    for file_format in FORMATS_BY_NAME:
        response = client.post("/exports/create/", {**form, "file_format": file_format,
                                                      "description": file_format})
        assert response.status_code == 302, response.content.decode()[-2000:]
        job = ExportJob.objects.get(description=file_format)
        assert client.post(f"/exports/{job.id}/start/").status_code == 302
    rq_workers.run_burst()

    for job in ExportJob.objects.order_by("created_at"):
        fmt = job.format
        assert job.status == ExportJob.Status.SUCCESS, (fmt, job.error)
        _, data = fetch(client, client.get(f"/exports/{job.id}/download/")["Location"])
        sample = sample_rows(workspace_id=workspace.id, filters=job.filters,
                             field_names=job.requested_data, offset=job.offset, logs=3,
                             file_format=fmt, redaction=job.redaction, display_chars=None)
        assert sample.logs == 3 and sample.redacted
        # The preview's decoding of the file is the sample's, whole: same lines, same values.
        whole = read_sample(fmt, data, display_chars=None)
        if fmt == "parquet":
            assert sample.columns == whole.columns and sample.rows == whole.rows[:3]
            file_rows = first_rows_of_file(fmt, data)["rows"]
            assert [row[0] for row in sample.rows] == [row["id"] for row in file_rows]
            assert sample.columns[2] == "request (string)" and sample.columns[4] == "cost (double)"
            assert [row[4] for row in sample.rows] == [str(row["cost"]) for row in file_rows]
        elif fmt == "finetune.jsonl":
            # Of logs 1, 2 and 3 of the slice, the 500 is skipped: two lines, and it says so.
            assert sample.skipped == 1 and len(sample.lines) == 2
            assert sample.lines == whole.lines[:2]
            assert sample_as_rows(fmt, sample)["rows"] == first_rows_of_file(fmt, data)[
                "rows"][:2]
        else:
            lines = 4 if fmt.startswith("csv") else 3  # a CSV sample has its header too
            assert sample.lines == whole.lines[:lines]
            assert sample_as_rows(fmt, sample) == first_rows_of_file(fmt, data)
        text = "\n".join(sample.lines) + repr(sample.rows)
        assert "[REDACTED:email]" in text
        for mail in SECRET_MAILS:
            assert mail not in text, (fmt, mail)


@pytest.mark.django_db
def test_the_preview_page_shows_redacted_samples_from_the_offset(workspace, user, client,
                                                                 chat_logs):
    start, logs = chat_logs
    client.force_login(user)
    query = {"time_range": "custom",
             "created_from": (start - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),
             "requested_data": FIELDS, "limit": "10", "offset": "1", "file_format": "jsonl",
             "redact_detectors": ["email"], "redact_drop_keys": "metadata.user_email"}
    html = client.post("/exports/preview/", query, **HTMX).content.decode()
    assert 'id="preview-detail" class="preview-detail"' in html and 'hx-swap-oob="true"' in html
    assert "First 3 rows as the file holds them" in html and "from offset 1" in html
    assert str(logs[0].id) not in html  # before the offset
    assert all(str(log.id) in html for log in logs[1:4]) and str(logs[4].id) not in html
    assert "[REDACTED:email]" in html and "redaction rules are applied" in html
    for mail in SECRET_MAILS:
        assert mail not in html
    assert "…" in html and "long " * 100 not in html  # the long answer is cut on the page

    # Without rules the values show; with a rule that does not hold, no row shows at all.
    for fields, mail in ((["id", "request"], "ada@example.com"),
                         (["id", "metadata"], "boss@example.net")):
        plain = client.post("/exports/preview/", {
            **query, "requested_data": fields, "redact_detectors": [], "redact_drop_keys": ""},
            **HTMX).content.decode()
        assert mail in plain
    broken = client.post("/exports/preview/", {**query, "redact_patterns": "bad = (a+)+"},
                         **HTMX).content.decode()
    assert 'data-testid="samples-unavailable"' in broken
    for mail in SECRET_MAILS:
        assert mail not in broken
    assert str(logs[1].id) not in broken


@pytest.mark.django_db
def test_each_format_is_shown_its_own_way(workspace, user, client, chat_logs):
    start, _ = chat_logs
    client.force_login(user)
    query = {"time_range": "custom",
             "created_from": (start - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),
             "requested_data": ["id", "cost", "request"], "limit": "10", "offset": "1"}
    pages = {fmt: client.post("/exports/preview/", {**query, "file_format": fmt},
                              **HTMX).content.decode() for fmt in FORMATS_BY_NAME}
    assert "id,request,cost\n" in pages["csv"] and "id,request,cost\n" in pages["csv.gz"]
    assert "Shown unzipped; the file is gzip-compressed." in pages["csv.gz"]
    assert "Parquet is binary; shown as a table" in pages["parquet"]
    assert '<th scope="col">cost (double)</th>' in pages["parquet"]
    assert '{&quot;id&quot;: ' in pages["jsonl"] and '{&quot;id&quot;: ' in pages["jsonl.gz"]
    assert 'data-testid="samples-skipped">1 of these 3 logs is skipped' in pages[
        "finetune.jsonl"]
    assert '{&quot;messages&quot;:' in pages["finetune.jsonl"]


def test_csv_records_keep_newlines_inside_quoted_cells():
    text = 'a,b\n1,"x\ny"\n2,"say ""hi""\n"\n'
    assert csv_records(text) == ["a,b", '1,"x\ny"', '2,"say ""hi""\n"']


def test_long_text_is_cut_with_an_ellipsis():
    assert shorten("x" * 300) == "x" * 300
    assert shorten("x" * 301) == "x" * 300 + "…"
    assert shorten("x" * 301, None) == "x" * 301
