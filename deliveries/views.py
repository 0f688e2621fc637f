"""The page where each person turns the e-mails about their exports on or off."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from deliveries import services


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
