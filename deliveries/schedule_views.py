"""The Schedules pages, beside Exports: the list, a schedule with its runs, and the form.

Workspace admins create, edit, pause and delete schedules (a schedule writes to the
workspace's bucket in its owner's name); members see them and their runs.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.selectors import can_manage_api_keys, shell_context
from deliveries import selectors
from deliveries.destination_views import page_workspace
from deliveries.forms import ScheduleForm, describe_cadence
from deliveries.models import Schedule
from deliveries.schedules import schedule_create, schedule_delete, schedule_update
from exports.models import ExportJob
from exports.redaction.policy import workspace_policy
from exports.redaction.rules import describe_redaction
from logs.filters import format_timestamp
from logs.hourly_counts import facet_counts
from logs.replica import read_database

RUNS_PAGE_SIZE = 20
HTMX_STOP_POLLING = 286
REFUSED = "Only admins of this workspace can create, change or delete schedules."
RUNNING = (ExportJob.Status.DRAFT, ExportJob.Status.IN_PROGRESS)


def _schedule(request: HttpRequest, workspace, schedule_id) -> Schedule:
    schedule = selectors.schedule_of(workspace=workspace, schedule_id=schedule_id)
    if schedule is None:
        raise Http404("No such schedule.")
    return schedule


def _require_admin(request: HttpRequest, workspace) -> None:
    if not can_manage_api_keys(request.user, workspace):
        raise PermissionDenied(REFUSED)


def _last_run_status(schedule: Schedule) -> str | None:
    run = selectors.schedule_runs(schedule=schedule).first()
    return selectors.run_status(run) if run is not None else None


@require_GET
@login_required
def schedule_index(request: HttpRequest) -> HttpResponse:
    workspace = page_workspace(request)
    rows = [{"schedule": schedule, "cadence": describe_cadence(schedule),
             "next_run_at": selectors.next_run_at(schedule),
             "last_status": _last_run_status(schedule)}
            for schedule in selectors.schedules_of(workspace=workspace)]
    context = shell_context(request, workspace)
    context.update(active_nav="schedules", rows=rows,
                   can_manage=can_manage_api_keys(request.user, workspace),
                   has_destinations=bool(selectors.workspace_destinations(workspace=workspace)))
    return render(request, "deliveries/schedules.html", context)


# --- The form --------------------------------------------------------------------------------

def _form(request: HttpRequest, workspace, *, schedule: Schedule | None) -> ScheduleForm:
    policy = workspace_policy(workspace.id)
    destinations = selectors.workspace_destinations(workspace=workspace)
    data = request.POST if request.method == "POST" else None
    form = ScheduleForm(data, policy=policy, schedule=schedule, destinations=destinations)
    if schedule is not None:  # (a bound form reads it for its disabled start only)
        form.initial = ScheduleForm.initial_of(schedule)
    return form


def _render_form(request: HttpRequest, workspace, form: ScheduleForm, *,
                 schedule: Schedule | None, status: int = 200) -> HttpResponse:
    # The filters' choice lists count the last week's logs (a schedule has no range of its own).
    week = {"created_at": {"gte": format_timestamp(timezone.now() - timedelta(days=7))}}
    form.facet_counts = facet_counts(workspace_id=workspace.id, filters=week,
                                     using=read_database())
    context = shell_context(request, workspace)
    problems: dict[str, list[str]] = {}
    if form.is_bound:
        for name, errors in form.errors.items():
            problems.setdefault(name, []).extend(str(error) for error in errors)
    context.update(active_nav="schedules", form=form, schedule=schedule,
                   field_problems=problems,
                   has_destinations=form.has_destinations)
    return render(request, "deliveries/schedule_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def schedule_new(request: HttpRequest) -> HttpResponse:
    workspace = page_workspace(request)
    _require_admin(request, workspace)
    form = _form(request, workspace, schedule=None)
    if request.method == "GET" or not form.is_valid():
        return _render_form(request, workspace, form, schedule=None,
                            status=200 if request.method == "GET" else 422)
    try:
        schedule = schedule_create(workspace=workspace, user=request.user,
                                   **form.schedule_arguments())
    except ValidationError as error:
        form.add_service_errors(error)
        return _render_form(request, workspace, form, schedule=None, status=422)
    messages.success(request, f"Schedule “{schedule.name}” created.")
    return redirect("deliveries:schedule", schedule_id=schedule.id)


@require_http_methods(["GET", "POST"])
@login_required
def schedule_edit(request: HttpRequest, schedule_id) -> HttpResponse:
    workspace = page_workspace(request)
    schedule = _schedule(request, workspace, schedule_id)
    _require_admin(request, workspace)
    form = _form(request, workspace, schedule=schedule)
    if request.method == "GET" or not form.is_valid():
        return _render_form(request, workspace, form, schedule=schedule,
                            status=200 if request.method == "GET" else 422)
    try:
        schedule_update(schedule=schedule, **form.schedule_arguments())
    except ValidationError as error:
        form.add_service_errors(error)
        return _render_form(request, workspace, form, schedule=schedule, status=422)
    messages.success(request, f"Schedule “{schedule.name}” saved: the changes apply from its "
                              "next window.")
    return redirect("deliveries:schedule", schedule_id=schedule.id)


# --- One schedule and its runs ---------------------------------------------------------------

def _runs_context(request: HttpRequest, schedule: Schedule) -> dict:
    page = Paginator(selectors.schedule_runs(schedule=schedule), RUNS_PAGE_SIZE).get_page(
        request.GET.get("page"))
    runs = [{"run": run, "status": selectors.run_status(run)} for run in page.object_list]
    next_run_at = selectors.next_run_at(schedule)
    # Polls while a run's export is under way or a run is due (a backfill, a catch-up).
    busy = any(row["status"] in RUNNING for row in runs) or (
        next_run_at is not None and next_run_at <= timezone.now())
    return {"schedule": schedule, "page": page, "runs": runs, "next_run_at": next_run_at,
            "polling": busy}


@require_GET
@login_required
def schedule_detail(request: HttpRequest, schedule_id) -> HttpResponse:
    workspace = page_workspace(request)
    schedule = _schedule(request, workspace, schedule_id)
    if request.htmx and not request.htmx.boosted:  # the runs' Newer / Older links
        return render(request, "deliveries/schedule_detail.html#schedule-runs",
                      _runs_context(request, schedule))
    context = shell_context(request, workspace)
    context.update(_runs_context(request, schedule))
    context.update(active_nav="schedules", cadence=describe_cadence(schedule),
                   redaction_summary=describe_redaction(schedule.redaction),
                   can_manage=can_manage_api_keys(request.user, workspace),
                   settle_seconds=settings.SCHEDULES_SETTLE_SECONDS)
    return render(request, "deliveries/schedule_detail.html", context)


@require_GET
@login_required
def schedule_runs(request: HttpRequest, schedule_id) -> HttpResponse:
    """The runs section a schedule's page polls; 286 (stop polling) once nothing is under way."""
    workspace = page_workspace(request)
    schedule = selectors.schedule_of(workspace=workspace, schedule_id=schedule_id)
    if schedule is None:
        if request.htmx:
            return HttpResponse(status=HTMX_STOP_POLLING)
        raise Http404("No such schedule.")
    if not request.htmx:
        return redirect("deliveries:schedule", schedule_id=schedule.id)
    context = _runs_context(request, schedule)
    return render(request, "deliveries/schedule_detail.html#schedule-runs", context,
                  status=200 if context["polling"] else HTMX_STOP_POLLING)


@require_POST
@login_required
def schedule_pause(request: HttpRequest, schedule_id) -> HttpResponse:
    """Pause (paused=1) or resume (paused=0)."""
    workspace = page_workspace(request)
    schedule = _schedule(request, workspace, schedule_id)
    _require_admin(request, workspace)
    paused = request.POST.get("paused") == "1"
    schedule_update(schedule=schedule, paused=paused)
    messages.success(request, f"Schedule “{schedule.name}” paused." if paused else
                     f"Schedule “{schedule.name}” resumed: windows missed meanwhile run now, "
                     "oldest first.")
    return redirect("deliveries:schedule", schedule_id=schedule.id)


@require_POST
@login_required
def schedule_remove(request: HttpRequest, schedule_id) -> HttpResponse:
    workspace = page_workspace(request)
    schedule = _schedule(request, workspace, schedule_id)
    _require_admin(request, workspace)
    name = schedule.name
    schedule_delete(schedule=schedule)
    messages.success(request, f"Schedule “{name}” deleted; the exports of its runs are kept "
                              "on the Exports page.")
    return redirect(reverse("deliveries:schedules"))
