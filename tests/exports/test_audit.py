"""The audit trail: each create, start, cancel and download is recorded with who, when, where."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from exports.models import ExportEvent, ExportJob

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Action = ExportEvent.Action
ADDRESS = "198.51.100.23"


def trail(job_id) -> list[tuple[str, str, str, str | None]]:
    return [(event.action, event.actor, event.channel, event.ip_address)
            for event in ExportEvent.objects.filter(export_id=job_id).order_by("at", "id")]


def test_every_page_action_and_the_signed_link_fetch_are_recorded(
        client, user, seeded, rq_workers, settings):
    client.force_login(user)
    created = client.post("/exports/create/", {
        "time_range": "30d", "requested_data": ["id", "created_at"], "limit": "100",
        "offset": "0", "file_format": "jsonl",
    }, REMOTE_ADDR=ADDRESS)
    assert created.status_code == 302
    job = ExportJob.objects.get()
    client.post(f"/exports/{job.id}/start/", REMOTE_ADDR=ADDRESS)
    client.post(f"/exports/{job.id}/cancel/", REMOTE_ADDR=ADDRESS)
    client.post(f"/exports/{job.id}/start/", REMOTE_ADDR=ADDRESS)
    rq_workers.run_burst()
    job.refresh_from_db()
    assert job.status == ExportJob.Status.SUCCESS, job.error

    link = client.get(f"/exports/{job.id}/download/", REMOTE_ADDR=ADDRESS)
    assert link.status_code == 302
    # The link is fetched from elsewhere (a script, another machine) by whoever holds it.
    fetched = client.get(link["Location"], REMOTE_ADDR="192.0.2.200")
    assert fetched.status_code == 200 and len(b"".join(fetched.streaming_content)) > 0

    assert trail(job.id) == [
        (Action.CREATED, "ada", "page", ADDRESS),
        (Action.STARTED, "ada", "page", ADDRESS),
        (Action.CANCELLED, "ada", "page", ADDRESS),
        (Action.STARTED, "ada", "page", ADDRESS),
        (Action.DOWNLOAD_LINK, "ada", "page", ADDRESS),
        (Action.DOWNLOADED, "ada", "signed_url", "192.0.2.200"),
    ]
    events = ExportEvent.objects.filter(export_id=job.id).order_by("at", "id")
    assert [event.attempt for event in events] == [0, 1, 1, 2, 2, 2]
    assert all(event.user_id == user.id for event in events[:5])

    # Shown on the export's activity page, newest first ...
    page = client.get(f"/exports/{job.id}/activity/").content.decode()
    rows = re.findall(r'<tr class="activity-row" data-action="([a-z_]+)"', page)
    assert rows == ["downloaded", "download_link", "started", "cancelled", "started", "created"]
    assert "192.0.2.200" in page and "Signed download link" in page
    # ... linked from its row, and in the admin.
    assert f'href="/exports/{job.id}/activity/"' in client.get("/").content.decode()
    admin = get_user_model().objects.create_superuser("root", password="pw-root-12345")
    client.force_login(admin)
    change = client.get(f"/admin/exports/exportjob/{job.id}/change/").content.decode()
    assert "activity (audit trail)" in change.lower() and "192.0.2.200" in change
    listing = client.get("/admin/exports/exportevent/").content.decode()
    assert listing.count(str(job.id)) >= 6


def test_the_address_behind_a_trusted_proxy_is_the_one_the_proxy_saw(client, user, seeded,
                                                                    settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client.force_login(user)
    client.post("/exports/create/", {
        "time_range": "30d", "requested_data": ["id"], "limit": "10", "offset": "0",
        "file_format": "jsonl",
    }, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.50")
    assert trail(ExportJob.objects.get().id) == [
        (Action.CREATED, "ada", "page", "203.0.113.50"),  # not the proxy, nor the client's claim
    ]


def test_the_trail_outlives_a_deleted_export(client, user, seeded):
    from exports import services
    from exports.audit import Actor

    job = services.export_job_create(
        workspace=seeded, filters={}, requested_data=["id"],
        actor=Actor(channel="page", user=user, ip_address=ADDRESS),
    )
    services.export_job_delete(job=job)
    assert trail(job.id) == [(Action.CREATED, "ada", "page", ADDRESS)]


def test_delete_is_recorded_with_who_when_and_from_where(client, user, seeded):
    from exports import services
    from exports.audit import Actor

    client.force_login(user)
    job = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    response = client.post(f"/exports/{job.id}/delete/", REMOTE_ADDR=ADDRESS)
    assert response.status_code == 302
    assert not ExportJob.objects.filter(id=job.id).exists()
    assert trail(job.id) == [(Action.DELETED, "ada", "page", ADDRESS)]

    other = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    services.export_job_delete(job=other, actor=Actor(channel="admin", user=user,
                                                      ip_address=ADDRESS))
    assert trail(other.id) == [(Action.DELETED, "ada", "admin", ADDRESS)]
