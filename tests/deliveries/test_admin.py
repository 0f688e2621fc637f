"""Deliveries in the admin: a destination's secret is never shown; a webhook delivery shows
each attempt and its answer."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from deliveries.models import Destination, Webhook, WebhookAttempt, WebhookDelivery
from deliveries.secrets import encrypt
from exports import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    client = Client()
    client.force_login(get_user_model().objects.create_superuser(username="root", password=None))
    return client


def test_a_destination_page_never_shows_its_secret(staff, workspace):
    destination = Destination.objects.create(
        workspace=workspace, name="Team bucket", bucket="team", access_key_id="AKIA1",
        secret_encrypted=encrypt("very-secret-key"))
    for url in ("/admin/deliveries/destination/",
                f"/admin/deliveries/destination/{destination.id}/change/"):
        page = staff.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert "Team bucket" in html or "AKIA1" in html
        assert "very-secret-key" not in html
        assert destination.secret_encrypted not in html


def test_a_webhook_delivery_shows_its_attempts_and_answers(staff, seeded):
    job = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    webhook = Webhook.objects.create(workspace=seeded, url="https://example.com/hook",
                                     events=["export.succeeded"], secret_encrypted=encrypt("x"))
    delivery = WebhookDelivery.objects.create(webhook=webhook, export=job,
                                              event="export.succeeded",
                                              next_attempt_at=timezone.now())
    WebhookAttempt.objects.create(delivery=delivery, number=1, at=timezone.now(),
                                  status_code=503, response="upstream busy")
    page = staff.get(f"/admin/deliveries/webhookdelivery/{delivery.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "503" in html and "upstream busy" in html
    assert staff.get("/admin/deliveries/webhookdelivery/").status_code == 200


def test_a_schedule_shows_its_runs_read_only_and_can_be_paused(staff, workspace):
    from datetime import UTC, datetime, timedelta

    from deliveries.models import Schedule, ScheduleRun
    from deliveries.schedules import schedule_create

    destination = Destination.objects.create(workspace=workspace, name="Team", bucket="team",
                                             access_key_id="AKIA1", secret_encrypted="x")
    schedule = schedule_create(workspace=workspace, user=None, name="hourly gpt",
                               requested_data=["id"], destination_id=destination.id,
                               interval="hourly", start="2026-12-02T10:00:00Z")
    job = services.export_job_create(workspace=workspace, filters={}, requested_data=["id"])
    start = datetime(2026, 12, 2, 10, tzinfo=UTC)
    ScheduleRun.objects.create(schedule=schedule, window_start=start,
                               window_end=start + timedelta(hours=1), export=job)
    page = staff.get(f"/admin/deliveries/schedule/{schedule.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "hourly gpt" in html and str(job.id) in html and "Draft" in html
    assert 'name="runs-0-window_start"' not in html  # the runs are shown, not edited
    response = staff.post("/admin/deliveries/schedule/", {
        "action": "pause", "_selected_action": [str(schedule.id)]})
    assert response.status_code == 302
    assert Schedule.objects.get(id=schedule.id).paused is True
