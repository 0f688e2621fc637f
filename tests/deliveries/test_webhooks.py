"""Standard Webhooks: signed, retried with backoff by the real RQ workers, sent once per
terminal state."""

from __future__ import annotations

import json

import pytest
from standardwebhooks import Webhook as Verifier

from deliveries.models import Webhook, WebhookAttempt, WebhookDelivery
from deliveries.services import owe_notifications
from exports.models import ExportJob
from tests.api.conftest import assert_error
from tests.conftest import wait_for
from tests.deliveries.receiver import Receiver

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def receiver():
    server = Receiver(failures=2)
    yield server
    server.close()


def test_a_webhook_is_signed_retried_after_two_failures_and_sent_once(
        api, seeded, receiver, rq_workers):
    created = api.post("/v1/webhooks", {"url": receiver.url, "events": ["export.succeeded"]})
    assert created.status_code == 200, created.content
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    listed = api.get("/v1/webhooks").json()
    assert [item["id"] for item in listed] == [created.json()["id"]]
    assert secret not in json.dumps(listed)  # answered once only

    export_id = api.post("/v1/logs/exports", {"requested_data": ["id", "cost"]}).json()["id"]
    assert api.post(f"/v1/logs/exports/{export_id}/start").status_code == 200
    rq_workers.start(burst=False, DELIVERY_POLL_SECONDS="0.2",
                     DELIVERY_RETRY_BASE_SECONDS="0.3")
    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(status="sent").first(), timeout=60,
        message="the webhook was not delivered")
    rq_workers.stop_all()

    assert len(receiver.requests) == 3
    verifier = Verifier(secret)
    ids = set()
    for headers, body in receiver.requests:
        payload = verifier.verify(body, headers)  # raises on a wrong signature
        ids.add(headers["webhook-id"])
        assert payload["type"] == "export.succeeded"
        assert payload["data"]["export"]["id"] == export_id
        job = ExportJob.objects.get(id=export_id)
        assert payload["data"]["manifest"] == json.loads(json.dumps(job.manifest))
    assert ids == {f"msg_{delivery.id.hex}"}  # one message, retried: receivers deduplicate
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [(a.number, a.status_code) for a in attempts] == [(1, 500), (2, 500), (3, 204)]
    assert attempts[0].response == "not now"
    assert WebhookDelivery.objects.count() == 1

    # The same terminal state announced again owes nothing more.
    owe_notifications(job_id=export_id, status=ExportJob.Status.SUCCESS)
    assert WebhookDelivery.objects.count() == 1


def test_bad_webhooks_are_refused_naming_the_field(api, workspace):
    assert_error(api.post("/v1/webhooks", {"url": "ftp://example.com/x"}), 422, field="url")
    assert_error(api.post("/v1/webhooks", {"url": "https://example.com/x",
                                           "events": ["export.started"]}), 422)
    assert not Webhook.objects.exists()


def test_a_webhook_can_be_deleted(api, workspace):
    webhook_id = api.post("/v1/webhooks", {"url": "https://example.com/hook"}).json()["id"]
    assert api.request("delete", f"/v1/webhooks/{webhook_id}").status_code == 200
    assert not Webhook.objects.exists()
    assert api.request("delete", f"/v1/webhooks/{webhook_id}").status_code == 404
