"""`redaction` on POST/PUT /v1/logs/exports: its errors, the export object, the policy."""

from __future__ import annotations

import pytest

from exports import services
from exports.models import ExportEvent, ExportJob
from exports.redaction.policy import save_policy
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db
RULES = {"detectors": ["email", "phone", "credit_card", "ip_address", "secret"],
         "patterns": [{"name": "employee_id", "regex": "EMP-[0-9]{6}"}],
         "drop_keys": ["metadata.user_email", "request.user"]}


def test_the_issue_example_is_stored_and_shown(api, seeded):
    response = api.post("/v1/logs/exports", {"requested_data": ["id"], "redaction": RULES})
    assert response.status_code == 200, response.content
    job = ExportJob.objects.get(id=response.json()["id"])
    assert job.redaction == RULES
    item = api.get(f"/v1/logs/exports/{job.id}").json()
    assert item["redaction"] == RULES and item["redaction_counts"] == {}
    event = ExportEvent.objects.get(export_id=job.id, action="created")
    assert event.details == {"redaction": RULES}


@pytest.mark.parametrize(("redaction", "field"), [
    ({"patterns": [{"name": "bad", "regex": "("}]}, "redaction.patterns[0].regex"),
    ({"patterns": [{"name": "slow", "regex": "(a+)+$"}]}, "redaction.patterns[0].regex"),
    ({"detectors": ["email", "ssn"]}, "redaction.detectors[1]"),
    ({"drop_keys": ["nowhere.x"]}, "redaction.drop_keys[0]"),
])
def test_bad_rules_are_422_naming_the_place_and_nothing_is_made(api, seeded, redaction, field):
    response = api.post("/v1/logs/exports", {"requested_data": ["id"], "redaction": redaction})
    assert_error(response, 422, field=field)
    assert not ExportJob.objects.exists()


def test_without_rules_the_workspace_defaults_apply(api, seeded):
    save_policy(workspace=seeded, rules={"detectors": ["email"]}, mandatory=False,
                actor_label="admin")
    job_id = api.post("/v1/logs/exports", {"requested_data": ["id"]}).json()["id"]
    assert ExportJob.objects.get(id=job_id).redaction["detectors"] == ["email"]
    # Not mandatory: fewer rules may be asked for.
    job_id = api.post("/v1/logs/exports", {"requested_data": ["id"],
                                            "redaction": {"detectors": []}}).json()["id"]
    assert ExportJob.objects.get(id=job_id).redaction["detectors"] == []


def test_a_mandatory_policy_cannot_be_gone_around(api, seeded):
    draft = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    save_policy(workspace=seeded, rules={"detectors": ["email", "secret"],
                                         "drop_keys": ["metadata.user_email"]},
                mandatory=True, actor_label="admin")
    response = api.post("/v1/logs/exports", {"requested_data": ["id"],
                                             "redaction": {"detectors": ["email"]}})
    assert_error(response, 422, field="redaction.detectors", contains="secret")
    response = api.post("/v1/logs/exports", {"requested_data": ["id"], "redaction": {
        "detectors": ["email", "secret"]}})
    assert_error(response, 422, field="redaction.drop_keys", contains="metadata.user_email")
    response = api.put(f"/v1/logs/exports/{draft.id}", {"redaction": {"detectors": []}})
    assert_error(response, 422, field="redaction.detectors")
    # The draft made before the policy: refused at start, and nothing starts.
    response = api.post(f"/v1/logs/exports/{draft.id}/start")
    assert_error(response, 422, field="redaction.detectors")
    draft.refresh_from_db()
    assert draft.status == ExportJob.Status.DRAFT
    # Left out, the policy's rules apply; more rules are fine.
    job_id = api.post("/v1/logs/exports", {"requested_data": ["id"]}).json()["id"]
    assert ExportJob.objects.get(id=job_id).redaction["drop_keys"] == ["metadata.user_email"]
    more = {"detectors": ["email", "phone", "secret"], "drop_keys": ["metadata.user_email"]}
    assert api.post("/v1/logs/exports", {"requested_data": ["id"],
                                         "redaction": more}).status_code == 200
