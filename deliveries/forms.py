"""The Destinations and Schedules pages' forms: they only parse what the browser sent.

deliveries.services and deliveries.schedules decide what is valid; their ValidationError keys
are mapped back onto these fields. The schedule form is the Request Data form without what a
schedule sets per run (time range, limit, offset, description), so both offer the same filters,
field picker, formats and redaction rules, the workspace's mandatory rules fixed alike.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import cast
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from deliveries.models import Destination, Schedule
from deliveries.windows import INTERVALS, timezone_names
from exports.forms import SERVICE_ERROR_FIELDS, ExportRequestForm
from logs.forms import DATETIME_INPUT_FORMATS

DESTINATION_FIELDS = ("name", "endpoint_url", "region", "bucket", "prefix", "access_key_id",
                      "secret_access_key")
# The zones offered in the time zone input's list (any IANA name is taken).
COMMON_ZONES = ("UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "Europe/Madrid",
                "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
                "America/Sao_Paulo", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo",
                "Asia/Shanghai", "Australia/Sydney")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# What a schedule sets per run: not on its form.
PER_RUN_FIELDS = ("time_range", "created_from", "created_to", "limit", "offset", "description")
# The filters the schedule form can show and edit; a schedule made through the API with
# others keeps its filters as they are (the page says so).
FORM_FILTERS = {"ai_provider", "ai_model", "status_code", "cost", "total_tokens", "metadata",
                "trace_id"}


def _described(form: forms.Form) -> None:
    for name, field in form.fields.items():
        field.widget.attrs["aria-describedby"] = f"errors-{name}"


class DestinationForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200, required=False,
                           widget=forms.TextInput(attrs={"placeholder": "e.g. Team archive"}))
    endpoint_url = forms.CharField(
        label="Endpoint URL", required=False,
        widget=forms.TextInput(attrs={"inputmode": "url", "autocomplete": "off",
                                      "placeholder": "blank for AWS S3, e.g. https://storage.googleapis.com"}))
    region = forms.CharField(label="Region", required=False,
                             widget=forms.TextInput(attrs={"placeholder": "e.g. us-east-1"}))
    bucket = forms.CharField(label="Bucket", required=False)
    # (A field named as BaseForm's `prefix` attribute: the form's metaclass takes it out of the
    # class, so the attribute keeps meaning the forms' name prefix, None here.)
    prefix = forms.CharField(  # type: ignore[assignment]
        label="Key prefix", required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. exports/llm-logs"}))
    access_key_id = forms.CharField(label="Access key ID", required=False,
                                    widget=forms.TextInput(attrs={"autocomplete": "off"}))
    # render_value=False: the secret is never sent back to the browser, not even on an error.
    secret_access_key = forms.CharField(
        label="Secret access key", required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _described(self)

    def service_arguments(self) -> dict:
        return {name: self.cleaned_data.get(name) or "" for name in DESTINATION_FIELDS}

    def add_service_errors(self, error: ValidationError) -> None:
        for key, messages in error.message_dict.items():
            field = key if key in self.fields else None
            for message in messages:
                label = self.fields[key].label if field else key
                self.add_error(field, f"{label}: {message}")


SCHEDULE_ERROR_FIELDS = {
    **SERVICE_ERROR_FIELDS,
    "name": "name", "destination_id": "destination_id", "interval": "interval",
    "start": "start", "timezone": "timezone", "hour": "hour", "weekday": "weekday",
    "filters": "__all__",
}


class ScheduleForm(ExportRequestForm):
    error_fields = SCHEDULE_ERROR_FIELDS

    name = forms.CharField(label="Name", max_length=200, required=False,
                           widget=forms.TextInput(attrs={"placeholder": "e.g. Nightly usage"}))
    destination_id = forms.ChoiceField(label="Deliver to", required=False)
    interval = forms.ChoiceField(
        label="Runs", required=False, initial="daily",
        choices=[(name, Schedule.Interval(name).label) for name in INTERVALS])
    start = forms.DateTimeField(
        label="First window starts", required=False, input_formats=DATETIME_INPUT_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    timezone = forms.CharField(label="Time zone", required=False, initial="UTC",
                               widget=forms.TextInput(attrs={"list": "timezone-names",
                                                             "autocomplete": "off"}))
    hour = forms.TypedChoiceField(label="At", required=False, coerce=int, empty_value=None,
                                  initial=6,
                                  choices=[(hour, f"{hour:02d}:00") for hour in range(24)])
    weekday = forms.TypedChoiceField(label="On", required=False, coerce=int, empty_value=None,
                                     initial=0, choices=list(enumerate(WEEKDAYS)))

    def __init__(self, *args, destinations: list[Destination] | None = None, schedule=None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        for name in PER_RUN_FIELDS:
            del self.fields[name]
        self.schedule = schedule
        self.has_destinations = bool(destinations)
        cast(forms.ChoiceField, self.fields["destination_id"]).choices = [
            ("", "Choose a destination…")] + [
            (str(destination.id), f"{destination.name} (s3://{destination.bucket}/"
                                  f"{destination.prefix})") for destination in destinations or []]
        # Now, in UTC, down to the hour: a new schedule's first window is the current hour's.
        now = timezone.now().astimezone(ZoneInfo("UTC"))
        self.fields["start"].initial = now.replace(minute=0, second=0, microsecond=0,
                                                   tzinfo=None)
        # A schedule that has run keeps its windows going from its last run: start is fixed.
        self.start_fixed = schedule is not None and schedule.runs.exists()
        if self.start_fixed:
            self.fields["start"].disabled = True
        self.filters_fixed = schedule is not None and bool(set(schedule.filters) - FORM_FILTERS)
        _described(self)

    @classmethod
    def initial_of(cls, schedule: Schedule) -> dict:
        """The form's values for editing the schedule."""
        zone = ZoneInfo(schedule.timezone)
        filters = schedule.filters or {}
        data: dict = {
            "name": schedule.name, "destination_id": str(schedule.destination_id),
            "interval": schedule.interval, "timezone": schedule.timezone,
            "start": schedule.start.astimezone(zone).replace(tzinfo=None),
            "hour": schedule.hour if schedule.hour is not None else 6,
            "weekday": schedule.weekday if schedule.weekday is not None else 0,
            "requested_data": list(schedule.requested_data), "file_format": schedule.format,
        }
        for name in ("ai_provider", "ai_model", "status_code"):
            if filters.get(name):
                data[name] = [str(value) for value in filters[name]]
        if filters.get("trace_id"):
            data["trace_id"] = filters["trace_id"][0]
        if filters.get("metadata"):
            data["metadata"] = ", ".join(f"{key} = {value}"
                                         for key, value in filters["metadata"].items())
        for name in ("cost", "total_tokens"):
            for bound, end in (("gte", "min"), ("lte", "max")):
                value = (filters.get(name) or {}).get(bound)
                if value is not None:
                    data[f"{name}_{end}"] = (_cents_to_dollars(value) if name == "cost"
                                             else str(value))
        rules = schedule.redaction or {}
        data["redact_detectors"] = rules.get("detectors", [])
        data["redact_patterns"] = "\n".join(f"{item['name']} = {item['regex']}"
                                            for item in rules.get("patterns", []))
        data["redact_drop_keys"] = ", ".join(rules.get("drop_keys", []))
        return data

    @property
    def zone_names(self) -> tuple[str, ...]:
        return COMMON_ZONES

    def _start(self) -> datetime | None:
        """The start as typed, read as a wall-clock time of the chosen time zone."""
        start = self.cleaned_data.get("start")
        if start is None:
            return None
        wall = timezone.make_naive(start) if timezone.is_aware(start) else start
        zone_name = self.cleaned_data.get("timezone") or "UTC"
        zone = ZoneInfo(zone_name if zone_name in timezone_names() else "UTC")
        return wall.replace(tzinfo=zone)

    def schedule_arguments(self) -> dict:
        """Keyword arguments for schedule_create / schedule_update."""
        data = self.cleaned_data
        arguments = {
            "name": data.get("name") or "",
            "requested_data": list(data.get("requested_data") or []),
            "format": data.get("file_format") or None,
            "redaction": self.redaction(),
            "destination_id": data.get("destination_id") or None,
            "interval": data.get("interval") or None,
            "timezone": (data.get("timezone") or "").strip() or "UTC",
            "hour": data.get("hour"),
            "weekday": data.get("weekday"),
        }
        if not self.filters_fixed:
            arguments["filters"] = self.raw_filters(now=timezone.now())
        if not self.start_fixed:
            arguments["start"] = self._start()
        return arguments

    def add_service_errors(self, error: ValidationError) -> None:
        for key, messages in error.message_dict.items():
            field = self.field_for_service_key(key)
            for message in messages:
                if field in ("name", "destination_id", "interval", "start", "timezone", "hour",
                             "weekday"):
                    self.add_error(field, f"{self.fields[field].label}: {message}")
                else:
                    self.add_error(field, self.named_message(key, message))

    def field_for_service_key(self, key: str) -> str | None:
        field = self.error_fields.get(key)
        if field in ("name", "destination_id", "interval", "start", "timezone", "hour",
                     "weekday"):
            return field
        return super().field_for_service_key(key)


def _cents_to_dollars(value) -> str:
    try:
        return str((Decimal(str(value)) / 100).normalize())
    except InvalidOperation:
        return str(value)


def describe_cadence(schedule: Schedule) -> str:
    """'Every hour', 'Every day at 06:00 Europe/Paris', 'Every Monday at 06:00 UTC'."""
    if schedule.interval == "hourly":
        return "Every hour"
    at = f"{schedule.hour or 0:02d}:00 {schedule.timezone}"
    if schedule.interval == "daily":
        return f"Every day at {at}"
    return f"Every {WEEKDAYS[schedule.weekday or 0]} at {at}"

