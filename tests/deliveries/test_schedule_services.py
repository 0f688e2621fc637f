"""Schedules' services and selectors: values checked like an export's, edits, pause, delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from deliveries import schedules, selectors
from deliveries.models import Destination, Schedule, ScheduleRun
from deliveries.services import DestinationInUse, destination_delete
from exports.models import RedactionPolicy

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 2, 10, tzinfo=UTC)


@pytest.fixture
def destination(workspace):
    return Destination.objects.create(workspace=workspace, name="Team", bucket="team",
                                      access_key_id="key", secret_encrypted="x")


def fields(destination, **changes):
    return {"name": "Hourly GPT", "filters": {"ai_model": "gpt-4o"},
            "requested_data": ["id", "created_at"], "format": "csv",
            "destination_id": str(destination.id), "interval": "hourly",
            "start": "2026-12-02T10:00:00Z", "timezone": "UTC", **changes}


def refused(field: str, call, *args, **kwargs) -> str:
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    assert field in caught.value.message_dict, caught.value.message_dict
    return caught.value.message_dict[field][0]


def test_a_schedule_is_created_normalised_and_listed(workspace, user, destination):
    schedule = schedules.schedule_create(workspace=workspace, user=user,
                                         **fields(destination, hour=5, weekday=2))
    assert schedule.owner == user and schedule.filters == {"ai_model": ["gpt-4o"]}
    assert schedule.start == START and schedule.hour is None and schedule.weekday is None
    assert schedule.redaction == {"detectors": [], "patterns": [], "drop_keys": []}
    assert [item.id for item in selectors.schedules_of(workspace=workspace)] == [schedule.id]
    listed = selectors.schedule_of(workspace=workspace, schedule_id=schedule.id)
    assert selectors.next_run_at(listed) == START + timedelta(hours=1, seconds=60)


@pytest.mark.parametrize(("changes", "field"), [
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"interval": "daily"}, "hour"),
    ({"interval": "daily", "hour": 24}, "hour"),
    ({"interval": "weekly", "hour": 3}, "weekday"),
    ({"interval": "weekly", "hour": 3, "weekday": 7}, "weekday"),
    ({"interval": "monthly"}, "interval"),
    # An hourly schedule ignores hour and weekday, but an out-of-range one is still bad input
    # (found by schemathesis: PATCH {"hour": -1} on an hourly schedule was accepted).
    ({"interval": "hourly", "hour": -1}, "hour"),
    ({"interval": "hourly", "weekday": 9}, "weekday"),
    ({"start": "2026-12-02T10:00:00"}, "start"),
    ({"name": "a/b"}, "name"),
    ({"filters": {"created_at": {"gte": "2026-01-01T00:00:00Z"}}}, "filters.created_at"),
    ({"requested_data": ["nope"]}, "requested_data"),
    ({"format": "xml"}, "format"),
    ({"destination_id": "9f6f1f1e-0000-4000-8000-000000000000"}, "destination_id"),
])
def test_bad_values_are_refused_naming_the_field(workspace, user, destination, changes, field):
    refused(field, schedules.schedule_create, workspace=workspace, user=user,
            **fields(destination, **changes))
    assert not Schedule.objects.exists()


def test_another_workspaces_destination_is_refused(workspace, other_workspace, user):
    theirs = Destination.objects.create(workspace=other_workspace, name="T", bucket="b",
                                        access_key_id="k", secret_encrypted="x")
    refused("destination_id", schedules.schedule_create, workspace=workspace, user=user,
            **fields(theirs))


def test_a_mandatory_redaction_policy_is_kept(workspace, user, destination):
    RedactionPolicy.objects.create(workspace=workspace, mandatory=True,
                                   rules={"detectors": ["email"]})
    refused("redaction.detectors", schedules.schedule_create, workspace=workspace, user=user,
            **fields(destination, redaction={"detectors": []}))
    schedule = schedules.schedule_create(workspace=workspace, user=user, **fields(destination))
    assert schedule.redaction["detectors"] == ["email"]


def test_names_are_unique_per_workspace(workspace, user, destination):
    schedules.schedule_create(workspace=workspace, user=user, **fields(destination))
    refused("name", schedules.schedule_create, workspace=workspace, user=user,
            **fields(destination))


def test_edit_pause_and_start_once_run(workspace, user, destination):
    schedule = schedules.schedule_create(workspace=workspace, user=user, **fields(destination))
    schedule = schedules.schedule_update(schedule=schedule, interval="daily", hour=6,
                                         timezone="Europe/Berlin", paused=True)
    assert (schedule.interval, schedule.hour, schedule.paused) == ("daily", 6, True)
    assert selectors.next_run_at(schedule) is None
    refused("hour", schedules.schedule_update, schedule=schedule, interval="weekly",
            weekday=1, hour=None)
    ScheduleRun.objects.create(schedule=schedule, window_start=START,
                               window_end=START + timedelta(hours=1))
    refused("start", schedules.schedule_update, schedule=schedule,
            start="2026-12-03T00:00:00Z")
    schedule = schedules.schedule_update(schedule=schedule, paused=False)
    # The next window goes on from the last run's end, to 06:00 in Berlin (05:00 UTC).
    assert selectors.next_window_of(schedule).start == START + timedelta(hours=1)
    assert selectors.next_window_of(schedule).end == datetime(2026, 12, 3, 5, tzinfo=UTC)


def test_a_destination_in_use_is_not_deleted(workspace, user, destination):
    schedule = schedules.schedule_create(workspace=workspace, user=user, **fields(destination))
    with pytest.raises(DestinationInUse, match="Hourly GPT"):
        destination_delete(destination=destination)
    schedules.schedule_delete(schedule=schedule)
    destination_delete(destination=destination)
    assert not Destination.objects.exists()
