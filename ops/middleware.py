"""Middleware of the production concerns: request ids and logs, health probes, API caching."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect

from ops import health
from ops.client_address import client_address
from ops.logging import redact, request_id_var

request_logger = logging.getLogger("ops.requests")
INCOMING_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
HEALTH_PATHS = {"/healthz": health.healthz, "/readyz": health.readyz}


class RequestLogMiddleware:
    """Gives each request an id (the proxy's X-Request-ID when it sends a sane one), puts it on
    every log line written meanwhile and on the response, and logs one line per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if INCOMING_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        # Kept until the request is finished (ops.apps), so Django's own log of a 4xx or 5xx,
        # written after the middleware returns, carries the id too.
        request_id_var.set(request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        if settings.REQUEST_LOG:
            self.log(request, response, started)
        return response

    @staticmethod
    def log(request: HttpRequest, response: HttpResponse, started: float) -> None:
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        path = redact(request.path)
        user = getattr(request, "user", None)
        fields = {
            "method": request.method,
            "path": path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "client": client_address(request),
            "user": user.get_username() if user is not None and user.is_authenticated else None,
            "api_key": getattr(request, "api_key_prefix", None),
        }
        level = logging.DEBUG if path in HEALTH_PATHS else logging.INFO
        request_logger.log(level, "%s %s %s %sms", request.method, path, response.status_code,
                           duration_ms, extra={"http": fields})


class HealthCheckMiddleware:
    """Answers the probes before host validation, HTTPS redirect, sessions and auth: a load
    balancer asks by IP address over plain HTTP and must not be told to go elsewhere."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = HEALTH_PATHS.get(request.path_info.rstrip("/"))
        if probe is not None and request.method in ("GET", "HEAD"):
            response = probe(request)
            response["Cache-Control"] = "no-store"
            return response
        return self.get_response(request)


class ApiNoStoreMiddleware:
    """API answers carry tenant data and signed links: no cache (browser or proxy) keeps them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path_info.startswith("/v1/"):
            response["Cache-Control"] = "no-store"
        return response


class HtmxLoginRedirectMiddleware:
    """An htmx request whose session has ended (a page polling past the session's expiry) would
    follow the redirect to the login page and swap that page into a table row: the browser goes
    to the login page itself instead, and after signing in back to the page it was showing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 302 or not getattr(request, "htmx", False):
            return response
        login = resolve_url(settings.LOGIN_URL)
        user = getattr(request, "user", None)
        if (user is None or user.is_authenticated
                or urlsplit(response["Location"]).path != login):
            return response
        back = request.htmx.current_url_abs_path  # None for a page of another site
        return HttpResponseClientRedirect(f"{login}?{urlencode({'next': back})}" if back
                                          else login)
