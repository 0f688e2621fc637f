from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from exports import services
from exports.errors import ExportNotReady
from exports.models import ExportJob
from exports.storage import export_storage


def finished_job(workspace, *, name: str, expires_in: timedelta) -> ExportJob:
    export_storage().save(name, ContentFile(b'{"id": "x"}\n'))
    job = services.export_job_create(workspace=workspace, filters={}, requested_data=["id"])
    # Stands in for a finished run; the run itself is covered by the integration tests.
    ExportJob.objects.filter(id=job.id).update(
        status=ExportJob.Status.SUCCESS, file_name=name, expires_at=timezone.now() + expires_in
    )
    job.refresh_from_db()
    return job


def test_expired_files_are_deleted_and_fresh_ones_kept(seeded, export_storage_dir, capsys):
    old = finished_job(seeded, name="a/old.jsonl", expires_in=timedelta(seconds=-1))
    fresh = finished_job(seeded, name="a/fresh.jsonl", expires_in=timedelta(days=1))
    call_command("purge_expired_exports")
    assert "deleted 1 expired export file(s)" in capsys.readouterr().out
    assert not (export_storage_dir / "a" / "old.jsonl").exists()
    assert (export_storage_dir / "a" / "fresh.jsonl").exists()
    old.refresh_from_db()
    assert old.file_name == "" and old.status == ExportJob.Status.SUCCESS
    with pytest.raises(ExportNotReady, match="expired"):
        services.export_job_download_url(job=old)
    assert services.export_job_download_url(job=fresh)
