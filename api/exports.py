"""REST endpoints for log exports under /v1/logs/exports, as the public Portkey SDK calls them.

Views only parse, authorise and call exports.services; api_http turns the services' errors into
the API's status codes (422 invalid values, 409 wrong state, 403 closed gates).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from accounts.models import ApiKey
from api.auth import authenticate, resolve_workspace
from api.errors import ApiError, not_found
from api.http import api_endpoint, json_object, ok
from api.representations import export_item, export_summary, timestamp
from exports import selectors, services
from exports.access import ensure_exports_available
from exports.models import ExportJob
from logs.filters import split_paging

EXPORT_SCOPE = "logs.export"
CREATE_FIELDS = ("workspace_id", "filters", "requested_data", "description", "limit", "offset",
                 "format")
UPDATE_FIELDS = CREATE_FIELDS
LIST_LIMIT = 1000


def refuse_unknown_fields(body: dict, known: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise ApiError(422, f"{unknown[0]}: is not a known field; use {', '.join(known)}",
                       code="invalid_value", field=unknown[0])


def size_of_export(body: dict) -> dict[str, Any]:
    """filters, limit and offset, with the spec's filters.page_size / current_page folded in."""
    filters, page_limit, page_offset = split_paging(body.get("filters"))
    sizes: dict[str, Any] = {"filters": filters}
    for name, from_page in (("limit", page_limit), ("offset", page_offset)):
        if from_page is not None and body.get(name) is not None:
            source = "page_size" if name == "limit" else "current_page"
            raise ApiError(422, f"{name}: give either {name} or filters.{source}, not both",
                           code="invalid_value", field=name)
        sizes[name] = from_page if from_page is not None else body.get(name)
    return sizes


def export_for(request: HttpRequest, api_key: ApiKey, export_id: str) -> ExportJob:
    """The key's export of this id; 404 for ids of other tenants, as for ids that do not exist."""
    job = selectors.api_key_export(api_key=api_key, export_id=export_id,
                                   workspace_reference=request.GET.get("workspace_id"))
    if job is None:
        raise not_found("export")
    return job


def create_export(request: HttpRequest) -> JsonResponse:
    api_key = authenticate(request, scope=EXPORT_SCOPE)
    body = json_object(request)
    refuse_unknown_fields(body, CREATE_FIELDS)
    workspace = resolve_workspace(api_key, body.get("workspace_id"))
    job = services.export_job_create(
        workspace=workspace,
        requested_data=body.get("requested_data"),
        description=body.get("description", ""),
        file_format=body.get("format"),
        created_by_api_key=api_key,
        **size_of_export(body),
    )
    job.workspace = workspace
    return ok(export_summary(job))


def list_exports(request: HttpRequest) -> JsonResponse:
    api_key = authenticate(request, scope=EXPORT_SCOPE)
    workspace = resolve_workspace(api_key, request.GET.get("workspace_id"))
    jobs = selectors.open_workspace_exports(workspace=workspace)
    data = []
    for job in jobs[:LIST_LIMIT]:
        job.workspace = workspace
        data.append(export_item(job))
    return ok({"object": "list", "total": jobs.count(), "data": data})


def retrieve_export(request: HttpRequest, export_id: str) -> JsonResponse:
    api_key = authenticate(request, scope=EXPORT_SCOPE)
    job = export_for(request, api_key, export_id)
    ensure_exports_available(job.workspace.organization)  # a read: no service to gate it
    return ok(export_item(job))


def update_export(request: HttpRequest, export_id: str) -> JsonResponse:
    api_key = authenticate(request, scope=EXPORT_SCOPE)
    job = export_for(request, api_key, export_id)
    body = json_object(request)
    refuse_unknown_fields(body, UPDATE_FIELDS)
    if body.get("workspace_id") not in (None, "", str(job.workspace_id), job.workspace.slug):
        raise not_found("export")
    changes = {name: body[name] for name in ("requested_data", "description") if name in body}
    if "format" in body:
        changes["file_format"] = body["format"]
    if "filters" in body or "limit" in body or "offset" in body:
        sizes = size_of_export(body)
        changes.update({name: value for name, value in sizes.items()
                        if name in body or (name != "filters" and value is not None)})
    if not changes:
        raise ApiError(422, "nothing to change: give filters, requested_data or description",
                       code="invalid_value")
    job = services.export_job_update(job=job, **changes)
    return ok(export_summary(job))


def start_export(request: HttpRequest, export_id: str) -> JsonResponse:
    api_key = authenticate(request, scope=EXPORT_SCOPE)
    job = export_for(request, api_key, export_id)
    services.export_job_start(job=job)
    return ok({"message": "export started", "object": "export"})


def cancel_export(request: HttpRequest, export_id: str) -> JsonResponse:
    api_key = authenticate(request, scope=EXPORT_SCOPE)
    job = export_for(request, api_key, export_id)
    services.export_job_cancel(job=job)
    return ok({"message": "export cancelled", "object": "export"})


def download_export(request: HttpRequest, export_id: str) -> JsonResponse:
    api_key = authenticate(request, scope=EXPORT_SCOPE)
    job = export_for(request, api_key, export_id)
    url = request.build_absolute_uri(services.export_job_download_url(job=job))
    expires_at = timezone.now() + timedelta(seconds=settings.EXPORTS_DOWNLOAD_URL_TTL)
    return ok({"signed_url": url, "url": url, "expires_at": timestamp(expires_at)})


exports_collection = api_endpoint(get=list_exports, post=create_export)
export_detail = api_endpoint(get=retrieve_export, put=update_export)
export_start = api_endpoint(post=start_export)
export_cancel = api_endpoint(post=cancel_export)
export_download = api_endpoint(get=download_export)
