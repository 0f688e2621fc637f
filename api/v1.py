"""The /v1 API: one NinjaAPI with the exports and logs routers, its error handlers and the
OpenAPI document ninja generates from them (served at /v1/openapi.json, rendered at /v1/docs).
"""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI

from accounts.models import API_KEY_SCOPES
from api import deliveries, exports, logs, schedules
from api.auth import missing_key
from api.errors import Error, install_error_handlers
from api.parser import JsonBodyParser
from api.schemas import CreateExportRequest
from exports.fields import ALIASES

# What each error status means, as documented on every operation that can answer it.
ERROR_RESPONSES = {
    400: "Malformed JSON, or a body that is not a JSON object",
    401: "Missing, unknown or revoked API key",
    403: "The key lacks the scope, works in another workspace, or exports are closed to "
         "the organization (plan, Data Service)",
    404: "No such object for this key (other tenants' objects included)",
    405: "Method not allowed on this path",
    409: "The export's status does not allow this",
    413: "Request body too large",
    415: "The request body is not JSON (Content-Type must be application/json)",
    422: "A value is invalid (code invalid_value), or values valid one by one are not "
         "together, e.g. gte above lte (code conflicting_values); the error names the field",
    429: "Over the key's request rate (API_RATE_LIMIT), or too many wrong keys from this "
         "address; try again after Retry-After seconds",
    500: "The server failed; the error is logged",
    503: "The job queue cannot be reached (try again after Retry-After seconds), or the "
         "database took longer than DATABASE_STATEMENT_TIMEOUT_MS to answer",
}
EVERY_OPERATION = (401, 403, 404, 405, 429, 500, 503)
ERROR_REF = {"$ref": "#/components/schemas/Error"}


class LogExportsAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix: str | None = None,
                           path_params: dict | None = None) -> Any:
        # Paths relative to the server URL /v1, as the SDK and the public spec write them.
        document = super().get_openapi_schema(path_prefix="", path_params=path_params)
        document["servers"] = [{"url": "/v1"}]
        schemas = document["components"]["schemas"]
        error = Error.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(error.pop("$defs"))
        schemas["Error"] = error
        for item in document["paths"].values():
            for operation in item.values():
                _document_operation(operation)
        document["x-scopes"] = API_KEY_SCOPES
        document["x-field-aliases"] = ALIASES
        return document


def _document_operation(operation: dict) -> None:
    scope = operation.pop("x-scope", None)
    codes = sorted({*EVERY_OPERATION, *operation.pop("x-errors", ())})
    for code in codes:
        operation["responses"][str(code)] = {
            "description": ERROR_RESPONSES[code],
            "content": {"application/json": {"schema": ERROR_REF}},
        }
    operation["responses"] = {str(code): response for code, response in
                              sorted(operation["responses"].items(), key=lambda i: str(i[0]))}
    if scope:
        operation["x-scope"] = scope
        operation["description"] = (operation.get("description", "") + "\n\n"
                                    f"Needs an API key with the `{scope}` scope.").strip()


def build_api() -> LogExportsAPI:
    api = LogExportsAPI(
        title="Log Exports API",
        version="1.0.0",
        description="Wire-compatible with the public Portkey SDK's logs and log exports "
                    "resources. Every error answers "
                    "`{\"error\": {\"message\", \"field\", \"code\"}}`.",
        urls_namespace="api",
        parser=JsonBodyParser(),
        openapi_extra={"tags": [{"name": "Logs Export"}, {"name": "Logs"},
                                {"name": "Deliveries"}, {"name": "Schedules"}]},
    )
    install_error_handlers(
        api, unauthenticated=missing_key,
        known_fields={"body": tuple(CreateExportRequest.model_fields)},
    )
    api.add_router("", exports.router)
    api.add_router("", logs.router)
    api.add_router("", deliveries.router)
    api.add_router("", schedules.router)
    return api


api = build_api()
