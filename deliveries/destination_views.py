"""The Destinations page: the workspace's own buckets. Its admins add and delete them (as they
set the redaction policy); members see them and deliver exports to them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.selectors import can_manage_api_keys, current_workspace, shell_context
from deliveries import services
from deliveries.forms import DestinationForm
from deliveries.selectors import workspace_destination, workspace_destinations

REFUSED = "Only admins of this workspace can add or delete destinations."


def page_workspace(request: HttpRequest):
    workspace = current_workspace(request)
    if workspace is None:
        raise Http404("You are not a member of any workspace.")
    return workspace


def _render(request: HttpRequest, workspace, form: DestinationForm, *, status: int = 200,
            error: str = "") -> HttpResponse:
    context = shell_context(request, workspace)
    context.update(active_nav="destinations", form=form, page_error=error,
                   destinations=workspace_destinations(workspace=workspace),
                   can_manage=can_manage_api_keys(request.user, workspace))
    return render(request, "deliveries/destinations.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def destinations(request: HttpRequest) -> HttpResponse:
    workspace = page_workspace(request)
    if request.method == "GET":
        return _render(request, workspace, DestinationForm())
    form = DestinationForm(request.POST)
    if not can_manage_api_keys(request.user, workspace):
        form.add_error(None, REFUSED)
        return _render(request, workspace, form, status=403)
    form.is_valid()  # every field is optional text here: the service says what is wrong
    try:
        # Writes and deletes a test object in the bucket first: a slow endpoint holds this
        # request for up to the client's timeouts (deliveries.buckets).
        destination = services.destination_create(workspace=workspace,
                                                  **form.service_arguments())
    except ValidationError as error:
        form.add_service_errors(error)
        return _render(request, workspace, form, status=422)
    messages.success(request, f"Destination “{destination.name}” added: a test object was "
                              "written to it and deleted.")
    return redirect("deliveries:destinations")


@require_POST
@login_required
def destination_delete(request: HttpRequest, destination_id) -> HttpResponse:
    workspace = page_workspace(request)
    destination = workspace_destination(workspace=workspace, destination_id=destination_id)
    if destination is None:
        raise Http404("No such destination.")
    if not can_manage_api_keys(request.user, workspace):
        return _render(request, workspace, DestinationForm(), status=403, error=REFUSED)
    try:
        services.destination_delete(destination=destination)
    except services.DestinationInUse as refusal:
        return _render(request, workspace, DestinationForm(), status=409,
                       error=f"“{destination.name}” was not deleted: {refusal.message}.")
    messages.success(request, f"Destination “{destination.name}” deleted.")
    return redirect("deliveries:destinations")
