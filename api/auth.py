"""Who is calling the REST API, and in which workspace: key headers, scopes, workspace_id."""

from __future__ import annotations

import uuid

from django.http import HttpRequest

from accounts.api_keys import KeyRejected, authenticate_api_key, workspaces_of
from accounts.models import ApiKey, Workspace
from api.errors import ApiError

API_KEY_HEADER = "x-portkey-api-key"


def presented_key(request: HttpRequest) -> str | None:
    header_key = request.headers.get(API_KEY_HEADER)
    if header_key and header_key.strip():
        return header_key.strip()
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def authenticate(request: HttpRequest, *, scope: str) -> ApiKey:
    raw_key = presented_key(request)
    if raw_key is None:
        raise ApiError(
            401, f"an API key is required: send it in the {API_KEY_HEADER} header or as "
            "Authorization: Bearer <key>", code="missing_api_key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        api_key = authenticate_api_key(raw_key)
    except KeyRejected as rejected:
        raise ApiError(401, rejected.message, code=rejected.code,
                       headers={"WWW-Authenticate": "Bearer"}) from None
    if not api_key.has_scope(scope):
        raise ApiError(403, f"this API key lacks the {scope} scope", code="missing_scope")
    return api_key


def _matches(workspace: Workspace, reference: str) -> bool:
    return reference in (str(workspace.id), workspace.slug)


def _as_reference(value, *, field: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ApiError(422, f"{field}: must be a workspace id or slug", code="invalid_value",
                       field=field)
    return value.strip()


def resolve_workspace(api_key: ApiKey, workspace_id, *, field: str = "workspace_id") -> Workspace:
    """The workspace a request acts in: the key's own, or the named one of its organization."""
    reference = _as_reference(workspace_id, field=field)
    if api_key.workspace_id:
        workspace = api_key.workspace
        if reference is not None and not _matches(workspace, reference):
            raise ApiError(403, f"{field}: this API key works only in workspace "
                           f"{workspace.slug!r}", code="wrong_workspace", field=field)
        return workspace
    candidates = workspaces_of(api_key).select_related("organization")
    if reference is not None:
        try:
            lookup: dict = {"id": uuid.UUID(reference)}
        except ValueError:
            lookup = {"slug": reference}
        workspace = candidates.filter(**lookup).first()
        if workspace is None:
            raise ApiError(404, f"{field}: no workspace {reference!r} in this organization",
                           code="not_found", field=field)
        return workspace
    found = list(candidates[:2])
    if len(found) == 1:
        return found[0]
    if not found:
        raise ApiError(422, "this organization has no workspace yet", code="invalid_value",
                       field=field)
    raise ApiError(422, f"{field}: required, because this organization key covers several "
                   "workspaces (give the workspace's id or slug)", code="invalid_value",
                   field=field)
