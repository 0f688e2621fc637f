"""The page where each person turns the e-mails about their exports on or off, and the Request
Data form's submit when it delivers to a destination."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import current_workspace
from deliveries import services
from deliveries.selectors import workspace_destination
from exports import views as export_views
from exports.models import ExportJob


@require_GET
@login_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    return render(request, "deliveries/notifications.html", {
        "email_on": services.email_wanted(request.user),
        "saved": request.GET.get("saved") == "1",
    })


@require_POST
@login_required
def notification_settings_save(request: HttpRequest) -> HttpResponse:
    services.email_preference_set(user=request.user,
                                  enabled=request.POST.get("email_on_export_finished") == "on")
    return redirect(reverse("deliveries:notifications") + "?saved=1")


@require_POST
@login_required
def export_create(request: HttpRequest) -> HttpResponse:
    """The Request Data form's submit: as the Exports page's own, and when "Deliver to" names
    one of the workspace's destinations, the file is also copied there once it has succeeded."""
    chosen = (request.POST.get("destination_id") or "").strip()
    if not chosen:
        return export_views.export_create(request)
    workspace = current_workspace(request)
    destination = workspace_destination(workspace=workspace, destination_id=chosen) \
        if workspace is not None else None

    def create(**arguments: Any) -> ExportJob:
        if destination is None:
            raise ValidationError({"destination_id": "Deliver to: no such destination in this "
                                                     "workspace (deleted meanwhile?)"})
        return services.export_job_create_delivered(destination=destination, **arguments)

    return export_views.export_create(request, create=create)
