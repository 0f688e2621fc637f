"""The REST API under /v1 (included from config.urls): ninja's operations, answering HEAD like
GET and a wrong method or an unknown path in the API's JSON error shape."""

from __future__ import annotations

from functools import wraps
from typing import cast

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, URLPattern, re_path, resolve
from django.views.decorators.csrf import csrf_exempt

from api.errors import ApiError, error_response
from api.v1 import api

app_name = "api"


def json_errors(view):
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        head = request.method == "HEAD"
        if head:
            request.method = "GET"
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return unknown_path(request)
        finally:
            if head:
                request.method = "HEAD"
        if response.status_code == 405 and response.get("Content-Type", "").startswith(
                "text/"):
            allowed = sorted(method.strip() for method in response["Allow"].split(","))
            if "GET" in allowed:
                allowed.append("HEAD")
            return error_response(ApiError(
                405, f"{request.method} is not allowed here; use {', '.join(allowed)}",
                code="method_not_allowed", headers={"Allow": ", ".join(allowed)}))
        return response

    return wrapped


def unknown_path(request: HttpRequest) -> HttpResponse:
    return error_response(ApiError(404, f"no API endpoint at {request.path}", code="not_found"))


@csrf_exempt
def unknown_endpoint(request: HttpRequest, **kwargs) -> HttpResponse:
    """A trailing slash is forgiven (the SDK and the old routes accept both); else a JSON 404."""
    if request.path.endswith("/") and request.path.rstrip("/") != "/v1":
        try:
            match = resolve(request.path.rstrip("/"))
        except Resolver404:
            match = None
        if match is not None and match.func is not unknown_endpoint:
            return match.func(request, *match.args, **match.kwargs)
    return unknown_path(request)


urlpatterns = [
    URLPattern(pattern.pattern, json_errors(pattern.callback), pattern.default_args,
               pattern.name)
    for pattern in cast("list[URLPattern]", api.urls[0])  # ninja's own routes: patterns only
] + [re_path(r"^.*$", unknown_endpoint)]
