"""The one error shape of the REST API: {"error": {"message", "field", "code"}}."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import JsonResponse


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
        return ApiError(422, message, code="invalid_value", field=field_name)
    return ApiError(422, error.messages[0], code="invalid_value")


def bad_request(message: str, *, field: str | None = None) -> ApiError:
    return ApiError(400, message, code="invalid_request", field=field)


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found", code="not_found")
