"""REST endpoints for schedules (/v1/schedules): saved exports run once per window.

Operations only parse, authorise and call deliveries.schedules / deliveries.selectors; a refused
value is a ValidationError naming its field, answered 422 by api.errors. A schedule made through
the API has no owner (an API key is no person), so its runs send no e-mail; webhooks fire.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field, create_model

from api.auth import key_auth, resolve_workspace
from api.errors import ApiError, not_found
from api.exports import EXPORT_SCOPE, LIST_LIMIT, WITH_BODY, documented
from api.schemas import (
    Closed,
    DocumentedAs,
    ExportFilters,
    ListResponse,
    Redaction,
    RequestedData,
    Timestamp,
)
from api.schemas import documented as documented_as
from deliveries import schedules, selectors
from deliveries.models import Schedule, ScheduleRun
from deliveries.windows import INTERVALS, timezone_names
from exports.formats import DEFAULT_FORMAT
from exports.models import ExportJob
from logs.filters import SPEC_FILTERS

router = Router(auth=key_auth(EXPORT_SCOPE), tags=["Schedules"])

# Not blank, not "." or "..", no slash, backslash or control character: it names a folder.
NAME = r"^(?!\s*\.{1,2}\s*$)[^/\\\x00-\x1f\x7f]*[^/\\\x00-\x1f\x7f\s][^/\\\x00-\x1f\x7f]*$"
TIME_RANGE_FILTERS = {"created_at", *(name for name, (target, _) in SPEC_FILTERS.items()
                                      if target == "created_at")}
# An export's filters without the time range, which each run sets to its window.
_SCHEDULE_FILTER_FIELDS: dict[str, Any] = {
    name: (field.annotation, field) for name, field in ExportFilters.model_fields.items()
    if name not in TIME_RANGE_FILTERS and name not in ("page_size", "current_page")}
ScheduleFilters = create_model(
    "ScheduleFilters",
    __base__=Closed,
    __doc__="An export's filters (either dialect) without a time range and without paging: "
            "each run exports its own window.",
    **_SCHEDULE_FILTER_FIELDS,
)


class ScheduleFields(Schema):
    """The body of create (the required fields listed) and of update (every field optional).
    The document states each value's shape; deliveries.schedules checks the values."""

    model_config = ConfigDict(extra="forbid")

    workspace_id: documented_as({  # type: ignore[valid-type]
        "type": "string", "description": "Workspace id or slug; needed by organization keys "
                                         "when the organization has several"}) = None
    name: documented_as({  # type: ignore[valid-type]
        "type": "string", "maxLength": 200, "pattern": NAME,
        "description": "Unique in the workspace; the folder of its files in the bucket"}) = None
    filters: Annotated[Any, DocumentedAs(ScheduleFilters)] = None
    requested_data: Annotated[Any, DocumentedAs(RequestedData)] = None
    format: documented_as({  # type: ignore[valid-type]
        "type": "string", "enum": list(ExportJob.Format.values), "default": DEFAULT_FORMAT,
        "description": "The files' format"}) = None
    redaction: Annotated[Any, DocumentedAs(Redaction)] = None
    destination_id: documented_as({  # type: ignore[valid-type]
        "type": "string", "format": "uuid",
        "description": "A destination of the workspace (POST /v1/destinations)"}) = None
    interval: documented_as({"type": "string", "enum": list(INTERVALS)}) = None  # type: ignore[valid-type]
    start: documented_as({  # type: ignore[valid-type]
        "type": "string", "format": "date-time",
        "description": "The first window's start (ISO 8601 with a time zone); may be in the "
                       "past (a backfill)"}) = None
    timezone: documented_as({  # type: ignore[valid-type]
        "type": "string", "enum": sorted(timezone_names()), "default": "UTC",
        "description": "IANA time zone of the hour and the weekday"}) = None
    hour: documented_as({  # type: ignore[valid-type]
        "type": "integer", "minimum": 0, "maximum": 23,
        "description": "Daily and weekly (required): the hour the windows end at"}) = None
    weekday: documented_as({  # type: ignore[valid-type]
        "type": "integer", "minimum": 0, "maximum": 6,
        "description": "Weekly (required): the day the windows end on, 0 = Monday"}) = None


class CreateScheduleRequest(ScheduleFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "required": ["name", "requested_data", "destination_id", "interval", "start"]})


class UpdateScheduleRequest(ScheduleFields):
    paused: documented_as({  # type: ignore[valid-type]
        "type": "boolean", "description": "true: no runs are made; false: the windows missed "
                                          "meanwhile are run, oldest first"}) = None


class ScheduleItem(Schema):
    id: UUID
    workspace_id: UUID
    name: str
    filters: dict[str, Any]
    requested_data: list[str]
    format: str
    redaction: dict[str, Any]
    destination_id: UUID
    interval: str
    start: Timestamp
    timezone: str
    hour: int | None
    weekday: int | None
    paused: bool
    error: str | None = Field(description="Why the next window could not be run (tried again "
                                          "each tick); null when fine")
    next_run_at: Timestamp | None = Field(description="When the next window is run: its end "
                                                      "plus the settle delay; null while paused")
    created_at: Timestamp
    object: Literal["schedule"] = "schedule"

    @staticmethod
    def resolve_error(schedule: Schedule) -> str | None:
        return schedule.error or None

    @staticmethod
    def resolve_next_run_at(schedule: Schedule) -> datetime | None:
        return selectors.next_run_at(schedule)


