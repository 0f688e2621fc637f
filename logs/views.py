"""The Logs page: the current workspace's logs, newest first, filtered like an export."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.selectors import current_workspace, shell_context
from logs.filters import matching_logs, normalise_filters
from logs.forms import LogFilterForm
from logs.models import Log

PAGE_SIZE = 50


@require_GET
@login_required
def log_index(request: HttpRequest) -> HttpResponse:
    workspace = current_workspace(request)
    if workspace is None:
        raise Http404("You are not a member of any workspace.")
    form = LogFilterForm(request.GET or {"time_range": LogFilterForm.default_time_range})
    filters: dict | None = None
    if form.is_valid():
        try:
            filters = normalise_filters(form.raw_filters(now=timezone.now()))
        except ValidationError as error:
            form.add_service_errors(error)
    if filters is None:
        # A filter that does not parse never widens the result: nothing is listed until it is
        # fixed (the error shows beside it).
        logs = Log.objects.none()
    else:
        logs = matching_logs(workspace_id=workspace.id, filters=filters).order_by(
            "-created_at", "-id")
    page = Paginator(logs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    models = (
        Log.objects.filter(workspace=workspace).order_by("ai_model")
        .values_list("ai_model", flat=True).distinct()
    )
    context = shell_context(request, workspace)
    context.update(
        active_nav="logs", form=form, page=page, logs=page.object_list,
        page_query=query.urlencode(), export_query=form.filter_query(),
        model_choices=[model for model in models if model],
        filters_invalid=filters is None,
    )
    if request.htmx and not request.htmx.boosted:
        return render(request, "logs/index.html#log-list", context)
    return render(request, "logs/index.html", context)


@require_GET
@login_required
def log_detail(request: HttpRequest, log_id) -> HttpResponse:
    log = (
        Log.objects.select_related("workspace")
        .filter(id=log_id, workspace__memberships__user=request.user)
        .first()
    )
    if log is None:
        raise Http404("No such log.")
    context = shell_context(request, current_workspace(request))
    context.update(
        active_nav="logs", log=log,
        request_json=json.dumps(log.request, indent=2, ensure_ascii=False),
        response_json=json.dumps(log.response, indent=2, ensure_ascii=False),
        metadata_json=json.dumps(log.metadata, indent=2, ensure_ascii=False),
    )
    if request.htmx:
        return render(request, "logs/index.html#log-detail", context)
    return render(request, "logs/detail.html", context)
