"""REST endpoints for single logs: POST /v1/logs (insert) and GET /v1/logs/{id}."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, JsonResponse

from accounts.api_keys import workspaces_of
from api.auth import authenticate, resolve_workspace
from api.errors import not_found
from api.http import api_endpoint, json_body, ok
from logs.filters import format_timestamp
from logs.ingestion import insert_custom_logs
from logs.models import Log


def insert_logs(request: HttpRequest) -> JsonResponse:
    api_key = authenticate(request, scope="logs.write")
    workspace = resolve_workspace(api_key, request.GET.get("workspace_id"))
    logs = insert_custom_logs(json_body(request), workspace=workspace)
    return ok({
        "object": "list",
        "total": len(logs),
        "data": [{"id": str(log.id), "object": "log"} for log in logs],
    })


def log_object(log: Log) -> dict:
    """The spec's LogObject, as far as this server keeps the data, plus the export field names."""
    request = log.request if isinstance(log.request, dict) else {}
    response = log.response if isinstance(log.response, dict) else {}
    created_at = format_timestamp(log.created_at)
    return {
        "_id": str(log.id),
        "id": str(log.id),
        "object": "log",
        "organisation_id": str(log.workspace.organization_id),
        "workspace_id": str(log.workspace_id),
        "created_at": created_at,
        "request": {
            "url": log.request_url or request.get("url") or "",
            "method": request.get("method") or "POST",
            "headers": request.get("headers") or {},
            "body": request.get("body") if isinstance(request.get("body"), dict) else {},
            "portkeyHeaders": {"x-portkey-trace-id": log.trace_id} if log.trace_id else {},
        },
        "response": {
            "status": log.status_code,
            "headers": response.get("headers") or {},
            "body": response.get("body") if isinstance(response.get("body"), dict) else {},
            "responseTime": log.response_time,
            "lastUsedOptionJsonPath": "",
        },
        "metadata": log.metadata if isinstance(log.metadata, dict) else {},
        "metrics": {
            "id": str(log.id),
            "organisation_id": str(log.workspace.organization_id),
            "created_at": created_at,
            "is_success": log.is_success,
            "ai_org": log.ai_provider,
            "ai_model": log.ai_model,
            "req_units": log.request_tokens,
            "res_units": log.response_tokens,
            "total_units": log.total_tokens,
            "cost": float(log.cost),
            "cost_currency": log.cost_currency,
            "request_url": log.request_url,
            "response_status_code": log.status_code,
            "response_time": log.response_time,
            "trace_id": log.trace_id,
            "mode": log.mode,
            "config": log.config,
            "prompt_slug": log.prompt_slug,
            "workspace_slug": log.workspace.slug,
        },
    }


def retrieve_log(request: HttpRequest, log_id: str) -> JsonResponse:
    api_key = authenticate(request, scope="logs.view")
    try:
        wanted = uuid.UUID(log_id)
    except ValueError:
        raise not_found("log") from None
    log = (
        Log.objects.select_related("workspace")
        .filter(id=wanted, workspace__in=workspaces_of(api_key))
        .first()
    )
    if log is None:
        raise not_found("log")
    return ok(log_object(log))


logs_collection = api_endpoint(post=insert_logs)
log_detail = api_endpoint(get=retrieve_log)
