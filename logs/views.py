"""The Logs page: the current workspace's logs, newest first, filtered like an export."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.selectors import current_workspace, shell_context
from logs.counting import LIST_COUNT_BOUND, bounded_count
from logs.filters import matching_logs, normalise_filters
from logs.forms import LogFilterForm
from logs.hourly_counts import TimeRange, time_range
from logs.keyset import BadPosition, KeysetPage, keyset_page, parse_position
from logs.model_names import workspace_model_names
from logs.models import Log
from logs.replica import read_database
from logs.selectors import user_log

PAGE_SIZE = 50
ONE_MICROSECOND = timedelta(microseconds=1)  # the finest step of a log's created_at
PAGING_KEYS = ("page", "before", "after")  # "page": links from before keyset pages


@require_GET
@login_required
def log_index(request: HttpRequest) -> HttpResponse:
    workspace = current_workspace(request)
    if workspace is None:
        # The Exports page says what someone in no workspace can do next.
        return redirect("exports:index")
    form = LogFilterForm(request.GET or {"time_range": LogFilterForm.default_time_range})
    filters: dict | None = None
    if form.is_valid():
        try:
            filters = normalise_filters(form.raw_filters(now=timezone.now()))
        except ValidationError as error:
            form.add_service_errors(error)
    database = read_database()
    if filters is None:
        # A filter that does not parse never widens the result: nothing is listed until it is
        # fixed (the error shows beside it).
        logs = Log.objects.none()
    else:
        logs = matching_logs(workspace_id=workspace.id, filters=filters).using(database)
    page, position_error = _keyset_page(logs, request)
    query = request.GET.copy()
    for key in PAGING_KEYS:
        query.pop(key, None)
    context = shell_context(request, workspace)
    hourly = None if filters is None else time_range(workspace_id=workspace.id,
                                                     filters=filters, using=database)
    page_start = _page_start(page, hourly)
    context.update(
        active_nav="logs", form=form, page=page, logs=page.logs,
        total=None if filters is None else bounded_count(
            logs, bound=LIST_COUNT_BOUND, estimate=True, hourly=hourly),
        page_start=page_start,
        page_end=page_start + len(page.logs) - 1 if page_start else None,
        position_error=position_error,
        page_query=query.urlencode(), export_query=form.filter_query(),
        model_choices=workspace_model_names(workspace_id=workspace.id, database=database),
        filters_invalid=filters is None,
    )
    if request.htmx and not request.htmx.boosted:
        return render(request, "logs/index.html#log-list", context)
    return render(request, "logs/index.html", context)


def _page_start(page: KeysetPage, hourly: TimeRange | None) -> int | None:
    """The position of the page's first (newest) log, where it is cheap to know: the newest
    page, or a range the hourly counts can count (the logs newer than the page's first)."""
    if not page.logs:
        return None
    if page.newer is None:
        return 1
    if hourly is None:
        return None
    after_first = page.logs[0].created_at + ONE_MICROSECOND
    newer = replace(hourly, gte=after_first if hourly.gte is None else max(hourly.gte,
                                                                         after_first))
    return newer.count() + 1


def _keyset_page(logs, request: HttpRequest) -> tuple[KeysetPage, str]:
    """The page a link asks for (?before= or ?after= a position); a bad position shows the
    newest logs and says so."""
    positions = {}
    for direction in ("before", "after"):
        token = request.GET.get(direction)
        if token:
            try:
                positions[direction] = parse_position(token)
            except BadPosition as error:
                return keyset_page(logs, size=PAGE_SIZE), f"{error}; showing the newest logs."
    return keyset_page(logs, size=PAGE_SIZE, **positions), ""


@require_GET
@login_required
def log_detail(request: HttpRequest, log_id) -> HttpResponse:
    log = user_log(user=request.user, log_id=log_id)
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
