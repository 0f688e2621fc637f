"""REST endpoints for log exports under /v1/logs/exports, as the public Portkey SDK calls them.

Operations only parse, authorise and call exports.selectors / exports.services; the services
own every gate and every check of a value, api.errors turns what they raise into the API's
status codes (422 invalid values, 409 wrong state, 403 closed gates, 503 queue unreachable).
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router

from api.auth import key_auth, resolve_workspace
from api.errors import ApiError, not_found
from api.schemas import (
    CreateExportRequest,
    DownloadLogsResponse,
    ExportDetail,
    ExportListResponse,
    ExportRequest,
    ExportTaskResponse,
    UpdateExportRequest,
    UpdateExportResponse,
)
from deliveries.selectors import workspace_destination
from deliveries.services import export_job_create_delivered as delivered_export_create
from exports import selectors, services
from exports.audit import Actor
from exports.models import ExportJob
from logs.filters import split_paging

EXPORT_SCOPE = "logs.export"
LIST_LIMIT = 1000
# The errors each kind of operation can answer besides 401/403/404/405/500 (api.v1 documents
# them all in the one error shape).
WITH_BODY = (400, 413, 415, 422)

def documented(*errors: int) -> dict:
    return {"x-errors": errors, "x-scope": EXPORT_SCOPE}


router = Router(auth=key_auth(EXPORT_SCOPE), tags=["Logs Export"])


def _whole(value):
    # JSON Schema's integer includes 2179.0; the services take whole numbers as int.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def export_slice(payload: ExportRequest) -> dict:
    """filters, limit and offset, with the spec's filters.page_size / current_page folded in."""
    filters, limit, offset = split_paging(payload.filters, limit=_whole(payload.limit),
                                          offset=_whole(payload.offset))
    return {"filters": filters, "limit": limit, "offset": offset}


def given_fields(payload: ExportRequest) -> set[str]:
    """The fields the body names. None takes null: the document types each one without it, and
    a null read as "the default" would, on update, silently clear every filter."""
    for name in sorted(payload.model_fields_set):
        if getattr(payload, name) is None:
            raise ApiError(422, f"{name}: must not be null; leave it out instead",
                           code="invalid_value", field=name)
    return payload.model_fields_set


def export_for(request: HttpRequest, export_id: str) -> ExportJob:
    """The key's export of this id; 404 for ids of other tenants, as for ids that do not exist."""
    job = selectors.api_key_export(api_key=request.auth, export_id=export_id,
                                   workspace_reference=request.GET.get("workspace_id"))
    if job is None:
        raise not_found("export")
    return job


def _summary(job: ExportJob) -> dict:
    return {"id": job.id, "total": job.total_records}


@router.post("/logs/exports", response=UpdateExportResponse, summary="Create an export (a draft)",
             description="`total` is the number of logs the export will contain.",
             openapi_extra=documented(*WITH_BODY))
def create_export(request: HttpRequest, payload: CreateExportRequest):
    given_fields(payload)
    workspace = resolve_workspace(request.auth, payload.workspace_id)
    redaction = {"redaction": payload.redaction} if "redaction" in payload.model_fields_set else {}
    create = services.export_job_create
    if payload.destination_id is not None:
        destination = workspace_destination(workspace=workspace,
                                            destination_id=payload.destination_id)
        if destination is None:
            raise ApiError(404, f"destination_id: no destination {payload.destination_id!r} "
                                "in this workspace", code="not_found", field="destination_id")
        create = partial(delivered_export_create, destination=destination)
    job = create(
        workspace=workspace,
        **redaction,
        requested_data=payload.requested_data,
        description=payload.description if payload.description is not None else "",
        file_format=payload.format,
        created_by_api_key=request.auth,
        actor=Actor.for_api(request, request.auth),
        refuse_empty=True,
        **export_slice(payload),
    )
    return _summary(job)


@router.get("/logs/exports", response=ExportListResponse,
            summary="List the workspace's exports", openapi_extra=documented(422))
def list_exports(request: HttpRequest, workspace_id: str | None = None):
    workspace = resolve_workspace(request.auth, workspace_id)
    jobs = selectors.open_workspace_exports(workspace=workspace)
    data = list(jobs.select_related("workspace")[:LIST_LIMIT])
    return {"total": jobs.count(), "data": data}


@router.get("/logs/exports/{exportId}", response=ExportDetail, summary="Get an export",
            openapi_extra=documented())
def retrieve_export(request: HttpRequest, exportId: str,  # noqa: N803 (the spec's name)
                    workspace_id: str | None = None):
    return selectors.open_export(export_for(request, exportId))


@router.get("/logs/exports/{exportId}/manifest", response=dict,
            summary="The manifest of a finished export: what the file holds and its checksums",
            openapi_extra=documented())
def export_manifest(request: HttpRequest, exportId: str,  # noqa: N803
                    workspace_id: str | None = None):
    job = export_for(request, exportId)
    manifest = selectors.export_manifest(job)
    if manifest is None:
        raise ApiError(404, f"this export is {job.get_status_display()}; its manifest is "
                            "written once it has succeeded", code="not_found")
    return manifest


@router.put("/logs/exports/{exportId}", response=UpdateExportResponse,
            summary="Change a draft export", openapi_extra=documented(*WITH_BODY, 409))
def update_export(request: HttpRequest, exportId: str,  # noqa: N803
                  payload: UpdateExportRequest, workspace_id: str | None = None):
    given = given_fields(payload)
    job = export_for(request, exportId)
    if payload.workspace_id not in (None, "", str(job.workspace_id), job.workspace.slug):
        raise not_found("export")
    changes: dict[str, Any] = {name: getattr(payload, name)
                               for name in ("requested_data", "description", "redaction")
                               if name in given}
    if "format" in given:
        changes["file_format"] = payload.format
    if given & {"filters", "limit", "offset"}:
        sizes = export_slice(payload)
        changes.update({name: value for name, value in sizes.items()
                        if name in given or (name != "filters" and value is not None)})
    if not changes:
        raise ApiError(422, "nothing to change: give filters, requested_data or description",
                       code="conflicting_values")
    return _summary(services.export_job_update(job=job, refuse_empty=True, **changes))


@router.post("/logs/exports/{exportId}/start", response=ExportTaskResponse,
             summary="Start an export", openapi_extra=documented(409, 503))
def start_export(request: HttpRequest, exportId: str,  # noqa: N803
                 workspace_id: str | None = None):
    services.export_job_start(job=export_for(request, exportId),
                              actor=Actor.for_api(request, request.auth))
    return {"message": "export started"}


@router.post("/logs/exports/{exportId}/cancel", response=ExportTaskResponse,
             summary="Cancel an export in progress", openapi_extra=documented(409))
def cancel_export(request: HttpRequest, exportId: str,  # noqa: N803
                  workspace_id: str | None = None):
    services.export_job_cancel(job=export_for(request, exportId),
                               actor=Actor.for_api(request, request.auth))
    return {"message": "export cancelled"}


@router.get("/logs/exports/{exportId}/download", response=DownloadLogsResponse,
            summary="A signed download URL of a finished export",
            openapi_extra=documented(409))
def download_export(request: HttpRequest, exportId: str,  # noqa: N803
                    workspace_id: str | None = None):
    job = export_for(request, exportId)
    url = request.build_absolute_uri(
        services.export_job_download_url(job=job, actor=Actor.for_api(request, request.auth))
    )
    expires_at = timezone.now() + timedelta(seconds=settings.EXPORTS_DOWNLOAD_URL_TTL)
    return {"signed_url": url, "url": url, "expires_at": expires_at}
