"""Every change to a schedule happens here: create, edit (including pause and resume), delete.

Values are checked like an export's (the same normalisers, the same redaction policy check) and
refused with a ValidationError naming the field. An edit applies from the next window: runs
already made keep the export they made (each run's export is a snapshot of the schedule), and
the next window starts where the last run's ended whatever the edit (deliveries.windows). So a
schedule's `start` can change only until its first run: after that, moving it would leave a gap
or an overlap.

Making the runs is deliveries.scheduler's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Workspace
from deliveries.models import Schedule
from deliveries.selectors import workspace_destination
from deliveries.windows import INTERVALS, timezone_names
from exports.inputs import normalise_format, normalise_requested_data
from exports.redaction.policy import export_rules
from exports.services import UNSET
from logs.filters import conflict, normalise_filters, parse_timestamp, refuse_unstorable_text

# Characters a schedule's name must not hold: it is a folder of the keys in the bucket.
NAME_FORBIDDEN = set('/\\') | {chr(code) for code in range(32)} | {"\x7f"}
EDITABLE = ("name", "filters", "requested_data", "format", "redaction", "destination_id",
            "interval", "start", "timezone", "hour", "weekday", "paused")


def normalise_name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError({"name": "is required"})
    name = refuse_unstorable_text(raw.strip(), field="name")
    if len(name) > 200:
        raise ValidationError({"name": "must be at most 200 characters"})
    if name in (".", "..") or any(character in NAME_FORBIDDEN for character in name):
        raise ValidationError({"name": "must not be . or .. nor hold a slash, a backslash or a "
                                       "control character (it names the schedule's folder in "
                                       "the bucket)"})
    return name


def normalise_schedule_filters(raw: Any) -> dict:
    """An export's filters, without a time range: each run sets its window's."""
    filters = normalise_filters(raw)
    if "created_at" in filters:
        raise ValidationError({"filters.created_at": "each run exports its own window; leave "
                                                     "the time range out of a schedule"})
    return filters


def normalise_interval(raw: Any) -> str:
    if raw not in INTERVALS:
        raise ValidationError({"interval": f"must be one of {', '.join(INTERVALS)}"})
    return raw


def normalise_timezone(raw: Any) -> str:
    if raw in (None, ""):
        return "UTC"
    if not isinstance(raw, str) or raw not in timezone_names():
        raise ValidationError({"timezone": f"{raw!r} is not an IANA time zone name, e.g. "
                                           "Europe/Berlin or UTC"})
    return raw


def normalise_start(raw: Any) -> datetime:
    return parse_timestamp(raw, field="start")


def _small_whole(raw: Any, *, field: str, low: int, high: int, what: str) -> int:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise ValidationError({field: f"must be a whole number from {low} to {high} ({what})"})
    return raw


def normalise_cadence(*, interval: Any, hour: Any, weekday: Any) -> tuple[int | None,
                                                                          int | None]:
    """(hour, weekday) as the interval needs them: hourly takes neither (they are cleared),
    daily an hour, weekly an hour and a weekday. A value given out of range is refused even
    where the interval ignores it: it is bad input, not a value to drop silently."""
    if hour is not None:
        hour = _small_whole(hour, field="hour", low=0, high=23, what="the hour of the day")
    if weekday is not None:
        weekday = _small_whole(weekday, field="weekday", low=0, high=6, what="0 = Monday")
    if interval == "hourly":
        return None, None
    # Each value valid alone, missing together: the API answers these conflicting_values.
    if hour is None:
        raise conflict("hour", f"is required for a {interval} schedule (0 to 23)")
    if interval == "daily":
        return hour, None
    if weekday is None:
        raise conflict("weekday", "is required for a weekly schedule (0 = Monday to 6 = Sunday)")
    return hour, weekday


def _values(*, workspace: Workspace, given: dict[str, Any], current: Schedule | None
            ) -> dict[str, Any]:
    """The model's values from the fields given (and, on an edit, the schedule's others)."""
    values: dict[str, Any] = {}
    if "name" in given:
        values["name"] = normalise_name(given["name"])
    if "filters" in given:
        values["filters"] = normalise_schedule_filters(given["filters"])
    if "requested_data" in given:
        values["requested_data"] = normalise_requested_data(given["requested_data"])
    if "format" in given:
        values["format"] = normalise_format(given["format"])
    if "redaction" in given or current is None:
        # Nothing asked on creation: the workspace's default rules, as for an export.
        values["redaction"] = export_rules(workspace.id, given.get("redaction"),
                                           given="redaction" in given)
    if "destination_id" in given:
        destination = workspace_destination(workspace=workspace,
                                            destination_id=given["destination_id"])
        if destination is None:
            raise ValidationError({"destination_id": "no such destination in this workspace"})
        values["destination"] = destination
    if "interval" in given:
        values["interval"] = normalise_interval(given["interval"])
    if "start" in given:
        values["start"] = normalise_start(given["start"])
    if "timezone" in given:
        values["timezone"] = normalise_timezone(given["timezone"])
    if "paused" in given:
        if not isinstance(given["paused"], bool):
            raise ValidationError({"paused": "must be true or false"})
        values["paused"] = given["paused"]
    interval = values.get("interval", current.interval if current else None)
    if interval is None:
        raise ValidationError({"interval": f"is required: one of {', '.join(INTERVALS)}"})
    values["hour"], values["weekday"] = normalise_cadence(
        interval=interval,
        hour=given.get("hour", current.hour if current else None),
        weekday=given.get("weekday", current.weekday if current else None),
    )
    return values


def _save(schedule: Schedule, *, fields: list[str] | None) -> None:
    try:
        with transaction.atomic():
            schedule.save(update_fields=fields) if fields else schedule.save()
    except IntegrityError as error:
        if "one_schedule_name_per_workspace" in str(error) or "UNIQUE" in str(error).upper():
            raise conflict("name", "this workspace already has a schedule of this name"
                           ) from error
        raise


def schedule_create(*, workspace: Workspace, user, **fields: Any) -> Schedule:
    """A new schedule; `user` owns it (its runs' exports are theirs, the e-mails go to them).

    fields: name, filters, requested_data, format, redaction, destination_id, interval, start
    (aware datetime or ISO 8601 text), timezone (IANA name, default UTC), hour, weekday, paused.
    Required: name, requested_data, destination_id, interval, start; hour for daily and weekly,
    weekday for weekly. Raises ValidationError naming the field; creates nothing then.
    """
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise ValidationError({unknown[0]: "is not a field of a schedule"})
    for required in ("name", "requested_data", "destination_id", "interval", "start"):
        if fields.get(required) is None:
            raise ValidationError({required: "is required"})
    fields.setdefault("filters", {})
    fields.setdefault("format", None)
    fields.setdefault("timezone", "UTC")
    if fields.get("redaction", UNSET) is UNSET:
        fields.pop("redaction", None)
    values = _values(workspace=workspace, given=fields, current=None)
    schedule = Schedule(workspace=workspace, owner=user, **values)
    _save(schedule, fields=None)
    return schedule


def schedule_update(*, schedule: Schedule, **changes: Any) -> Schedule:
    """Changes any of the fields schedule_create takes (paused too: pause stops making runs;
    resume makes the windows missed meanwhile, oldest first). Applies from the next window.
    `start` can change only while the schedule has no run. Raises ValidationError naming the
    field; changes nothing then."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationError({unknown[0]: "is not a field of a schedule"})
    changes = {key: value for key, value in changes.items() if value is not UNSET}
    if "start" in changes and schedule.runs.exists():
        start = normalise_start(changes["start"])
        if start != schedule.start:
            raise conflict("start", "this schedule has run already: its windows go on from its "
                                    "last run's end; create a new schedule to start elsewhere")
    values = _values(workspace=schedule.workspace, given=changes, current=schedule)
    for name, value in values.items():
        setattr(schedule, name, value)
    if values.get("paused") is False:
        schedule.error = ""  # tried again at once on resume
    _save(schedule, fields=[*(name for name in values), "error", "updated_at"])
    schedule.refresh_from_db()
    return schedule


def schedule_delete(*, schedule: Schedule) -> None:
    """The schedule and its runs; the runs' exports (and delivered files) are kept."""
    schedule.delete()
