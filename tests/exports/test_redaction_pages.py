"""Redaction on the pages and in the admin: the Request Data form's rules, the workspace's
policy page (admins only), and a mandatory policy that no channel can go around."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import Membership
from exports import services
from exports.models import ExportEvent, ExportJob, RedactionPolicy
from exports.redaction.policy import save_policy
from tests.exports.test_admin import ACTIVITY_INLINE, change_url, messages_of

pytestmark = pytest.mark.django_db
FORM = {"time_range": "30d", "limit": "100", "offset": "0", "requested_data": ["id"],
        "file_format": "jsonl"}
REQUIRED = {"detectors": ["email", "secret"], "patterns": [],
            "drop_keys": ["metadata.user_email"]}


@pytest.fixture
def member_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(workspace):
    admin = get_user_model().objects.create_user(username="grace", password="pw-grace-12345")
    Membership.objects.create(user=admin, workspace=workspace, role=Membership.Role.ADMIN)
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def staff():
    client = Client()
    client.force_login(get_user_model().objects.create_superuser(username="root", password=None))
    return client


def test_the_request_form_sends_the_chosen_rules(member_client, seeded):
    response = member_client.post("/exports/create/", {
        **FORM, "redact_detectors": ["phone", "email"],
        "redact_patterns": "employee_id = EMP-[0-9]{6}\n\nticket = T=[0-9]+",
        "redact_drop_keys": "metadata.user_email, request.user"})
    assert response.status_code == 302, response.content.decode()
    job = ExportJob.objects.get()
    assert job.redaction == {"detectors": ["email", "phone"],
                             "patterns": [{"name": "employee_id", "regex": "EMP-[0-9]{6}"},
                                          {"name": "ticket", "regex": "T=[0-9]+"}],
                             "drop_keys": ["metadata.user_email", "request.user"]}


def test_a_bad_pattern_is_shown_next_to_its_input_and_nothing_is_made(member_client, seeded):
    response = member_client.post("/exports/create/", {**FORM,
                                                       "redact_patterns": "slow = (a+)+$"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="errors-redact_patterns"' in page and "can run for ever" in page
    assert not ExportJob.objects.exists()


def test_only_workspace_admins_change_the_policy(member_client, admin_client, workspace):
    page = member_client.get("/workspaces/redaction/").content.decode()
    assert "Only admins of this workspace" in page and 'href="/workspaces/redaction/"' in page
    refused = member_client.post("/workspaces/redaction/", {"redact_detectors": ["email"],
                                                            "mandatory": "on"})
    assert refused.status_code == 403 and not RedactionPolicy.objects.exists()
    bad = admin_client.post("/workspaces/redaction/", {"redact_patterns": "x = ("})
    assert bad.status_code == 422 and "redaction.patterns[0].regex" in bad.content.decode()
    assert not RedactionPolicy.objects.exists()
    saved = admin_client.post("/workspaces/redaction/", {
        "redact_detectors": ["secret", "email"], "redact_drop_keys": "metadata.user_email",
        "mandatory": "on"})
    assert saved.status_code == 302
    policy = RedactionPolicy.objects.get(workspace=workspace)
    assert (policy.rules, policy.mandatory, policy.updated_by) == (REQUIRED, True, "grace")


def test_a_mandatory_policy_is_fixed_on_the_form_and_kept_on_post(member_client, seeded):
    save_policy(workspace=seeded, rules=REQUIRED, mandatory=True, actor_label="grace")
    page = member_client.get("/exports/new/").content.decode()
    assert "mandatory and always applied" in page
    assert page.count('type="checkbox" checked disabled') == 2
    # A hand-made POST without any rules still gets the policy's.
    assert member_client.post("/exports/create/", FORM).status_code == 302
    job = ExportJob.objects.get()
    assert job.redaction == REQUIRED
    event = ExportEvent.objects.get(export_id=job.id, action="created")
    assert event.details == {"redaction": REQUIRED}


def test_the_admin_cannot_go_around_a_mandatory_policy(staff, seeded):
    draft = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"],
                                       limit=100)
    save_policy(workspace=seeded, rules=REQUIRED, mandatory=True, actor_label="grace")
    response = staff.post(change_url(draft), {
        "description": "", "requested_data": ["id"], "limit": "100", "offset": "0",
        "format": "jsonl", "redaction": '{"detectors": ["email"]}', **ACTIVITY_INLINE})
    assert response.status_code == 200
    assert "requires the secret detector" in response.content.decode()
    draft.refresh_from_db()
    assert draft.redaction == {"detectors": [], "patterns": [], "drop_keys": []}
    started = staff.post(f"/admin/exports/exportjob/{draft.id}/start/", follow=True)
    assert any("requires the email detector" in message for message in messages_of(started))
    draft.refresh_from_db()
    assert draft.status == ExportJob.Status.DRAFT


def test_the_policy_in_the_django_admin_is_checked(staff, workspace):
    response = staff.post("/admin/exports/redactionpolicy/add/", {
        "workspace": str(workspace.id), "rules": '{"patterns": [{"name": "x", "regex": "("}]}',
        "mandatory": "on"})
    assert response.status_code == 200 and "redaction.patterns[0].regex" in \
        response.content.decode()
    assert not RedactionPolicy.objects.exists()
    response = staff.post("/admin/exports/redactionpolicy/add/", {
        "workspace": str(workspace.id), "rules": '{"detectors": ["secret", "email"]}',
        "mandatory": "on"})
    assert response.status_code == 302
    policy = RedactionPolicy.objects.get()
    assert policy.rules["detectors"] == ["email", "secret"] and policy.updated_by == "root"
