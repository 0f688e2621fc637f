"""Which workspaces a user may see, and which one the pages are showing."""

from __future__ import annotations

import uuid

from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest

from accounts.api_keys import workspaces_of
from accounts.models import ApiKey, Membership, Workspace

SESSION_KEY = "current_workspace_id"


def workspaces_for_user(user) -> QuerySet[Workspace]:
    if not user.is_authenticated:
        return Workspace.objects.none()
    return Workspace.objects.filter(memberships__user=user).select_related("organization")


def workspace_for_user(user, workspace_id) -> Workspace:
    """One of the user's workspaces, or 404: another workspace is as good as absent."""
    try:
        wanted = uuid.UUID(str(workspace_id))
    except ValueError:
        raise Http404("No such workspace.") from None
    workspace = workspaces_for_user(user).filter(id=wanted).first()
    if workspace is None:
        raise Http404("No such workspace.")
    return workspace


def current_workspace(request: HttpRequest) -> Workspace | None:
    """The workspace chosen in this session if the user still belongs to it, else their first."""
    workspaces = workspaces_for_user(request.user)
    chosen = request.session.get(SESSION_KEY)
    if chosen:
        workspace = workspaces.filter(id=chosen).first()
        if workspace is not None:
            return workspace
    return workspaces.order_by("name", "id").first()


def remember_workspace(request: HttpRequest, workspace: Workspace) -> None:
    request.session[SESSION_KEY] = str(workspace.id)


def shell_context(request: HttpRequest, workspace: Workspace | None) -> dict:
    """What base.html's sidebar needs: the current workspace and the others to switch to."""
    return {
        "current_workspace": workspace,
        "user_workspaces": list(workspaces_for_user(request.user).order_by("name", "id")),
    }


# --- API keys --------------------------------------------------------------------------------

def can_manage_api_keys(user, workspace: Workspace) -> bool:
    """Workspace admins create and revoke keys: a key acts for the whole workspace."""
    return Membership.objects.filter(
        user=user, workspace=workspace, role=Membership.Role.ADMIN
    ).exists()


def workspace_api_keys(workspace: Workspace) -> QuerySet[ApiKey]:
    """The keys of this workspace only; organization-wide keys are managed in the admin."""
    return ApiKey.objects.filter(workspace=workspace).order_by(
        F("revoked_at").asc(nulls_first=True), "-created_at"  # active keys first, newest first
    )


def workspace_api_key(workspace: Workspace, key_id) -> ApiKey:
    """One key of this workspace, or 404: another tenant's key is as good as absent."""
    api_key = workspace_api_keys(workspace).filter(id=key_id).first()
    if api_key is None:
        raise Http404("No such API key.")
    return api_key


def api_key_workspace(api_key: ApiKey, reference: str) -> Workspace | None:
    """The workspace of this id or slug, if the key may act in it."""
    try:
        lookup: dict = {"id": uuid.UUID(reference)}
    except ValueError:
        lookup = {"slug": reference}
    return workspaces_of(api_key).select_related("organization").filter(**lookup).first()


def api_key_workspaces(api_key: ApiKey, *, at_most: int) -> list[Workspace]:
    """Up to `at_most` of the workspaces the key may act in."""
    return list(workspaces_of(api_key).select_related("organization")[:at_most])
