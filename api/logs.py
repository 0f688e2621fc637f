"""REST endpoints for single logs: POST /v1/logs (insert) and GET /v1/logs/{id}."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Body, Router

from api.auth import key_auth, resolve_workspace
from api.errors import not_found
from api.schemas import InsertLogsRequest, InsertLogsResponse, LogObject
from logs.ingestion import insert_custom_logs
from logs.models import Log
from logs.selectors import api_key_log

router = Router(tags=["Logs"])


@router.post("/logs", response=InsertLogsResponse, auth=key_auth("logs.write"),
             summary="Insert one log or an array of logs",
             openapi_extra={"x-errors": (400, 413, 415, 422), "x-scope": "logs.write"})
def insert_logs(request: HttpRequest, payload: Body[InsertLogsRequest],
                workspace_id: str | None = None):
    workspace = resolve_workspace(request.auth, workspace_id)
    logs = insert_custom_logs(payload, workspace=workspace)
    return {"total": len(logs), "data": [{"id": log.id} for log in logs]}


def log_object(log: Log) -> dict:
    """The spec's LogObject, as far as this server keeps the data, plus the export field names."""
    request = log.request if isinstance(log.request, dict) else {}
    response = log.response if isinstance(log.response, dict) else {}
    created_at = log.created_at
    return {
        "_id": log.id,
        "id": log.id,
        "organisation_id": log.workspace.organization_id,
        "workspace_id": log.workspace_id,
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
            "id": log.id,
            "organisation_id": log.workspace.organization_id,
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


@router.get("/logs/{logId}", response=LogObject, by_alias=True, auth=key_auth("logs.view"),
            summary="Get one log", openapi_extra={"x-scope": "logs.view"})
def retrieve_log(request: HttpRequest, logId: str):  # noqa: N803 (the spec's name)
    log = api_key_log(api_key=request.auth, log_id=logId)
    if log is None:
        raise not_found("log")
    return log_object(log)
