"""The OpenAPI 3 document of the REST API, built from the field catalogue and the filter module.

Field names, aliases and filter keys are read from exports.fields and logs.filters, so the
document cannot drift from what the server accepts.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from accounts.models import API_KEY_SCOPES
from exports.fields import ACCEPTED_NAMES, ALIASES, FIELDS
from exports.models import ExportJob
from logs.filters import (
    DECIMAL_RANGES,
    MAX_COST,
    MAX_INTEGER,
    NAME_FILTERS,
    RANGE_FILTERS,
    SPEC_FILTERS,
)
from logs.ingestion import MAX_LOGS_PER_REQUEST

REF = "#/components/schemas/"
Schema = dict[str, Any]

FILTER_DESCRIPTIONS = {
    "created_at": "Time range of the logs, inclusive: ISO-8601 date-times with a timezone.",
    "cost": "Cost range in cents, inclusive.",
    "total_tokens": "Total token range, inclusive.",
    "request_tokens": "Request (prompt) token range, inclusive.",
    "response_tokens": "Response (completion) token range, inclusive.",
    "ai_model": "Model name(s): one, a comma-separated list, or an array.",
    "ai_provider": "Provider name(s): one, a comma-separated list, or an array.",
    "trace_id": "Trace id(s): one, a comma-separated list, or an array.",
    "config": "Config id(s): one, a comma-separated list, or an array.",
    "prompt_slug": "Prompt slug(s): one, a comma-separated list, or an array.",
    "workspace_slug": "Workspace slug(s); logs of other workspaces never match.",
    "ai_org_model": "provider__model pairs, e.g. \"openai__gpt-4o, anthropic__claude-2.1\".",
    "status_code": "HTTP status code(s): one, a comma-separated string, or an array.",
    "metadata": "Metadata key: value pairs; every pair must match.",
    "page_size": "Public-spec paging: logs per export (1 to EXPORTS_MAX_LOGS_PER_JOB); "
                 "becomes the export's limit.",
    "current_page": "Public-spec paging, from 0: offset = current_page × page_size.",
}

ERROR_RESPONSES = {
    "400": "Malformed JSON, or a body that is not a JSON object",
    "401": "Missing, unknown or revoked API key",
    "403": "The key lacks the scope, works in another workspace, or exports are closed to "
           "the organization (plan, Data Service)",
    "404": "No such object for this key (other tenants' objects included)",
    "405": "Method not allowed on this path",
    "409": "The export's status does not allow this",
    "413": "Request body too large",
    "422": "A value is invalid; the error names the field",
}


def _names_schema() -> Schema:
    return {"anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
    ]}


def _range_schema(*, decimal: bool) -> Schema:
    bound = {"type": "number" if decimal else "integer", "minimum": 0,
             "maximum": MAX_COST if decimal else MAX_INTEGER}
    return {"type": "object", "properties": {"gte": bound, "lte": bound},
            "additionalProperties": False}


def filters_schema() -> Schema:
    """Both dialects: the product doc's (created_at.gte …) and the public spec's (…_min)."""
    properties: dict[str, Schema] = {
        "created_at": {
            "type": "object",
            "properties": {"gte": {"type": "string", "format": "date-time"},
                           "lte": {"type": "string", "format": "date-time"}},
            "additionalProperties": False,
        },
    }
    for key in RANGE_FILTERS:
        properties[key] = _range_schema(decimal=key in DECIMAL_RANGES)
    for key in (*NAME_FILTERS, "ai_org_model"):
        properties[key] = _names_schema()
    properties["status_code"] = {"anyOf": [
        {"type": "string"},
        {"type": "integer", "minimum": 100, "maximum": 599},
        {"type": "array", "items": {"type": "integer", "minimum": 100, "maximum": 599},
         "minItems": 1},
    ]}
    properties["metadata"] = {"type": "object", "additionalProperties": {"type": "string"}}
    for name, (target, bound) in SPEC_FILTERS.items():
        if bound is None:
            properties[name] = {**_names_schema(),
                                "description": f"Public-spec name of {target}."}
        elif target == "created_at":
            properties[name] = {"type": "string", "format": "date-time",
                                "description": f"Public-spec name of created_at.{bound}."}
        else:
            decimal = target in DECIMAL_RANGES
            properties[name] = {"type": "number" if decimal else "integer", "minimum": 0,
                                "maximum": MAX_COST if decimal else MAX_INTEGER,
                                "description": f"Public-spec name of {target}.{bound}."}
    properties["page_size"] = {"type": "integer", "minimum": 1,
                               "maximum": settings.EXPORTS_MAX_LOGS_PER_JOB}
    properties["current_page"] = {"type": "integer", "minimum": 0}
    for key, text in FILTER_DESCRIPTIONS.items():
        properties[key] = {**properties[key], "description": text}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def requested_data_schema() -> Schema:
    lines = [f"- `{field.name}`: {field.description}"
             + (f" (alias: {', '.join(field.aliases)})" if field.aliases else "")
             for field in FIELDS]
    return {
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "enum": list(ACCEPTED_NAMES)},
        "description": "Fields of each exported line, written in catalogue order:\n"
                       + "\n".join(lines),
    }


def _nullable(schema: Schema) -> Schema:
    return {**schema, "nullable": True}


def export_item_schema() -> Schema:
    text, stamp = {"type": "string"}, {"type": "string", "format": "date-time"}
    uuid = {"type": "string", "format": "uuid"}
    properties = {
        "id": uuid, "organisation_id": uuid, "workspace_id": uuid,
        "filters": {"type": "object", "additionalProperties": True,
                    "description": "The filters in their stored normal form"},
        "requested_data": {"type": "array", "items": {"type": "string",
                                                       "enum": [f.name for f in FIELDS]}},
        "status": {"type": "string", "enum": list(ExportJob.Status.values)},
        "description": text,
        "created_at": stamp, "last_updated_at": stamp,
        "created_by": _nullable({**text, "description": "API key or user id"}),
        "object": {"type": "string", "enum": ["export"]},
        "limit": {"type": "integer"}, "offset": {"type": "integer"},
        "format": {"type": "string", "enum": list(ExportJob.Format.values)},
        "total_records": {"type": "integer"}, "rows_written": {"type": "integer"},
        "progress": {"type": "number", "minimum": 0, "maximum": 1},
        "file_size": _nullable({"type": "integer"}),
        "sha256": _nullable(text), "error": _nullable(text),
        "started_at": _nullable(stamp), "finished_at": _nullable(stamp),
        "expires_at": _nullable(stamp),
    }
    return {"type": "object", "properties": properties, "required": list(properties)}


def export_request_schema(*, required: list[str]) -> Schema:
    schema: Schema = {
        "type": "object",
        "properties": {
            "workspace_id": {"type": "string", "description": "Workspace id or slug; needed "
                             "by organization keys when the organization has several"},
            "filters": {"$ref": REF + "ExportFilters"},
            "requested_data": {"$ref": REF + "RequestedData"},
            "description": {"type": "string", "maxLength": 500},
            "limit": {"type": "integer", "minimum": 1,
                      "maximum": settings.EXPORTS_MAX_LOGS_PER_JOB},
            "offset": {"type": "integer", "minimum": 0, "maximum": MAX_INTEGER},
            "format": {"type": "string", "enum": list(ExportJob.Format.values)},
        },
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


def custom_log_schema() -> Schema:
    headers = {"type": "object", "additionalProperties": {"type": "string"}}
    return {
        "type": "object",
        "properties": {
            "request": {"type": "object", "properties": {
                "url": {"type": "string", "minLength": 1, "maxLength": 2000},
                "method": {"type": "string", "maxLength": 20},
                "headers": headers, "body": {"type": "object"},
            }, "required": ["url", "body"]},
            "response": {"type": "object", "properties": {
                "status": {"type": "integer", "minimum": 100, "maximum": 599},
                "headers": headers, "body": {"type": "object"},
                "response_time": {"type": "integer", "minimum": 0},
            }, "required": ["body"]},
            "metadata": {"type": "object", "properties": {
                "trace_id": {"type": "string", "maxLength": 200},
                "span_id": {"type": "string"}, "span_name": {"type": "string"},
            }, "additionalProperties": True},
        },
        "required": ["request", "response"],
        "additionalProperties": False,
    }


def log_object_schema() -> Schema:
    text = {"type": "string"}
    return {
        "type": "object",
        "required": ["_id", "request", "response", "organisation_id", "created_at"],
        "properties": {
            "_id": {"type": "string", "format": "uuid"},
            "id": {"type": "string", "format": "uuid"},
            "object": {"type": "string", "enum": ["log"]},
            "organisation_id": text, "workspace_id": text,
            "created_at": {"type": "string", "format": "date-time"},
            "request": {"type": "object", "required": ["url", "method", "portkeyHeaders"]},
            "response": {"type": "object",
                         "required": ["status", "responseTime", "lastUsedOptionJsonPath"]},
            "metadata": {"type": "object"},
            "metrics": {"type": "object", "properties": {
                "ai_org": text, "ai_model": text, "req_units": {"type": "number"},
                "res_units": {"type": "number"}, "total_units": {"type": "number"},
                "cost": {"type": "number"}, "is_success": {"type": "boolean"},
                "response_status_code": {"type": "integer"},
                "config": _nullable(text), "prompt_slug": _nullable(text),
            }},
        },
    }


def components() -> Schema:
    return {
        "securitySchemes": {
            "portkeyApiKey": {"type": "apiKey", "in": "header", "name": "x-portkey-api-key"},
            "bearer": {"type": "http", "scheme": "bearer"},
        },
        "schemas": {
            "Error": {
                "type": "object", "required": ["error"],
                "properties": {"error": {
                    "type": "object", "required": ["message", "field", "code"],
                    "properties": {"message": {"type": "string"},
                                   "field": {"type": "string", "nullable": True},
                                   "code": {"type": "string"}},
                }},
            },
            "ExportFilters": filters_schema(),
            "RequestedData": requested_data_schema(),
            "CreateExportRequest": export_request_schema(required=["requested_data"]),
            "UpdateExportRequest": export_request_schema(required=[]),
            "UpdateExportResponse": {
                "type": "object", "required": ["id", "total", "object"],
                "properties": {"id": {"type": "string", "format": "uuid"},
                               "total": {"type": "integer", "minimum": 0,
                                         "description": "Logs the export will contain"},
                               "object": {"type": "string", "enum": ["export"]}},
            },
            "ExportItem": export_item_schema(),
            "ExportListResponse": {
                "type": "object", "required": ["object", "total", "data"],
                "properties": {"object": {"type": "string", "enum": ["list"]},
                               "total": {"type": "integer", "minimum": 0},
                               "data": {"type": "array", "items": {"$ref": REF + "ExportItem"}}},
            },
            "ExportTaskResponse": {
                "type": "object", "required": ["message", "object"],
                "properties": {"message": {"type": "string"},
                               "object": {"type": "string", "enum": ["export"]}},
            },
            "DownloadLogsResponse": {
                "type": "object", "required": ["signed_url", "url", "expires_at"],
                "properties": {"signed_url": {"type": "string", "format": "uri"},
                               "url": {"type": "string", "format": "uri"},
                               "expires_at": {"type": "string", "format": "date-time"}},
            },
            "CustomLog": custom_log_schema(),
            "InsertLogsResponse": {
                "type": "object", "required": ["object", "total", "data"],
                "properties": {"object": {"type": "string", "enum": ["list"]},
                               "total": {"type": "integer", "minimum": 1},
                               "data": {"type": "array", "items": {
                                   "type": "object", "required": ["id", "object"],
                                   "properties": {"id": {"type": "string", "format": "uuid"},
                                                  "object": {"type": "string",
                                                             "enum": ["log"]}}}}},
            },
            "LogObject": log_object_schema(),
        },
    }


def _json(ref: str) -> Schema:
    return {"content": {"application/json": {"schema": {"$ref": REF + ref}}}}


def operation(*, summary: str, scope: str, ok: str, errors: tuple[str, ...],
              body: Schema | None = None, params: list[Schema] | None = None,
              description: str = "") -> Schema:
    responses = {"200": {"description": "Successful response", **_json(ok)}}
    for code in ("401", "403", "404", "405", *errors):
        responses[code] = {"description": ERROR_RESPONSES[code], **_json("Error")}
    result: Schema = {
        "summary": summary,
        "description": (description + "\n\n" if description else "")
                       + f"Needs an API key with the `{scope}` scope.",
        "x-scope": scope,
        "parameters": params or [],
        "responses": dict(sorted(responses.items())),
    }
    if body is not None:
        result["requestBody"] = {"required": True,
                                 "content": {"application/json": {"schema": body}}}
    return result


def openapi_document() -> Schema:
    export_id = {"name": "exportId", "in": "path", "required": True,
                 "schema": {"type": "string"}}
    workspace_param = {"name": "workspace_id", "in": "query", "required": False,
                       "schema": {"type": "string"},
                       "description": "Workspace id or slug (organization keys)"}
    on_export = {"params": [export_id], "scope": "logs.export"}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Log Exports API",
            "version": "1.0.0",
            "description": "Wire-compatible with the public Portkey SDK's logs and log "
                           "exports resources. Every 4xx answers "
                           "`{\"error\": {\"message\", \"field\", \"code\"}}`.",
        },
        "servers": [{"url": "/v1"}],
        "security": [{"portkeyApiKey": []}, {"bearer": []}],
        "tags": [{"name": "Logs Export"}, {"name": "Logs"}],
        "paths": {
            "/logs/exports": {
                "get": operation(summary="List the workspace's exports", scope="logs.export",
                                 ok="ExportListResponse", errors=("422",),
                                 params=[workspace_param]),
                "post": operation(summary="Create an export (a draft)", scope="logs.export",
                                  ok="UpdateExportResponse", errors=("400", "413", "422"),
                                  body={"$ref": REF + "CreateExportRequest"},
                                  description="`total` is the number of logs the export "
                                              "will contain."),
            },
            "/logs/exports/{exportId}": {
                "get": operation(summary="Get an export", ok="ExportItem", errors=(),
                                 **on_export),
                "put": operation(summary="Change a draft export", ok="UpdateExportResponse",
                                 errors=("400", "409", "413", "422"),
                                 body={"$ref": REF + "UpdateExportRequest"}, **on_export),
            },
            "/logs/exports/{exportId}/start": {
                "post": operation(summary="Start an export", ok="ExportTaskResponse",
                                  errors=("409",), **on_export),
            },
            "/logs/exports/{exportId}/cancel": {
                "post": operation(summary="Cancel an export in progress",
                                  ok="ExportTaskResponse", errors=("409",), **on_export),
            },
            "/logs/exports/{exportId}/download": {
                "get": operation(summary="A signed download URL of a finished export",
                                 ok="DownloadLogsResponse", errors=("409",), **on_export),
            },
            "/logs": {
                "post": operation(
                    summary="Insert one log or an array of logs", scope="logs.write",
                    ok="InsertLogsResponse", errors=("400", "413", "422"),
                    params=[workspace_param],
                    body={"oneOf": [
                        {"$ref": REF + "CustomLog"},
                        {"type": "array", "items": {"$ref": REF + "CustomLog"},
                         "minItems": 1, "maxItems": MAX_LOGS_PER_REQUEST},
                    ]},
                ),
            },
            "/logs/{logId}": {
                "get": operation(
                    summary="Get one log", scope="logs.view", ok="LogObject", errors=(),
                    params=[{"name": "logId", "in": "path", "required": True,
                             "schema": {"type": "string"}}],
                ),
            },
        },
        "components": components(),
        "x-scopes": API_KEY_SCOPES,
        "x-field-aliases": ALIASES,
    }