class ScheduleListResponse(ListResponse[ScheduleItem]):
    pass


class RunItem(Schema):
    window_start: Timestamp
    window_end: Timestamp
    export_id: UUID | None = Field(description="null once the export was deleted")
    status: Literal[(*ExportJob.Status.values, "deleted")]  # type: ignore[valid-type]
    created_at: Timestamp
    object: Literal["schedule_run"] = "schedule_run"

    @staticmethod
    def resolve_status(run: ScheduleRun) -> str:
        return selectors.run_status(run)


class RunListResponse(ListResponse[RunItem]):
    pass


def given(payload: ScheduleFields) -> dict[str, Any]:
    """The fields the body names; null is refused (leave a field out instead)."""
    values = {}
    for name in sorted(payload.model_fields_set - {"workspace_id"}):
        value = getattr(payload, name)
        if value is None:
            raise ApiError(422, f"{name}: must not be null; leave it out instead",
                           code="invalid_value", field=name)
        values[name] = value
    return values


def destination_or_404(workspace, values: dict[str, Any]) -> None:
    """Another workspace's destination is answered as one that does not exist."""
    if "destination_id" not in values:
        return
    if not isinstance(values["destination_id"], str):
        raise ApiError(422, "destination_id: must be a destination's id (a UUID)",
                       code="invalid_value", field="destination_id")
    if selectors.workspace_destination(
            workspace=workspace, destination_id=values["destination_id"]) is None:
        raise ApiError(404, f"destination_id: no destination {str(values['destination_id'])!r} "
                            "in this workspace", code="not_found", field="destination_id")


def schedule_for(request: HttpRequest, schedule_id: str, workspace_id: str | None
                 ) -> Schedule:
    workspace = resolve_workspace(request.auth, workspace_id)
    schedule = selectors.schedule_of(workspace=workspace, schedule_id=schedule_id)
    if schedule is None:
        raise not_found("schedule")
    return schedule


@router.post("/schedules", response={201: ScheduleItem}, openapi_extra=documented(*WITH_BODY),
             summary="Create a schedule: an export run for each hour, day or week")
def create_schedule(request: HttpRequest, payload: CreateScheduleRequest):
    workspace = resolve_workspace(request.auth, payload.workspace_id)
    values = given(payload)
    destination_or_404(workspace, values)
    schedule = schedules.schedule_create(workspace=workspace, user=None, **values)
    return Status(201, selectors.schedule_of(workspace=workspace, schedule_id=schedule.id))


@router.get("/schedules", response=ScheduleListResponse, openapi_extra=documented(422),
            summary="The workspace's schedules")
def list_schedules(request: HttpRequest, workspace_id: str | None = None):
    workspace = resolve_workspace(request.auth, workspace_id)
    found = selectors.schedules_of(workspace=workspace)
    return {"total": found.count(), "data": list(found[:LIST_LIMIT])}


@router.get("/schedules/{scheduleId}", response=ScheduleItem, openapi_extra=documented(),
            summary="Get a schedule")
def retrieve_schedule(request: HttpRequest, scheduleId: str,  # noqa: N803
                      workspace_id: str | None = None):
    return schedule_for(request, scheduleId, workspace_id)


@router.patch("/schedules/{scheduleId}", response=ScheduleItem,
              openapi_extra=documented(*WITH_BODY),
              summary="Change a schedule (from its next window on), pause or resume it")
def update_schedule(request: HttpRequest, scheduleId: str,  # noqa: N803
                    payload: UpdateScheduleRequest):
    schedule = schedule_for(request, scheduleId, payload.workspace_id)
    values = given(payload)
    destination_or_404(schedule.workspace, values)
    schedules.schedule_update(schedule=schedule, **values)
    return selectors.schedule_of(workspace=schedule.workspace, schedule_id=schedule.id)


@router.delete("/schedules/{scheduleId}", response={204: None}, openapi_extra=documented(),
               summary="Delete a schedule (its runs' exports and delivered files are kept)")
def delete_schedule(request: HttpRequest, scheduleId: str,  # noqa: N803
                    workspace_id: str | None = None):
    schedules.schedule_delete(schedule=schedule_for(request, scheduleId, workspace_id))
    return Status(204, None)


@router.get("/schedules/{scheduleId}/runs", response=RunListResponse,
            openapi_extra=documented(),
            summary="A schedule's runs, newest window first, each with its export's status")
def list_runs(request: HttpRequest, scheduleId: str,  # noqa: N803
              workspace_id: str | None = None):
    runs = selectors.schedule_runs(schedule=schedule_for(request, scheduleId, workspace_id))
    return {"total": runs.count(), "data": list(runs[:LIST_LIMIT])}
