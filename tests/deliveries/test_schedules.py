"""Schedules end to end: real RQ workers run the scheduler and deliver each window to a real
SeaweedFS bucket at its date-laid-out key, its manifest beside it."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest
from django.utils import timezone

from deliveries.models import ExportDelivery, Outbox, Schedule, ScheduleRun
from deliveries.scheduler import object_keys
from deliveries.schedules import schedule_create
from deliveries.services import destination_create
from deliveries.windows import Window
from exports.models import ExportJob
from logs.models import Log
from tests.conftest import wait_for
from tests.deliveries.conftest import destination_body

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

HOUR = timedelta(hours=1)
FAST = {"SCHEDULES_TICK_SECONDS": "0.5", "SCHEDULES_SETTLE_SECONDS": "0",
        "DELIVERY_POLL_SECONDS": "0.5"}


@pytest.fixture
def destination(workspace, team_bucket):
    _, bucket, endpoint = team_bucket
    return destination_create(workspace=workspace, **destination_body(endpoint, bucket))


@pytest.fixture
def unchecked_destination(workspace):
    """For the tests of the tick alone, which copy nothing: no bucket behind it."""
    from deliveries.models import Destination

    return Destination.objects.create(workspace=workspace, name="Team", bucket="team",
                                      prefix="exports/daily", access_key_id="k",
                                      secret_encrypted="-")


def log_at(workspace, moment: datetime, *, model: str = "gpt-4o") -> Log:
    return Log.objects.create(workspace=workspace, created_at=moment, ai_provider="openai",
                              ai_model=model, status_code=200)


def seed_hours(workspace, first: datetime, hours: int) -> dict[str, datetime]:
    """Logs in each hour from `first`: one right at its start (the half-open edge), others
    inside and one a microsecond before its end; some outside the schedule's filters, and
    some just before the first hour and at and after the last one's end. id -> created_at
    of those the schedule selects."""
    wanted = {}
    for index in range(hours):
        start = first + index * HOUR
        for moment in (start, start + timedelta(minutes=7 + index),
                       start + HOUR - timedelta(microseconds=1)):
            wanted[str(log_at(workspace, moment).id)] = moment
        log_at(workspace, start + timedelta(minutes=30), model="claude-3")  # filtered out
    log_at(workspace, first - timedelta(microseconds=1))  # before the first window
    log_at(workspace, first + hours * HOUR)  # the next window's first instant
    return wanted


def hourly_schedule(workspace, user, destination, *, start: datetime, **changes) -> Schedule:
    return schedule_create(workspace=workspace, user=user, **{
        "name": "gpt hourly", "filters": {"ai_model": ["gpt-4o"]},
        "requested_data": ["id", "created_at", "ai_model"], "format": "jsonl",
        "destination_id": destination.id, "interval": "hourly", "start": start, **changes})


def delivered_runs(schedule: Schedule, *, before: datetime) -> list[ScheduleRun]:
    return list(ScheduleRun.objects.filter(
        schedule=schedule, window_start__lt=before,
        export__destination_delivery__status=Outbox.Status.SENT).order_by("window_start"))


def check_windows(client, bucket: str, schedule: Schedule, *, first: datetime, hours: int,
                  wanted: dict[str, datetime]) -> None:
    """`hours` consecutive one-hour windows from `first`, one run and one export each, each
    file at its key holding exactly its window's logs, its manifest (written after it) naming
    its sha256 and rows; together every selected log once."""
    runs = list(ScheduleRun.objects.filter(schedule=schedule, window_start__lt=first
                                           + hours * HOUR).order_by("window_start"))
    assert [(run.window_start, run.window_end) for run in runs] == [
        (first + index * HOUR, first + (index + 1) * HOUR) for index in range(hours)]
    assert len({run.export_id for run in runs}) == hours
    seen: dict[str, int] = {}
    for index, run in enumerate(runs):
        key, manifest_key = object_keys(schedule, Window(run.window_start, run.window_end),
                                        prefix="exports/daily")
        start = run.window_start
        assert key == (f"exports/daily/gpt hourly/year={start:%Y}/month={start:%m}/"
                       f"day={start:%d}/{start:%Y%m%dT%H}0000Z.jsonl")
        assert manifest_key == key.removesuffix(".jsonl") + ".manifest.json"
        delivery = ExportDelivery.objects.get(export=run.export)
        assert (delivery.key, delivery.manifest_key) == (key, manifest_key)
        body = client.get_object(Bucket=bucket, Key=key)
        data = body["Body"].read()
        manifest_object = client.get_object(Bucket=bucket, Key=manifest_key)
        manifest = json.loads(manifest_object["Body"].read())
        assert manifest_object["LastModified"] >= body["LastModified"]
        assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
        rows = [json.loads(line) for line in data.decode().splitlines()]
        assert manifest["rows"] == len(rows)
        ids = {row["id"] for row in rows}
        assert ids == {log_id for log_id, moment in wanted.items()
                       if run.window_start <= moment < run.window_end}, f"window {index}"
        assert all(row["ai_model"] == "gpt-4o" for row in rows)
        for log_id in ids:
            seen[log_id] = seen.get(log_id, 0) + 1
        assert run.export.created_by == schedule.owner
    assert seen == dict.fromkeys(wanted, 1)  # no gap, no overlap


def test_five_hours_back_two_workers_deliver_each_window_once(
        workspace, user, destination, team_bucket, rq_workers):
    client, bucket, _ = team_bucket
    first = timezone.now().replace(minute=0, second=0, microsecond=0) - 5 * HOUR
    wanted = seed_hours(workspace, first, 5)
    schedule = hourly_schedule(workspace, user, destination, start=first)
    for _ in range(2):  # both tick as they start: the unique key lets one make each run
        rq_workers.start(burst=False, **FAST)
    wait_for(lambda: len(delivered_runs(schedule, before=first + 5 * HOUR)) == 5, timeout=90,
             message="5 windows not delivered")
    rq_workers.stop_all()
    check_windows(client, bucket, schedule, first=first, hours=5, wanted=wanted)
    # One export per run, nothing more (the hour may have turned meanwhile: a sixth run).
    assert ExportJob.objects.filter(workspace=workspace).count() == \
        ScheduleRun.objects.filter(schedule=schedule).count()


def test_workers_stopped_for_two_windows_catch_up_oldest_first(
        workspace, user, destination, team_bucket, rq_workers):
    client, bucket, _ = team_bucket
    first = timezone.now().replace(minute=0, second=0, microsecond=0) - 5 * HOUR
    wanted = seed_hours(workspace, first, 5)
    schedule = hourly_schedule(workspace, user, destination, start=first)
    # Phase 1: the workers as they ran two hours ago (a window was then due 2 h later than
    # now): they deliver the first three windows, then stop.
    rq_workers.start(burst=False, **{**FAST, "SCHEDULES_SETTLE_SECONDS": "7200"})
    wait_for(lambda: len(delivered_runs(schedule, before=first + 5 * HOUR)) == 3, timeout=60,
             message="the first 3 windows not delivered")
    rq_workers.stop_all()
    assert ScheduleRun.objects.filter(schedule=schedule).count() == 3
    restarted = timezone.now()
    # Phase 2: two workers start again and catch the two missed windows up, oldest first.
    for _ in range(2):
        rq_workers.start(burst=False, **FAST)
    wait_for(lambda: len(delivered_runs(schedule, before=first + 5 * HOUR)) == 5, timeout=90,
             message="the 2 missed windows not caught up")
    rq_workers.stop_all()
    caught_up = list(ScheduleRun.objects.filter(schedule=schedule, created_at__gte=restarted,
                                                window_start__lt=first + 5 * HOUR)
                     .order_by("id"))
    assert [run.window_start for run in caught_up] == [first + 3 * HOUR, first + 4 * HOUR]
    check_windows(client, bucket, schedule, first=first, hours=5, wanted=wanted)


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_an_empty_window_delivers_an_empty_file_and_its_manifest(
        workspace, user, destination, team_bucket, rq_workers, file_format):
    client, bucket, _ = team_bucket
    first = timezone.now().replace(minute=0, second=0, microsecond=0) - HOUR
    log_at(workspace, first + timedelta(minutes=5), model="claude-3")  # not selected
    schedule = hourly_schedule(workspace, user, destination, start=first, format=file_format)
    rq_workers.start(burst=False, **FAST)
    wait_for(lambda: delivered_runs(schedule, before=first + HOUR), timeout=60,
             message="the empty window not delivered")
    rq_workers.stop_all()
    run = ScheduleRun.objects.get(schedule=schedule, window_start=first)
    key, manifest_key = object_keys(schedule, Window(first, first + HOUR),
                                    prefix="exports/daily")
    data = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    manifest = json.loads(client.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    assert manifest["rows"] == 0 == run.export.rows_written
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    if file_format == "csv":
        assert data.decode().splitlines() == ["id,created_at,ai_model"]
    else:
        table = pq.read_table(io.BytesIO(data))
        assert table.num_rows == 0
        assert table.column_names == ["id", "created_at", "ai_model"]


def test_a_window_over_the_export_cap_fails_with_the_reason(
        workspace, user, unchecked_destination, export_queue, settings):
    from deliveries.models import EmailNotice
    from deliveries.scheduler import tick

    settings.EXPORTS_MAX_LOGS_PER_EXPORT = 3
    settings.SCHEDULES_SETTLE_SECONDS = 0
    user.email = "ada@example.com"
    user.save()
    first = datetime(2026, 1, 5, 10, tzinfo=UTC)
    for minute in range(4):
        log_at(workspace, first + timedelta(minutes=minute))
    schedule = hourly_schedule(workspace, user, unchecked_destination, start=first)
    report = tick(now=first + 2 * HOUR)
    assert report.made == 2
    over, fits = ScheduleRun.objects.filter(schedule=schedule).order_by("window_start")
    assert over.export.status == ExportJob.Status.FAILED
    assert "more than 3 logs" in over.export.error
    # The schedule's owner is told, as of any export of theirs that fails.
    assert EmailNotice.objects.get(export=over.export).recipient == "ada@example.com"
    assert fits.export.status == ExportJob.Status.IN_PROGRESS  # the empty window after it


def test_ticks_at_once_make_one_run_and_one_export_per_window(
        workspace, user, unchecked_destination, export_queue, settings):
    """Four ticks at the same moment on their own connections, over a day's backfill: each
    window once (the unique key on schedule and window_start decides; no lock in memory)."""
    import threading

    from django.db import IntegrityError, connection, transaction

    from deliveries.scheduler import tick

    settings.SCHEDULES_SETTLE_SECONDS = 0
    first = datetime(2026, 1, 5, 0, tzinfo=UTC)
    schedule = hourly_schedule(workspace, user, unchecked_destination, start=first)
    gate = threading.Barrier(4)
    errors: list[BaseException] = []

    def one_tick() -> None:
        try:
            gate.wait()
            tick(now=first + 24 * HOUR)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=one_tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    runs = list(ScheduleRun.objects.filter(schedule=schedule).order_by("window_start"))
    assert [run.window_start for run in runs] == [first + index * HOUR for index in range(24)]
    assert all(run.window_end == run.window_start + HOUR for run in runs)
    assert ExportJob.objects.filter(workspace=workspace).count() == 24
    # The workspace's cap on exports in progress holds the rest as drafts, started later.
    assert ExportJob.objects.filter(status=ExportJob.Status.IN_PROGRESS).count() == \
        settings.EXPORTS_MAX_IN_PROGRESS_PER_WORKSPACE
    with pytest.raises(IntegrityError), transaction.atomic():
        ScheduleRun.objects.create(schedule=schedule, window_start=first,
                                   window_end=first + HOUR)


def test_paused_makes_no_run_and_resume_catches_up_oldest_first(
        workspace, user, unchecked_destination, export_queue, settings):
    from deliveries.scheduler import tick
    from deliveries.schedules import schedule_update

    settings.SCHEDULES_SETTLE_SECONDS = 60
    first = datetime(2026, 1, 5, 10, tzinfo=UTC)
    schedule = hourly_schedule(workspace, user, unchecked_destination, start=first)
    assert tick(now=first + HOUR + timedelta(seconds=59)).made == 0  # not settled yet
    assert tick(now=first + HOUR + timedelta(seconds=60)).made == 1
    schedule_update(schedule=schedule, paused=True)
    assert tick(now=first + 4 * HOUR + timedelta(minutes=5)).made == 0
    schedule_update(schedule=schedule, paused=False, interval="daily", hour=0)
    # Edited meanwhile: the missed time is one window of the new cadence, from the last end.
    report = tick(now=datetime(2026, 1, 7, 0, 5, tzinfo=UTC))
    runs = list(ScheduleRun.objects.filter(schedule=schedule).order_by("id"))
    assert report.made == 2
    assert [(run.window_start, run.window_end) for run in runs] == [
        (first, first + HOUR), (first + HOUR, datetime(2026, 1, 6, tzinfo=UTC)),
        (datetime(2026, 1, 6, tzinfo=UTC), datetime(2026, 1, 7, tzinfo=UTC))]
