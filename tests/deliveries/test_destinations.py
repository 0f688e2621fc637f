"""Destinations against a real SeaweedFS bucket, and an export delivered to one by a worker."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.test import Client

from deliveries.models import Destination
from deliveries.secrets import decrypt
from exports.models import ExportJob
from tests.api.conftest import assert_error
from tests.deliveries.conftest import destination_body
from tests.exports.s3_server import SECRET_KEY

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_wrong_secret_is_refused_naming_it_and_nothing_is_saved(api, team_bucket):
    _, bucket, endpoint = team_bucket
    response = api.post("/v1/destinations",
                        destination_body(endpoint, bucket, secret_access_key="not-the-secret"))
    assert_error(response, 422, field="secret_access_key", contains="access denied")
    assert "not-the-secret" not in response.content.decode()
    assert not Destination.objects.exists()


def test_an_unknown_bucket_and_an_unreachable_endpoint_are_named(api, team_bucket):
    _, bucket, endpoint = team_bucket
    response = api.post("/v1/destinations", destination_body(endpoint, bucket + "-missing"))
    assert_error(response, 422, field="bucket", contains="unknown bucket")
    response = api.post("/v1/destinations",
                        destination_body("http://127.0.0.1:9", bucket))
    assert_error(response, 422, field="endpoint_url", contains="unreachable")
    assert not Destination.objects.exists()


def test_a_destination_is_saved_after_a_test_write_and_its_secret_never_shown(api, team_bucket):
    client, bucket, endpoint = team_bucket
    response = api.post("/v1/destinations", destination_body(endpoint, bucket))
    assert response.status_code == 200, response.content
    assert SECRET_KEY not in response.content.decode()
    destination = Destination.objects.get(id=response.json()["id"])
    assert SECRET_KEY not in destination.secret_encrypted
    assert decrypt(destination.secret_encrypted) == SECRET_KEY
    # The test object was deleted again.
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    listed = api.get("/v1/destinations").json()
    assert [item["id"] for item in listed] == [str(destination.id)]
    assert SECRET_KEY not in json.dumps(listed)
    assert api.request("delete", f"/v1/destinations/{destination.id}").status_code == 200
    assert not Destination.objects.exists()


def test_an_export_is_delivered_byte_identical_with_its_manifest(
        api, seeded, team_bucket, rq_workers, export_storage_dir, user):
    client, bucket, endpoint = team_bucket
    destination = api.post("/v1/destinations", destination_body(endpoint, bucket)).json()
    created = api.post("/v1/logs/exports", {
        "requested_data": ["id", "created_at", "request", "response", "cost"],
        "destination_id": destination["id"]})
    assert created.status_code == 200, created.content
    export_id = created.json()["id"]
    assert api.post(f"/v1/logs/exports/{export_id}/start").status_code == 200
    rq_workers.run_burst()  # the export, then (enqueued as it succeeded) its delivery

    job = ExportJob.objects.get(id=export_id)
    assert job.status == ExportJob.Status.SUCCESS, job.error
    detail = api.get(f"/v1/logs/exports/{export_id}").json()
    delivery = detail["delivery"]
    assert delivery["status"] == "sent", delivery
    assert delivery["key"] == f"exports/daily/{job.download_name()}"
    ours = (export_storage_dir / job.file_name).read_bytes()
    theirs = client.get_object(Bucket=bucket, Key=delivery["key"])["Body"].read()
    assert theirs == ours
    assert delivery["sha256"] == hashlib.sha256(theirs).hexdigest() == job.sha256
    manifest = client.get_object(Bucket=bucket, Key=delivery["manifest_key"])["Body"].read()
    assert delivery["manifest_key"] == delivery["key"] + ".manifest.json"
    assert json.loads(manifest) == job.manifest
    # The export's page says where its file went.
    browser = Client()
    browser.force_login(user)
    page = browser.get(f"/exports/{export_id}/").content.decode()
    assert delivery["key"] in page and delivery["sha256"] in page


def test_an_export_refuses_a_destination_of_another_workspace(api, seeded, other_workspace):
    other = Destination.objects.create(workspace=other_workspace, name="x", bucket="b",
                                       access_key_id="k", secret_encrypted="-")
    response = api.post("/v1/logs/exports", {"requested_data": ["id"],
                                             "destination_id": str(other.id)})
    assert_error(response, 404, field="destination_id", code="not_found")
    assert not ExportJob.objects.exists()
