"""E-mail to the person who started an export, once per terminal state, unless turned off."""

from __future__ import annotations

import pytest
from django.core import mail

from deliveries.models import EmailNotice
from deliveries.sending import send_due
from deliveries.services import owe_notifications
from exports import runtime, services
from exports.models import ExportJob

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def person(user):
    user.email = "ada@example.com"
    user.save(update_fields=["email"])
    return user


def run_in_process(job: ExportJob) -> ExportJob:
    # The job as a worker runs it (the e-mail is then sent here, into Django's outbox).
    ExportJob.objects.filter(id=job.id).update(status=ExportJob.Status.IN_PROGRESS, attempt=1)
    runtime.export_job_run(job_id=job.id, attempt=1)
    job.refresh_from_db()
    return job


def test_the_starter_gets_one_email_with_a_link_when_the_export_succeeds(
        seeded, person, export_storage_dir, settings):
    settings.DELIVERY_SITE_URL = "https://exports.example.com"
    job = run_in_process(services.export_job_create(
        workspace=seeded, filters={}, requested_data=["id"], created_by=person,
        description="Weekly audit"))
    assert job.status == ExportJob.Status.SUCCESS, job.error
    assert send_due() == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.com"]
    assert message.subject == "Your export is ready: Weekly audit"
    assert f"https://exports.example.com/exports/{job.id}/" in message.body
    # Sent once: neither another pass nor the same state announced again sends more.
    owe_notifications(job_id=job.id, status=ExportJob.Status.SUCCESS)
    assert send_due() == 0
    assert len(mail.outbox) == 1
    assert EmailNotice.objects.get().status == "sent"


def test_a_failure_is_mailed_too(seeded, person):
    job = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"],
                                     created_by=person)
    ExportJob.objects.filter(id=job.id).update(status=ExportJob.Status.IN_PROGRESS, attempt=1)
    assert services.export_job_fail(job_id=job.id, attempt=1, reason="the disk is full")
    send_due()
    assert [m.subject for m in mail.outbox] == [f"Your export failed: export {job.id}"]
    assert "the disk is full" in mail.outbox[0].body


def test_a_person_who_turned_the_emails_off_gets_none(seeded, person, client):
    client.force_login(person)
    page = client.get("/notifications/")
    assert page.status_code == 200 and b"checked" in page.content
    client.post("/notifications/save/", {})  # the box unticked
    assert b"checked" not in client.get("/notifications/").content
    job = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"],
                                     created_by=person)
    ExportJob.objects.filter(id=job.id).update(status=ExportJob.Status.IN_PROGRESS, attempt=1)
    services.export_job_fail(job_id=job.id, attempt=1, reason="no")
    send_due()
    assert mail.outbox == []
    assert not EmailNotice.objects.exists()
