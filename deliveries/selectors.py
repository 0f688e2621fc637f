"""What the pages and the API read of deliveries, always within one workspace."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Max, QuerySet

from accounts.models import Workspace
from deliveries.models import Destination, ExportDelivery, Schedule, ScheduleRun, Webhook
from deliveries.windows import Cadence, Window, next_window
from exports.models import ExportJob


def workspace_destinations(*, workspace: Workspace) -> list[Destination]:
    return list(Destination.objects.filter(workspace=workspace))


def workspace_destination(*, workspace: Workspace, destination_id) -> Destination | None:
    try:
        return Destination.objects.filter(workspace=workspace, id=destination_id).first()
    except (ValidationError, ValueError):  # not a UUID: no such destination either
        return None


def workspace_webhooks(*, workspace: Workspace) -> list[Webhook]:
    return list(Webhook.objects.filter(workspace=workspace))


def workspace_webhook(*, workspace: Workspace, webhook_id) -> Webhook | None:
    try:
        return Webhook.objects.filter(workspace=workspace, id=webhook_id).first()
    except (ValidationError, ValueError):  # not a UUID: no such webhook either
        return None


def export_delivery(export: ExportJob) -> dict | None:
    """Where the export's file goes (or went): the delivered key and sha256 once copied."""
    row = ExportDelivery.objects.filter(export=export).first()
    if row is None:
        return None
    return {"destination_id": row.destination_id, "status": row.status, "key": row.key or None,
            "manifest_key": row.manifest_key or None, "sha256": row.sha256 or None,
            "error": row.last_error or None}


def schedules_of(*, workspace: Workspace) -> QuerySet[Schedule]:
    """The workspace's schedules by name, each with `last_window_end` (None before any run)."""
    return (Schedule.objects.filter(workspace=workspace).select_related("destination", "owner")
            .annotate(last_window_end=Max("runs__window_end")))


def schedule_of(*, workspace: Workspace, schedule_id) -> Schedule | None:
    """One schedule of the workspace; None for another workspace's id as for a wrong one."""
    try:
        return schedules_of(workspace=workspace).filter(id=schedule_id).first()
    except (ValidationError, ValueError):  # not a UUID
        return None


def schedule_runs(*, schedule: Schedule) -> QuerySet[ScheduleRun]:
    """The schedule's runs, newest window first, each with its export (None once deleted):
    the run's status is its export's."""
    return ScheduleRun.objects.filter(schedule=schedule).select_related("export").order_by(
        "-window_start")


def cadence(schedule: Schedule) -> Cadence:
    return Cadence(interval=schedule.interval, timezone=schedule.timezone, hour=schedule.hour,
                   weekday=schedule.weekday)


def next_window_of(schedule: Schedule) -> Window:
    """The window the schedule runs next: from its last run's end, or from its start."""
    last = getattr(schedule, "last_window_end", None)
    if last is None and not hasattr(schedule, "last_window_end"):
        last = schedule.runs.aggregate(end=Max("window_end"))["end"]
    return next_window(cadence(schedule), first_start=schedule.start, previous_end=last)


def next_run_at(schedule: Schedule) -> datetime | None:
    """When the next window's run is made: its end plus SCHEDULES_SETTLE_SECONDS (in the
    past while a backfill or a catch-up is under way); None while paused."""
    if schedule.paused:
        return None
    window = next_window_of(schedule)
    return window.end + timedelta(seconds=settings.SCHEDULES_SETTLE_SECONDS)


def run_status(run: ScheduleRun) -> str:
    """A run's status is its export's; "deleted" once the export was deleted."""
    return run.export.status if run.export is not None else "deleted"
