"""Workspace settings pages: choosing which workspace the pages show, and its API keys."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts import services
from accounts.forms import ApiKeyForm
from accounts.models import API_KEY_SCOPES, ApiKey
from accounts.selectors import (
    can_manage_api_keys,
    current_workspace,
    remember_workspace,
    shell_context,
    workspace_api_key,
    workspace_api_keys,
    workspace_for_user,
)

MANAGE_REFUSED = "Only admins of this workspace can create or revoke API keys."


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


# --- API keys --------------------------------------------------------------------------------

def _api_keys_context(request: HttpRequest, workspace, *, form: ApiKeyForm | None = None,
                      created: ApiKey | None = None, raw_key: str = "",
                      refusal: str = "") -> dict:
    context = shell_context(request, workspace)
    context["active_nav"] = "api_keys"
    if workspace is None:
        return context
    context.update(
        api_keys=list(workspace_api_keys(workspace)),
        can_manage=can_manage_api_keys(request.user, workspace),
        form=form or ApiKeyForm(),
        scope_descriptions=API_KEY_SCOPES,
        created_key=created,
        raw_key=raw_key,
        refusal=refusal,
    )
    return context


def _render_api_keys(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    """The page, or for htmx its body partial (the key box, the form and the list)."""
    template = "accounts/api_keys.html#api-keys-body" if request.htmx else \
        "accounts/api_keys.html"
    response = render(request, template, context, status=status)
    # A page that may hold a freshly made key must not linger in any cache.
    add_never_cache_headers(response)
    return response


def _managed_workspace(request: HttpRequest):
    """The current workspace, and whether the user may change its keys."""
    workspace = current_workspace(request)
    if workspace is None:
        raise Http404("You are not a member of any workspace.")
    return workspace, can_manage_api_keys(request.user, workspace)


@require_GET
@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    return _render_api_keys(request, _api_keys_context(request, current_workspace(request)))


@require_POST
@login_required
def api_key_create(request: HttpRequest) -> HttpResponse:
    workspace, allowed = _managed_workspace(request)
    form = ApiKeyForm(request.POST)
    if not allowed:
        context = _api_keys_context(request, workspace, form=form, refusal=MANAGE_REFUSED)
        return _render_api_keys(request, context, status=403)
    if form.is_valid():
        try:
            api_key, raw_key = services.api_key_create(
                workspace=workspace, name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            # Rendered, not redirected: the key exists only in this response.
            context = _api_keys_context(request, workspace, created=api_key, raw_key=raw_key)
            return _render_api_keys(request, context)
    return _render_api_keys(request, _api_keys_context(request, workspace, form=form),
                            status=422)


@require_POST
@login_required
def api_key_revoke(request: HttpRequest, key_id) -> HttpResponse:
    workspace, allowed = _managed_workspace(request)
    api_key = workspace_api_key(workspace, key_id)
    if not allowed:
        context = _api_keys_context(request, workspace, refusal=MANAGE_REFUSED)
        return _render_api_keys(request, context, status=403)
    if services.api_key_revoke(api_key=api_key):
        note = f"Revoked {api_key.name}: requests with it are now refused."
    else:
        note = f"{api_key.name} was already revoked."
    if request.htmx:
        context = _api_keys_context(request, workspace)
        context["revoked_note"] = note
        return _render_api_keys(request, context)
    messages.success(request, note)
    return redirect("accounts:api_keys")
