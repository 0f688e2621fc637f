"""Choosing which of a user's workspaces the pages show."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.selectors import remember_workspace, workspace_for_user


@require_POST
@login_required
def workspace_switch(request: HttpRequest) -> HttpResponse:
    workspace = workspace_for_user(request.user, request.POST.get("workspace"))
    remember_workspace(request, workspace)
    messages.info(request, f"Now showing workspace {workspace.name}.")
    next_url = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = "exports:index"
    return redirect(next_url)
