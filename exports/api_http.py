"""Plumbing shared by every REST endpoint: method routing, JSON bodies, errors as JSON."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from exports.access import ExportsUnavailable
from exports.api_errors import ApiError, error_response, from_validation_error
from exports.errors import InvalidTransition, QueueUnavailable

logger = logging.getLogger(__name__)
Handler = Callable[..., HttpResponse]


def api_endpoint(**handlers: Handler) -> Callable[..., HttpResponse]:
    """One URL, a handler per HTTP method (get=..., post=...); key auth, so no CSRF cookie."""
    allowed = sorted(method.upper() for method in handlers)
    if "GET" in allowed:
        allowed.append("HEAD")

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        method = "get" if request.method == "HEAD" else (request.method or "").lower()
        handler = handlers.get(method)
        try:
            if handler is None:
                raise ApiError(405, f"{request.method} is not allowed here; use "
                               f"{', '.join(allowed)}", code="method_not_allowed",
                               headers={"Allow": ", ".join(allowed)})
            return handler(request, **kwargs)
        except ApiError as error:
            return error_response(error)
        except ValidationError as error:
            return error_response(from_validation_error(error))
        except ExportsUnavailable as error:
            return error_response(ApiError(403, error.message, code="exports_unavailable"))
        except InvalidTransition as error:
            return error_response(ApiError(409, error.message, code="invalid_state"))
        except QueueUnavailable as error:
            return error_response(ApiError(
                503, error.message, code="queue_unavailable",
                headers={"Retry-After": str(error.retry_after)},
            ))

    return view


def json_body(request: HttpRequest, *, required: bool = True) -> dict:
    """The request's JSON object; 413 past API_MAX_BODY_BYTES, 400 when it is not an object."""
    limit = settings.API_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise too_large(limit)
    try:
        raw = request.read(limit + 1)
    except RequestDataTooBig:
        raise too_large(limit) from None
    if len(raw) > limit:
        raise too_large(limit)
    if not raw.strip():
        if required:
            raise ApiError(400, "the request body must be a JSON object", code="invalid_body")
        return {}
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, f"the request body is not valid JSON: {error}",
                       code="invalid_json") from None
    return body


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def json_object(request: HttpRequest, *, required: bool = True) -> dict:
    body = json_body(request, required=required)
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object", code="invalid_body")
    return body


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"the request body is larger than {limit:,} bytes",
                    code="payload_too_large")


def ok(data: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status)


@csrf_exempt
def unknown_endpoint(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return error_response(ApiError(404, f"no API endpoint at {request.path}", code="not_found"))
