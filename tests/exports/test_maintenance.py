"""The maintenance pass (expired export files, logs past the retention) and its claim: once per
MAINTENANCE_INTERVAL_SECONDS whoever asks; `manage.py run_maintenance` runs it at once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from exports import retention
from exports.maintenance import claim_maintenance, run_maintenance
from exports.models import ExportJob, MaintenanceState
from logs.models import Log, LogHourlyCount
from tests.exports.test_retention import finished_job

DAY = timedelta(days=1)


def make_logs(workspace, *, days_ago: list[float]) -> None:
    now = timezone.now()
    Log.objects.bulk_create([Log(workspace=workspace, created_at=now - timedelta(days=days))
                             for days in days_ago])


def hourly_counts_match_the_logs() -> bool:
    recounted = Counter(
        (workspace_id, created_at.replace(minute=0, second=0, microsecond=0))
        for workspace_id, created_at in Log.objects.values_list("workspace_id", "created_at")
    )
    stored = Counter({(workspace_id, hour): count for workspace_id, hour, count in
                      LogHourlyCount.objects.values_list("workspace_id", "hour", "count")})
    return stored == recounted  # a zero count would differ: emptied hours must be gone


def state() -> MaintenanceState:
    return MaintenanceState.objects.get()


# --- the pass ----------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)  # as in a worker: autocommit (PostgreSQL VACUUMs)
def test_the_pass_deletes_old_logs_and_expired_files_and_keeps_the_rest(
    workspace, other_workspace, export_storage_dir, settings, capsys
):
    settings.LOGS_RETENTION_DAYS = 30
    make_logs(workspace, days_ago=[0.01, 1, 29.9, 30.1, 31, 31, 90])
    make_logs(other_workspace, days_ago=[2, 45])
    expired = finished_job(workspace, name="m/old.jsonl", expires_in=-DAY)
    fresh = finished_job(workspace, name="m/fresh.jsonl", expires_in=DAY)
    assert hourly_counts_match_the_logs()

    call_command("run_maintenance")

    assert capsys.readouterr().out.strip() == (
        "deleted 1 expired export file(s); deleted 5 log(s) older than 30 days")
    remaining = sorted((timezone.now() - log.created_at).days for log in Log.objects.all())
    assert remaining == [0, 1, 2, 29]
    assert hourly_counts_match_the_logs()
    assert not (export_storage_dir / "m" / "old.jsonl").exists()
    assert (export_storage_dir / "m" / "fresh.jsonl").exists()
    expired.refresh_from_db()
    fresh.refresh_from_db()
    assert (expired.file_name, fresh.file_name) == ("", "m/fresh.jsonl")
    record = state()
    assert (record.export_files_deleted, record.logs_deleted, record.errors) == (1, 5, "")
    assert record.runs == 1 and record.started_by.startswith("run_maintenance on ")
    assert record.finished_at >= record.started_at


@pytest.mark.django_db
def test_with_retention_off_the_pass_keeps_every_log_but_still_expires_files(
    workspace, export_storage_dir, settings
):
    settings.LOGS_RETENTION_DAYS = 0
    make_logs(workspace, days_ago=[1, 400])
    finished_job(workspace, name="m/old.jsonl", expires_in=-DAY)
    report = run_maintenance(by="test", interval=None)
    assert str(report) == ("deleted 1 expired export file(s); "
                           "log retention is off (LOGS_RETENTION_DAYS=0)")
    assert Log.objects.count() == 2
    assert (state().export_files_deleted, state().logs_deleted) == (1, None)


@pytest.mark.django_db
def test_a_failing_step_does_not_stop_the_other(
    workspace, export_storage_dir, settings, monkeypatch, capsys
):
    settings.LOGS_RETENTION_DAYS = 30
    make_logs(workspace, days_ago=[1, 40])
    finished_job(workspace, name="m/old.jsonl", expires_in=-DAY)

    def storage_down(name: str) -> None:  # the storage, not the database, is what fails here
        raise ConnectionError("storage unreachable")

    monkeypatch.setattr(retention.storage, "delete_file", storage_down)
    with pytest.raises(CommandError, match=r"deleting expired export files \(ConnectionError\)"):
        call_command("run_maintenance")
    assert "deleted 1 log(s) older than 30 days" in capsys.readouterr().out
    assert Log.objects.count() == 1
    assert state().errors == "deleting expired export files (ConnectionError)"

    monkeypatch.undo()
    make_logs(workspace, days_ago=[50])

    def database_gone(*, cutoff):
        raise TimeoutError("statement timeout")

    monkeypatch.setattr("exports.maintenance.delete_logs_before", database_gone)
    report = run_maintenance(by="test", interval=None)
    assert report.export_files_deleted == 1 and report.logs_deleted is None
    assert report.errors == ["deleting old logs (TimeoutError)"]
    assert Log.objects.count() == 2
    assert ExportJob.objects.exclude(file_name="").count() == 0


# --- the claim ---------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_pass_is_claimed_once_per_interval():
    interval = timedelta(hours=24)
    now = timezone.now()
    assert claim_maintenance(by="worker a:1", now=now, interval=interval)
    # Another worker (or the same) asking at once, or just before the interval is up: no.
    assert not claim_maintenance(by="worker b:2", now=now, interval=interval)
    assert not claim_maintenance(by="worker b:2", now=now + interval - timedelta(seconds=1),
                                 interval=interval)
    assert (state().runs, state().started_by) == (1, "worker a:1")
    # Once the interval is up, the first to ask runs it, and only that one.
    later = now + interval
    assert claim_maintenance(by="worker b:2", now=later, interval=interval)
    assert not claim_maintenance(by="worker a:1", now=later, interval=interval)
    assert (state().runs, state().started_by, state().started_at) == (2, "worker b:2", later)


@pytest.mark.django_db
def test_a_pass_that_died_midway_blocks_the_next_one_for_one_interval_only(workspace, settings):
    settings.LOGS_RETENTION_DAYS = 30
    interval = timedelta(hours=24)
    # A worker claimed the pass and was killed before it finished: no finished_at.
    assert claim_maintenance(by="worker a:1", now=timezone.now(), interval=interval)
    make_logs(workspace, days_ago=[1, 40])
    assert run_maintenance(by="worker b:2", interval=interval) is None
    assert Log.objects.count() == 2 and state().finished_at is None

    MaintenanceState.objects.update(started_at=timezone.now() - interval)
    report = run_maintenance(by="worker b:2", interval=interval)
    assert report.logs_deleted == 1 and Log.objects.count() == 1
    assert state().finished_at is not None and state().runs == 2


@pytest.mark.django_db
def test_run_maintenance_runs_whenever_the_last_pass_was_and_resets_the_interval(settings):
    interval = timedelta(hours=24)
    assert claim_maintenance(by="worker a:1", now=timezone.now(), interval=interval)
    call_command("run_maintenance")
    assert state().runs == 2 and state().started_by.startswith("run_maintenance on ")
    assert run_maintenance(by="worker a:1", interval=interval) is None


@pytest.mark.django_db
def test_the_admin_shows_the_last_pass_read_only(settings):
    settings.MAINTENANCE_INTERVAL_SECONDS = 86_400
    run_maintenance(by="worker host-1:42", interval=None)
    client = Client()
    client.force_login(get_user_model().objects.create_superuser(username="root", password=None))
    page = client.get("/admin/exports/maintenancestate/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "worker host-1:42" in text and "Next pass due" in text
    assert client.get("/admin/exports/maintenancestate/add/").status_code == 403
