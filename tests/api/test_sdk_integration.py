"""The product doc's "Complete example" through the public portkey-ai SDK, against a live server
with a real RQ worker on a real Redis."""

from __future__ import annotations

import json
import time

import pytest
import requests
from portkey_ai import Portkey
from portkey_ai.api_resources.exceptions import ConflictError, NotFoundError

from exports.models import ExportJob
from logs.filters import matching_logs, normalise_filters
from tests.api.conftest import issue_key
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def portkey(live_server, seeded, rq_workers):
    # Slow enough that an export of all 300 logs is still running when it is cancelled.
    rq_workers.start(burst=False, EXPORTS_MAX_ROWS_PER_SECOND="300")
    _, raw = issue_key(seeded)
    return Portkey(api_key=raw, base_url=f"{live_server.url}/v1")


def poll_until_finished(client, export_id: str, *, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.logs.exports.retrieve(export_id=export_id)
        if status.status in ("success", "failed"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"export {export_id} did not finish in {timeout} s")


def test_the_complete_example_of_the_product_doc(portkey, seeded):
    client = portkey
    logs = list(seeded.logs.order_by("created_at", "id"))
    window = {"gte": logs[30].created_at.isoformat(), "lte": logs[179].created_at.isoformat()}
    requested = ["id", "created_at", "ai_model", "total_tokens", "cost"]

    # Step 1: Create export
    export = client.logs.exports.create(filters={"created_at": window},
                                        requested_data=requested)
    export_id = export.id
    assert export.total == 150

    # Step 2: Start export
    started = client.logs.exports.start(export_id=export_id)
    assert (started.message, started.object) == ("export started", "export")

    # Step 3: Poll until complete
    status = poll_until_finished(client, export_id)
    assert status.status == "success", status.error
    assert (status.total_records, status.rows_written, status.progress) == (150, 150, 1.0)

    # Step 4: Download (the doc reads .url, the SDK's type names .signed_url: both are there)
    download = client.logs.exports.download(export_id=export_id)
    assert download.url == download.signed_url
    assert download.url.startswith("http://")
    response = requests.get(download.url, timeout=30)
    assert response.status_code == 200
    lines = response.content.decode().splitlines()
    assert len(lines) == 150
    records = [json.loads(line) for line in lines]
    assert all(list(record) == requested for record in records)
    assert [record["id"] for record in records] == [str(log.id) for log in logs[30:180]]
    assert status.sha256 and status.file_size == len(response.content)


def test_list_retrieve_update_and_cancel_through_the_sdk(portkey, seeded):
    client = portkey
    draft = client.logs.exports.create(filters={}, requested_data=["id"],
                                       workspace_id=str(seeded.id), description="all")
    assert draft.total == 300
    updated = client.logs.exports.update(
        export_id=draft.id, filters={"ai_model": "gpt-4o", "status_code": "200"},
        requested_data=["id", "ai_org", "req_units"],
    )
    expected = matching_logs(workspace_id=seeded.id, filters=normalise_filters(
        {"ai_model": "gpt-4o", "status_code": "200"})).count()
    assert (updated.id, updated.total) == (draft.id, expected)
    item = client.logs.exports.retrieve(export_id=draft.id)
    assert item.requested_data == ["id", "ai_provider", "request_tokens"]
    assert (item.status, item.description, item.workspace_id) == ("draft", "all", str(seeded.id))

    listing = client.logs.exports.list(workspace_id=seeded.slug)
    assert (listing.object, listing.total) == ("list", 1)
    assert listing.data[0]["id"] == draft.id
    assert client.logs.exports.list().total == 1

    everything = client.logs.exports.create(filters={}, requested_data=["id", "request"])
    client.logs.exports.start(export_id=everything.id)
    with pytest.raises(ConflictError):
        client.logs.exports.update(export_id=everything.id, requested_data=["id"])
    with pytest.raises(ConflictError):
        client.logs.exports.download(export_id=everything.id)
    cancelled = client.logs.exports.cancel(export_id=everything.id)
    assert cancelled.message == "export cancelled"
    wait_for(lambda: client.logs.exports.retrieve(export_id=everything.id).status == "stopped",
             timeout=10)
    with pytest.raises(NotFoundError):
        client.logs.exports.retrieve(export_id="00000000-0000-0000-0000-000000000000")


def test_logs_created_through_the_sdk_are_in_a_later_export(portkey, seeded):
    client = portkey
    for turn in range(3):
        response = client.logs.create(
            request={"url": "https://api.openai.com/v1/chat/completions", "method": "POST",
                     "body": {"model": "gpt-4o-mini", "messages": [
                         {"role": "user", "content": f"turn {turn}"}]}},
            response={"status": 200, "body": {"usage": {"prompt_tokens": 3,
                                                        "completion_tokens": 4}},
                      "response_time": 120},
            metadata={"trace_id": "sdk-trace", "_user": "sdk"},
        )
        assert response.status_code == 200
    export = client.logs.exports.create(
        filters={"trace_id": "sdk-trace", "total_units_min": 7, "total_units_max": 7},
        requested_data=["id", "trace_id", "ai_org", "ai_model", "total_units", "request",
                        "metadata"],
    )
    assert export.total == 3
    client.logs.exports.start(export_id=export.id)
    assert poll_until_finished(client, export.id).status == "success"
    url = client.logs.exports.download(export_id=export.id).signed_url
    records = [json.loads(line) for line in requests.get(url, timeout=30).text.splitlines()]
    assert [r["request"]["body"]["messages"][0]["content"] for r in records] == [
        "turn 0", "turn 1", "turn 2"]
    assert {(r["trace_id"], r["ai_provider"], r["ai_model"], r["total_tokens"])
            for r in records} == {("sdk-trace", "openai", "gpt-4o-mini", 7)}
    assert ExportJob.objects.get(id=export.id).rows_written == 3
