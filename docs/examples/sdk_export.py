"""Export the last 7 days of logs through the public Portkey SDK (`pip install portkey-ai`).

Against `make run` (its demo workspace holds 30 days of logs up to now):

    python manage.py create_api_key --workspace demo --scopes logs.export
    LOG_EXPORTS_API_KEY=lx_… python docs/examples/sdk_export.py

It creates an export, starts it, waits for a final status and downloads the file. The README's
SDK example is this script; tests/api/test_sdk_example.py runs it against a live server.
"""

from __future__ import annotations

import os
import time
import urllib.request
from datetime import UTC, datetime, timedelta

from portkey_ai import Portkey

client = Portkey(
    api_key=os.environ["LOG_EXPORTS_API_KEY"],
    base_url=os.environ.get("LOG_EXPORTS_URL", "http://localhost:8000/v1"),
)
now = datetime.now(UTC)
export = client.logs.exports.create(
    filters={"created_at": {"gte": (now - timedelta(days=7)).isoformat(), "lte": now.isoformat()}},
    requested_data=["id", "created_at", "ai_model", "total_tokens", "cost"],
    description="Last 7 days, from the SDK",
)
print(f"export {export.id}: {export.total} logs")
client.logs.exports.start(export_id=export.id)
while (status := client.logs.exports.retrieve(export_id=export.id).status) not in (
        "success", "failed", "stopped"):
    time.sleep(2)
print(f"export {export.id}: {status}")
if status == "success":
    url = client.logs.exports.download(export_id=export.id).url  # .signed_url is the same
    file_name, _ = urllib.request.urlretrieve(url, f"export-{export.id}.jsonl")
    with open(file_name, encoding="utf-8") as lines:
        print(f"saved {sum(1 for _ in lines)} logs to {file_name}")
