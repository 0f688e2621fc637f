"""Who is calling the REST API, and in which workspace: key headers, scopes, workspace_id.

`key_auth(scope)` is what every operation declares as its `auth`: the key may come in the
x-portkey-api-key header or as Authorization: Bearer; either way it must carry the scope. The
authenticated ApiKey is `request.auth`.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyHeader, HttpBearer

from accounts.api_keys import KeyRejected, authenticate_api_key
from accounts.models import ApiKey, Workspace
from accounts.selectors import api_key_workspace, api_key_workspaces
from api.errors import ApiError
from ops.client_address import client_address
from ops.rate_limit import RateLimited, count, over_budget, spend

API_KEY_HEADER = "x-portkey-api-key"


def missing_key() -> ApiError:
    return ApiError(401, f"an API key is required: send it in the {API_KEY_HEADER} header or "
                    "as Authorization: Bearer <key>", code="missing_api_key",
                    headers={"WWW-Authenticate": "Bearer"})


def authenticate(request: HttpRequest, raw_key: str, *, scope: str) -> ApiKey:
    """The key, within its request budget; wrong keys spend the address's budget instead."""
    budget = f"api-key-failures:{client_address(request)}"
    limit, window = settings.API_AUTH_FAILURE_LIMIT, settings.API_AUTH_FAILURE_WINDOW
    wait = over_budget(budget=budget, limit=limit, window=window)
    if wait:
        raise ApiError(429, "too many requests with a wrong API key from this address; try "
                       f"again in {wait} seconds", code="rate_limited",
                       headers={"Retry-After": str(wait)})
    try:
        api_key = authenticate_api_key(raw_key)
    except KeyRejected as rejected:
        # This answer is still the 401; the requests after the limit are refused above.
        if limit > 0:
            count(budget=budget, window=window)
        raise ApiError(401, rejected.message, code=rejected.code,
                       headers={"WWW-Authenticate": "Bearer"}) from None
    request.api_key_prefix = api_key.prefix  # for the request log
    enforce_rate_limit(api_key)
    if not api_key.has_scope(scope):
        raise ApiError(403, f"this API key lacks the {scope} scope", code="missing_scope")
    return api_key


def enforce_rate_limit(api_key: ApiKey) -> None:
    """API_RATE_LIMIT requests per API_RATE_LIMIT_WINDOW seconds per key, on every host."""
    try:
        spend(budget=f"api-key:{api_key.prefix}", limit=settings.API_RATE_LIMIT,
              window=settings.API_RATE_LIMIT_WINDOW)
    except RateLimited as limited:
        raise ApiError(
            429, f"rate limit reached: this API key may make {limited.limit} requests per "
            f"{limited.window} seconds; try again in {limited.retry_after} seconds",
            code="rate_limited", headers={"Retry-After": str(limited.retry_after)},
        ) from None


class PortkeyKeyHeader(APIKeyHeader):
    """The SDK's header. Absent or blank: None, so that the Bearer scheme is tried next."""

    param_name = API_KEY_HEADER

    def __init__(self, scope: str):
        super().__init__()
        self.openapi_name = "portkeyApiKey"
        self.scope = scope

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        if not key or not key.strip():
            return None
        return authenticate(request, key.strip(), scope=self.scope)


class BearerKey(HttpBearer):
    """Authorization: Bearer <key>. Neither scheme present: ninja's 401 (api.errors words it)."""

    def __init__(self, scope: str):
        super().__init__()
        self.openapi_name = "bearer"
        self.scope = scope

    def __call__(self, request: HttpRequest) -> ApiKey | None:
        scheme, _, token = (request.headers.get(self.header) or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        return authenticate(request, token, scope=self.scope)


def key_auth(scope: str) -> list:
    return [PortkeyKeyHeader(scope), BearerKey(scope)]


def _matches(workspace: Workspace, reference: str) -> bool:
    return reference in (str(workspace.id), workspace.slug)


def _as_reference(value, *, field: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or "\x00" in value:
        raise ApiError(422, f"{field}: must be a workspace id or slug", code="invalid_value",
                       field=field)
    return value.strip()


def resolve_workspace(api_key: ApiKey, workspace_id, *, field: str = "workspace_id") -> Workspace:
    """The workspace a request acts in: the key's own, or the named one of its organization."""
    reference = _as_reference(workspace_id, field=field)
    workspace = api_key.workspace if api_key.workspace_id else None
    if workspace is not None:
        if reference is not None and not _matches(workspace, reference):
            raise ApiError(403, f"{field}: this API key works only in workspace "
                           f"{workspace.slug!r}", code="wrong_workspace", field=field)
        return workspace
    if reference is not None:
        workspace = api_key_workspace(api_key, reference)
        if workspace is None:
            raise ApiError(404, f"{field}: no workspace {reference!r} in this organization",
                           code="not_found", field=field)
        return workspace
    found = api_key_workspaces(api_key, at_most=2)
    if len(found) == 1:
        return found[0]
    if not found:
        raise ApiError(422, "this organization has no workspace yet", code="invalid_value",
                       field=field)
    raise ApiError(422, f"{field}: required, because this organization key covers several "
                   "workspaces (give the workspace's id or slug)", code="invalid_value",
                   field=field)
