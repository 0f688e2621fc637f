"""The one error shape of the REST API, {"error": {"message", "field", "code"}}, for every status.

`install_error_handlers` maps every exception an API request can end in onto that shape: our
own ApiError, the services' ValidationError / ExportsUnavailable / InvalidTransition /
QueueUnavailable, a database that cannot be reached (503 with Retry-After, as for the queue),
a statement past the web's bound (StatementTimeout), ninja's validation and authentication
errors, and anything unexpected (a 500 that is logged, never a traceback or an HTML page).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as SchemaValidationError
from pydantic import BaseModel

from deliveries.buckets import REFUSED as DESTINATION_REFUSED
from exports.access import ExportsUnavailable
from exports.errors import InvalidTransition, QueueUnavailable
from exports.redaction.policy import POLICY_NOT_KEPT
from exports.redaction.rules import INVALID_PATTERN
from exports.services import EMPTY_EXPORT
from logs.filters import CONFLICT
from ops.database import RETRY_AFTER_SECONDS, connection_lost
from ops.database_time import StatementTimeout

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    message: str
    field: str | None
    code: str


class Error(BaseModel):
    """What every 4xx and 5xx of the API answers."""

    error: ErrorDetail


class ApiError(Exception):
    """Ends an API request with this status and the standard error body."""

    def __init__(self, status: int, message: str, *, code: str, field: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.field = field
        self.headers = headers or {}


def error_response(error: ApiError) -> JsonResponse:
    body = {"error": {"message": error.message, "field": error.field, "code": error.code}}
    response = JsonResponse(body, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def from_validation_error(error: ValidationError) -> ApiError:
    """422 naming the first field at fault (a ValidationError from a service names its field)."""
    if hasattr(error, "error_dict"):
        field, messages = next(iter(error.message_dict.items()))
        reason = messages[0]
        field_name = None if field == "__all__" else field
        message = f"{field_name}: {reason}" if field_name else reason
        # Values each valid, refused together: what the OpenAPI document cannot state.
        code = {CONFLICT: "conflicting_values", EMPTY_EXPORT: "no_matching_logs",
                INVALID_PATTERN: INVALID_PATTERN, POLICY_NOT_KEPT: POLICY_NOT_KEPT,
                DESTINATION_REFUSED: "destination_refused"}.get(
            error.error_dict[field][0].code or "", "invalid_value")
        return ApiError(422, message, code=code, field=field_name)
    return ApiError(422, error.messages[0], code="invalid_value")


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found", code="not_found")


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"the request body is larger than {limit:,} bytes",
                    code="payload_too_large")


def field_path(location: tuple | list) -> str:
    """("filters", "created_at") -> "filters.created_at"; list indexes as [1]."""
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


# Pydantic error types -> our words. The request schemas check only the shape of a body (an
# object, which keys); the values are checked by logs.filters and the services, in one place.
SCHEMA_REASONS = {
    "extra_forbidden": "is not a known field",
    "missing": "is required",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
}


def from_schema_error(error: SchemaValidationError, known_fields: dict[str, tuple]) -> ApiError:
    first = error.errors[0]
    source, *location = first["loc"]
    if location and location[0] == "payload":  # the body's own name in the operation
        location = location[1:]
    kind = first.get("type", "")
    if source == "body" and not location:
        return ApiError(400, "the request body must be a JSON object", code="invalid_body")
    field = field_path(location)
    reason = SCHEMA_REASONS.get(kind) or str(first.get("msg", "is invalid"))
    if kind == "extra_forbidden" and len(location) == 1:
        known = known_fields.get(source)
        if known:
            reason = f"{reason}; use {', '.join(known)}"
    return ApiError(422, f"{field}: {reason}" if field else reason, code="invalid_value",
                    field=field or None)


def install_error_handlers(api: NinjaAPI, *, known_fields: dict[str, tuple],
                           unauthenticated: Callable[[], ApiError]) -> None:
    """known_fields: each body's field names, for the error on an unknown one."""
    def handle(exception_class, to_error):
        api.add_exception_handler(
            exception_class, lambda request, exc: error_response(to_error(request, exc)))

    handle(ApiError, lambda request, exc: exc)
    handle(ValidationError, lambda request, exc: from_validation_error(exc))
    handle(ExportsUnavailable,
           lambda request, exc: ApiError(403, exc.message, code="exports_unavailable"))
    handle(InvalidTransition, lambda request, exc: ApiError(409, exc.message,
                                                            code="invalid_state"))
    handle(QueueUnavailable, lambda request, exc: ApiError(
        503, exc.message, code="queue_unavailable",
        headers={"Retry-After": str(exc.retry_after)}))
    # (ninja's annotation wants a handler per exception class; one serves both here)
    api.add_exception_handler(OperationalError, database_error)  # type: ignore[arg-type]
    api.add_exception_handler(InterfaceError, database_error)  # type: ignore[arg-type]
    handle(StatementTimeout, lambda request, exc: ApiError(503, exc.message,
                                                           code="database_timeout"))
    handle(SchemaValidationError, lambda request, exc: from_schema_error(exc, known_fields))
    handle(AuthenticationError, lambda request, exc: unauthenticated())
    handle(RequestDataTooBig, lambda request, exc: too_large(_body_limit()))
    handle(Http404, lambda request, exc: ApiError(404, f"no API endpoint at {request.path}",
                                                  code="not_found"))
    handle(HttpError, _from_http_error)
    # ninja types the handler as taking an exception or its class; it is given the exception.
    api.add_exception_handler(Exception, server_error)  # type: ignore[arg-type]


def _body_limit() -> int:
    from django.conf import settings

    return settings.API_MAX_BODY_BYTES


def _from_http_error(request: HttpRequest, error: HttpError) -> ApiError:
    # ninja wraps what the body parser raises ("Cannot parse request body"); ours says why.
    if isinstance(error.__cause__, ApiError):
        return error.__cause__
    if isinstance(error.__cause__, RequestDataTooBig):
        return too_large(_body_limit())
    return ApiError(error.status_code, str(error), code="invalid_request")


def database_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The database cannot be reached (down, failing over, restarting): 503, try again."""
    if not connection_lost(exc):
        return server_error(request, exc)
    logger.warning("API request %s %s: database unreachable: %s", request.method, request.path,
                   exc)
    return error_response(ApiError(
        503, "the database cannot be reached right now; try again in a minute",
        code="database_unavailable", headers={"Retry-After": str(RETRY_AFTER_SECONDS)}))


def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.error("API request %s %s failed", request.method, request.path, exc_info=exc)
    return error_response(ApiError(500, "the server failed to answer this request; it has "
                                   "been logged", code="server_error"))
