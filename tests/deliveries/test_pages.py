"""The Destinations and Schedules pages, and "Deliver to" on the Request Data form: each form's
success and errors, who may manage them, and that another workspace's ids are 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from accounts.models import Membership
from deliveries.models import Destination, ExportDelivery, Schedule, ScheduleRun
from deliveries.schedules import schedule_create
from exports import services as export_services
from exports.models import ExportJob
from exports.redaction.policy import save_policy
from tests.deliveries.conftest import destination_body

pytestmark = pytest.mark.django_db

ADMIN_PASSWORD = "pw-admin-12345"


@pytest.fixture
def admin(workspace):
    person = get_user_model().objects.create_user(username="root", password=ADMIN_PASSWORD)
    Membership.objects.create(user=person, workspace=workspace, role=Membership.Role.ADMIN)
    return person


@pytest.fixture
def admin_client(admin) -> Client:
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def member_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def unchecked_destination(workspace, name: str = "Team") -> Destination:
    """For the pages that only read or pick it: no bucket behind it."""
    return Destination.objects.create(workspace=workspace, name=name, bucket="team",
                                      prefix="exports", access_key_id="k", secret_encrypted="-")


def schedule_form(destination, **changes) -> dict:
    return {"name": "Nightly", "destination_id": str(destination.id), "interval": "daily",
            "hour": "6", "weekday": "0", "timezone": "Europe/Paris",
            "start": "2026-01-05T00:00", "requested_data": ["id", "created_at", "ai_model"],
            "file_format": "jsonl", **changes}


def make_schedule(workspace, user, destination, **changes) -> Schedule:
    return schedule_create(workspace=workspace, user=user, **{
        "name": "Hourly gpt", "requested_data": ["id"], "destination_id": destination.id,
        "interval": "hourly", "start": timezone.now() - timedelta(hours=3), **changes})


# --- Destinations ----------------------------------------------------------------------------

@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_adding_a_destination_names_what_failed_then_saves_a_right_one(
        admin_client, workspace, team_bucket):
    _, bucket, endpoint = team_bucket
    wrong = destination_body(endpoint, bucket, secret_access_key="not-the-secret")
    response = admin_client.post("/destinations/", wrong)
    assert response.status_code == 422
    page = response.content.decode()
    assert "Secret access key: access denied" in page
    assert 'id="errors-secret_access_key"' in page
    assert "not-the-secret" not in page  # never echoed back
    assert f'value="{bucket}"' in page and f'value="{endpoint}"' in page  # the rest kept
    assert not Destination.objects.exists()

    response = admin_client.post("/destinations/", destination_body(endpoint, bucket + "-x"))
    assert "Bucket: unknown bucket" in response.content.decode()
    response = admin_client.post("/destinations/", destination_body("http://127.0.0.1:9",
                                                                     bucket))
    assert "Endpoint URL: endpoint unreachable" in response.content.decode()

    body = destination_body(endpoint, bucket)
    response = admin_client.post("/destinations/", body, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"s3://{bucket}/exports/daily" in page and "Team bucket" in page
    assert body["secret_access_key"] not in page
    assert Destination.objects.get().workspace == workspace


def test_members_see_destinations_but_cannot_add_or_delete(member_client, workspace):
    destination = unchecked_destination(workspace)
    page = member_client.get("/destinations/").content.decode()
    assert "s3://team/exports" in page and "Add destination" not in page
    assert "Only admins" in page
    response = member_client.post("/destinations/", {"name": "x", "bucket": "b"})
    assert response.status_code == 403
    response = member_client.post(f"/destinations/{destination.id}/delete/")
    assert response.status_code == 403
    assert Destination.objects.filter(id=destination.id).exists()


def test_the_empty_state_says_what_a_destination_is(admin_client):
    page = admin_client.get("/destinations/").content.decode()
    assert "No destinations yet" in page and "a bucket of your team" in page


def test_deleting_a_destination_a_schedule_uses_is_refused_plainly(
        admin_client, admin, workspace, other_workspace):
    used, unused = unchecked_destination(workspace, "Used"), unchecked_destination(workspace)
    make_schedule(workspace, admin, used)
    response = admin_client.post(f"/destinations/{used.id}/delete/")
    assert response.status_code == 409
    assert "was not deleted: schedules deliver to this destination (Hourly gpt)" in \
        response.content.decode()
    assert admin_client.post(f"/destinations/{unused.id}/delete/").status_code == 302
    assert list(Destination.objects.all()) == [used]
    elsewhere = unchecked_destination(other_workspace)
    assert admin_client.post(f"/destinations/{elsewhere.id}/delete/").status_code == 404


# --- Schedules -------------------------------------------------------------------------------

def test_a_schedule_is_created_from_the_form(admin_client, admin, workspace):
    destination = unchecked_destination(workspace)
    page = admin_client.get("/schedules/new/").content.decode()
    assert "Time zone" in page and 'type="datetime-local"' in page
    response = admin_client.post("/schedules/new/", schedule_form(
        destination, ai_model=["gpt-4o"], status_code=["200"], cost_min="0.5"))
    schedule = Schedule.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/schedules/{schedule.id}/"
    assert (schedule.interval, schedule.hour, schedule.timezone) == ("daily", 6, "Europe/Paris")
    assert schedule.start.isoformat() == "2026-01-04T23:00:00+00:00"  # 00:00 in Paris
    assert schedule.filters == {"ai_model": ["gpt-4o"], "status_code": [200],
                                "cost": {"gte": 50}}
    assert schedule.owner == admin and schedule.destination == destination
    listing = admin_client.get("/schedules/").content.decode()
    assert "Every day at 06:00 Europe/Paris" in listing and "Active" in listing
    detail = admin_client.get(f"/schedules/{schedule.id}/").content.decode()
    assert "No runs yet" in detail and "Team" in detail


def test_schedule_form_errors_are_named_beside_their_fields(admin_client, workspace):
    destination = unchecked_destination(workspace)
    response = admin_client.post("/schedules/new/", schedule_form(
        destination, name="", timezone="Mars/Olympus", status_code=["abc"]))
    assert response.status_code == 422
    page = response.content.decode()
    # One error at a time from the service (it stops at the first), each beside its field.
    assert '<div id="errors-name" class="error-slot"><p class="field-error">Name: is required' \
        in page
    response = admin_client.post("/schedules/new/", schedule_form(
        destination, timezone="Mars/Olympus"))
    assert "Time zone: &#x27;Mars/Olympus&#x27; is not an IANA time zone name" in \
        response.content.decode()
    response = admin_client.post("/schedules/new/", schedule_form(destination,
                                                                  status_code=["abc"]))
    assert 'id="errors-status_code" class="error-slot"><p class="field-error">Status code' in \
        response.content.decode()
    response = admin_client.post("/schedules/new/", schedule_form(destination,
                                                                  destination_id=""))
    assert "Deliver to: is required" in response.content.decode()
    assert not Schedule.objects.exists()


def test_the_form_links_to_destinations_when_there_is_none(admin_client):
    page = admin_client.get("/schedules/new/").content.decode()
    assert 'href="/destinations/">add one</a>' in page
    assert "add a destination" in admin_client.get("/schedules/").content.decode()


def test_a_mandatory_redaction_policy_holds_on_the_schedule_form(admin_client, workspace):
    save_policy(workspace=workspace, rules={"detectors": ["email"]}, mandatory=True,
                actor_label="root")
    destination = unchecked_destination(workspace)
    page = admin_client.get("/schedules/new/").content.decode()
    assert "mandatory and always applied" in page
    assert '<input type="checkbox" checked disabled><span class="field-label">E' in page
    # The fixed box is not sent (disabled); the rule is applied all the same.
    admin_client.post("/schedules/new/", schedule_form(destination, redact_detectors=[]))
    assert "email" in Schedule.objects.get().redaction["detectors"]


def test_members_see_schedules_but_cannot_manage_them(member_client, admin, workspace):
    schedule = make_schedule(workspace, admin, unchecked_destination(workspace))
    assert "Hourly gpt" in member_client.get("/schedules/").content.decode()
    detail = member_client.get(f"/schedules/{schedule.id}/").content.decode()
    assert "Every hour" in detail and "Pause" not in detail and "Edit" not in detail
    assert member_client.get("/schedules/new/").status_code == 403
    assert member_client.post("/schedules/new/", {"name": "x"}).status_code == 403
    assert member_client.get(f"/schedules/{schedule.id}/edit/").status_code == 403
    assert member_client.post(f"/schedules/{schedule.id}/pause/",
                              {"paused": "1"}).status_code == 403
    assert member_client.post(f"/schedules/{schedule.id}/delete/").status_code == 403
    schedule.refresh_from_db()
    assert not schedule.paused


def test_another_workspaces_schedule_is_404(admin_client, other_workspace):
    owner = get_user_model().objects.create_user(username="other")
    schedule = make_schedule(other_workspace, owner, unchecked_destination(other_workspace))
    for path in ("", "runs/", "edit/"):
        assert admin_client.get(f"/schedules/{schedule.id}/{path}").status_code == 404
    for path in ("pause/", "delete/"):
        assert admin_client.post(f"/schedules/{schedule.id}/{path}").status_code == 404
    assert Schedule.objects.filter(id=schedule.id, paused=False).exists()


def test_pause_resume_edit_and_delete_keeping_the_runs_exports(admin_client, admin,
                                                               workspace):
    destination = unchecked_destination(workspace)
    schedule = make_schedule(workspace, admin, destination)
    job = export_services.export_job_create(workspace=workspace, filters={},
                                            requested_data=["id"])
    ScheduleRun.objects.create(schedule=schedule, window_start=schedule.start,
                               window_end=schedule.start + timedelta(hours=1), export=job)

    admin_client.post(f"/schedules/{schedule.id}/pause/", {"paused": "1"})
    schedule.refresh_from_db()
    assert schedule.paused
    assert "Paused" in admin_client.get("/schedules/").content.decode()
    admin_client.post(f"/schedules/{schedule.id}/pause/", {"paused": "0"})
    schedule.refresh_from_db()
    assert not schedule.paused

    edit = admin_client.get(f"/schedules/{schedule.id}/edit/").content.decode()
    assert "Changes apply from the next window" in edit
    assert 'value="Hourly gpt"' in edit
    assert "Fixed: this schedule has run" in edit  # its start can no longer move
    response = admin_client.post(f"/schedules/{schedule.id}/edit/", schedule_form(
        destination, name="Daily gpt", start="2020-01-01T00:00"))
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert (schedule.name, schedule.interval, schedule.hour) == ("Daily gpt", "daily", 6)

    detail = admin_client.get(f"/schedules/{schedule.id}/").content.decode()
    assert f'href="/exports/{job.id}/"' in detail and "the exports its runs made" in detail
    assert admin_client.post(f"/schedules/{schedule.id}/delete/").status_code == 302
    assert not Schedule.objects.exists()
    assert ExportJob.objects.filter(id=job.id).exists()


def test_the_runs_stop_polling_once_nothing_is_under_way(admin_client, admin, workspace):
    schedule = make_schedule(workspace, admin, unchecked_destination(workspace),
                             start=timezone.now() - timedelta(minutes=1))
    htmx = {"HTTP_HX_REQUEST": "true"}
    response = admin_client.get(f"/schedules/{schedule.id}/runs/", **htmx)
    assert response.status_code == 286  # the first window has not ended: nothing to wait for
    schedule.start = timezone.now() - timedelta(hours=2)
    schedule.save()
    response = admin_client.get(f"/schedules/{schedule.id}/runs/", **htmx)
    assert response.status_code == 200 and 'hx-trigger="every 2s"' in response.content.decode()


# --- Deliver to, on the Request Data form ----------------------------------------------------

def test_request_data_offers_the_destinations_and_delivers_to_the_chosen_one(
        member_client, workspace, seeded, other_workspace):
    destination = unchecked_destination(workspace)
    page = member_client.get("/exports/new/").content.decode()
    assert "Deliver to" in page and f'value="{destination.id}"' in page
    form = {"time_range": "30d", "requested_data": ["id", "created_at"], "limit": "100",
            "offset": "0", "file_format": "jsonl", "destination_id": str(destination.id)}
    response = member_client.post("/exports/deliver/", form)
    assert response.status_code == 302
    delivery = ExportDelivery.objects.get()
    assert delivery.destination == destination and delivery.export.total_records == 100

    response = member_client.post("/exports/deliver/", {**form, "destination_id": ""})
    assert response.status_code == 302 and ExportJob.objects.count() == 2
    assert ExportDelivery.objects.count() == 1  # none asked: none owed

    elsewhere = unchecked_destination(other_workspace)
    response = member_client.post("/exports/deliver/",
                                  {**form, "destination_id": str(elsewhere.id)})
    assert response.status_code == 422
    assert "no such destination in this workspace" in response.content.decode()
    assert ExportJob.objects.count() == 2
