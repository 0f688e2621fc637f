"""Which workspaces a user may see, and which one the pages are showing."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from accounts.models import Workspace

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
