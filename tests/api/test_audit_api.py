"""The audit trail of API actions: the key's prefix, the address, and the signed-URL fetch."""

from __future__ import annotations

import pytest
from django.test import Client

from exports.models import ExportEvent, ExportJob
from tests.api.conftest import ApiClient

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ADDRESS = "203.0.113.77"


def test_api_actions_and_the_link_fetch_are_recorded_and_shown_on_the_export(
        api_key, seeded, rq_workers):
    key, raw_key = api_key
    api = ApiClient(raw_key)
    created = api.post("/v1/logs/exports", {"filters": {}, "requested_data": ["id"],
                                            "limit": 50}, REMOTE_ADDR=ADDRESS)
    export_id = created.json()["id"]
    for action in ("start", "cancel", "start"):
        response = api.post(f"/v1/logs/exports/{export_id}/{action}", REMOTE_ADDR=ADDRESS)
        assert response.status_code == 200, response.content
    rq_workers.run_burst()
    assert ExportJob.objects.get(id=export_id).status == ExportJob.Status.SUCCESS
    link = api.client.get(f"/v1/logs/exports/{export_id}/download", headers=api.headers,
                          REMOTE_ADDR=ADDRESS).json()["signed_url"]
    fetched = Client().get(link.removeprefix("http://testserver"), REMOTE_ADDR="192.0.2.9")
    assert fetched.status_code == 200

    who = f"API key {key.prefix}"
    trail = [(event.action, event.actor, event.channel, event.ip_address, event.api_key_id)
             for event in ExportEvent.objects.filter(export_id=export_id).order_by("at", "id")]
    assert trail == [
        ("created", who, "api", ADDRESS, key.id),
        ("started", who, "api", ADDRESS, key.id),
        ("cancelled", who, "api", ADDRESS, key.id),
        ("started", who, "api", ADDRESS, key.id),
        ("download_link", who, "api", ADDRESS, key.id),
        ("downloaded", who, "signed_url", "192.0.2.9", None),
    ]

    item = api.get(f"/v1/logs/exports/{export_id}").json()
    assert [(entry["action"], entry["actor"], entry["channel"], entry["ip_address"])
            for entry in item["activity"]] == [row[:4] for row in reversed(trail)]
    assert item["activity"][0]["at"].endswith("Z") and item["activity"][0]["attempt"] == 2
