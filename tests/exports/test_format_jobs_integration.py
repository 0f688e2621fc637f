"""Every format end to end: requested on the page and through the API, written by a real RQ
worker, downloaded as a user would, read back with the tool a user would use, and compared with
the JSONL export of the same logs."""

from __future__ import annotations

import gzip
import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from exports.formats import FORMATS_BY_NAME
from exports.models import ExportJob
from logs.seeding import seed_logs
from tests.api.conftest import ApiClient, issue_key
from tests.exports.format_readers import (
    assert_csv_matches_jsonl,
    assert_parquet_matches_jsonl,
    create_chat_logs,
    expected_examples,
    finetune_rule_breaks,
    jsonl_records,
    same_example,
)
from tests.nasty import create_nasty_logs

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
FIELDS = ["id", "trace_id", "created_at", "request", "response", "ai_model", "total_tokens",
          "cost", "status_code", "config", "metadata", "is_success"]
PAYLOADS = ["request", "response", "status_code"]


def fetch(client, url: str):
    response = client.get(urlsplit(url).path)
    assert response.status_code == 200, response
    return response, b"".join(response.streaming_content)


@pytest.mark.parametrize("file_format", [name for name in FORMATS_BY_NAME if name != "jsonl"])
def test_a_format_requested_on_the_page_and_by_the_api_reads_back_to_the_jsonl_export(
        file_format, workspace, user, client, rq_workers):
    now = timezone.now()
    seed_logs(workspace_id=workspace.id, count=200, now=now - timedelta(hours=2), days=1, seed=5)
    create_nasty_logs(workspace, start=now - timedelta(hours=1))
    chat = create_chat_logs(workspace, start=now - timedelta(minutes=30))
    client.force_login(user)
    api = ApiClient(issue_key(workspace)[1])

    # The page: the Request Data form offers the format with its one-line summary.
    form = client.get("/exports/new/").content.decode()
    assert f'value="{file_format}"' in form and FORMATS_BY_NAME[file_format].summary in form
    response = client.post("/exports/create/", {
        "time_range": "7d", "requested_data": FIELDS, "file_format": file_format,
        "limit": "1000"})
    assert response.status_code == 302
    page_job = ExportJob.objects.get()
    assert client.post(f"/exports/{page_job.id}/start/").status_code == 302

    # The API: the same logs in the same format, and in JSONL for reference.
    reference_fields = PAYLOADS if file_format == "finetune.jsonl" else FIELDS
    ids = {}
    for name, fmt, fields in (("api", file_format, FIELDS), ("jsonl", "jsonl", reference_fields)):
        created = api.post("/v1/logs/exports", {"requested_data": fields, "format": fmt,
                                                "filters": page_job.filters, "limit": 1000})
        assert created.status_code == 200, created.content
        ids[name] = created.json()["id"]
        assert api.post(f"/v1/logs/exports/{ids[name]}/start").status_code == 200
    rq_workers.run_burst()

    page_response, page_file = fetch(client, client.get(
        f"/exports/{page_job.id}/download/")["Location"])
    api_response, api_file = fetch(client, api.get(
        f"/v1/logs/exports/{ids['api']}/download").json()["url"])
    _, reference = fetch(client, api.get(f"/v1/logs/exports/{ids['jsonl']}/download").json()["url"])
    assert page_file == api_file  # the same logs, fields and format: the same bytes
    for response in (page_response, api_response):
        assert response["Content-Type"] == FORMATS_BY_NAME[file_format].content_type
        name = rf'filename="logs-export-main-[\d-]+-[0-9a-f-]+\.{re.escape(file_format)}"'
        assert re.search(name, response["Content-Disposition"])

    logs = 200 + 7 + sum(chat.values())
    skipped = 0
    if file_format.startswith("csv"):
        assert file_format == "csv" or page_file[:2] == b"\x1f\x8b"
        assert assert_csv_matches_jsonl(page_file, reference, FIELDS) == logs
    elif file_format == "parquet":
        assert assert_parquet_matches_jsonl(page_file, reference, FIELDS) == logs
    elif file_format == "jsonl.gz":
        assert gzip.decompress(page_file) == reference
    else:
        examples = jsonl_records(page_file)
        assert all(finetune_rule_breaks(example) == [] for example in examples)
        expected, skipped = expected_examples(reference)
        assert skipped >= chat["skipped"] and len(examples) == logs - skipped
        assert all(same_example(mine, theirs)
                   for mine, theirs in zip(examples, expected, strict=True))

    # The export shows its format and what it skipped: API object, list and detail page.
    item = api.get(f"/v1/logs/exports/{ids['api']}").json()
    assert (item["format"], item["status"]) == (file_format, "success")
    assert (item["rows_written"], item["rows_skipped"]) == (logs - skipped, skipped)
    page_job.refresh_from_db()
    assert (page_job.rows_written, page_job.rows_skipped) == (logs - skipped, skipped)
    label = FORMATS_BY_NAME[file_format].label
    listing = client.get("/").content.decode()
    assert label in listing
    assert (f"{skipped} skipped" in listing) == bool(skipped)
    detail = client.get(f"/exports/{page_job.id}/").content.decode()
    assert f"<dt>Format</dt><dd>{label}</dd>" in detail
    assert re.search(rf"<dt>Rows skipped</dt><dd>{skipped}\b", detail)


def test_the_api_refuses_an_unknown_format_naming_the_accepted_ones(seeded):
    api = ApiClient(issue_key(seeded)[1])
    response = api.post("/v1/logs/exports", {"requested_data": ["id"], "format": "xlsx"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "format"
    assert all(name in error["message"] for name in FORMATS_BY_NAME)
    assert not ExportJob.objects.exists()
    assert json.loads(api.post("/v1/logs/exports", {"requested_data": ["id"]}).content)["id"]
    assert ExportJob.objects.get().format == "jsonl"  # the SDK's default
