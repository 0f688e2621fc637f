"""Pages of the Exports feature: parse, authorise, call a service, render (a partial for htmx)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.selectors import current_workspace, shell_context
from exports import selectors, services, storage
from exports.access import ExportsUnavailable, exports_unavailable_reason
from exports.audit import Action, Actor, recent_events, record_export_event
from exports.errors import InvalidTransition, QueueUnavailable
from exports.forms import ExportListFilterForm, ExportRequestForm
from exports.manifest import VerifyResult, verify
from exports.models import ExportJob
from exports.preview import export_preview
from exports.redaction.policy import workspace_policy
from exports.redaction.rules import describe_redaction
from exports.templatetags.export_tags import utc_exact
from logs.filters import normalise_filters
from logs.hourly_counts import facet_counts
from logs.replica import read_database

PAGE_SIZE = 20
HTMX_STOP_POLLING = 286  # htmx stops an `every` trigger on this status


def user_export(request: HttpRequest, export_id) -> ExportJob:
    """An export of one of the user's workspaces; any other is a 404, never a 403."""
    job = selectors.user_export(user=request.user, export_id=export_id)
    if job is None:
        raise Http404("No such export.")
    return job


def _list_context(request: HttpRequest, workspace, *, query=None) -> dict:
    context = shell_context(request, workspace)
    context["active_nav"] = "exports"
    if workspace is None:
        return context
    list_filter = ExportListFilterForm(query or {})
    values = list_filter.values
    every_export = selectors.workspace_exports(workspace=workspace)
    exports = selectors.workspace_exports(
        workspace=workspace, search=values.get("q", ""), status=values.get("status", "")
    ).select_related("created_by", "created_by_api_key", "workspace__organization")
    page = Paginator(exports, PAGE_SIZE).get_page((query or {}).get("page"))
    context.update(
        page=page,
        exports=page.object_list,
        list_filter=list_filter,
        list_query=list_filter.query_string(),
        max_logs=settings.EXPORTS_MAX_LOGS_PER_EXPORT,
        has_any_export=list_filter.is_filtering or bool(page.object_list)
        or every_export.exists(),
        unavailable_reason=exports_unavailable_reason(workspace.organization),
    )
    return context


@require_GET
@login_required
def export_index(request: HttpRequest) -> HttpResponse:
    workspace = current_workspace(request)
    context = _list_context(request, workspace, query=request.GET)
    if request.htmx and not request.htmx.boosted and workspace is not None:
        return render(request, "exports/index.html#export-list", context)
    return render(request, "exports/index.html", context)


# --- Request Data ----------------------------------------------------------------------------

def _request_context(request: HttpRequest, workspace, form: ExportRequestForm, *,
                     preview=None) -> dict:
    context = shell_context(request, workspace)
    preview = preview or _preview_for(workspace, form)
    form.facet_counts = _facet_counts(workspace, form)
    context.update(
        active_nav="exports",
        form=form,
        max_logs=settings.EXPORTS_MAX_LOGS_PER_EXPORT,
        unavailable_reason=exports_unavailable_reason(workspace.organization),
        preview=preview,
        field_problems=form.problems_by_field(preview),
    )
    return context


def _facet_counts(workspace, form: ExportRequestForm) -> dict:
    """The choice lists' counts over the form's time range (all time while it is invalid)."""
    try:
        raw = form.raw_filters(now=timezone.now()) if form.is_valid() else {}
        window = normalise_filters({"created_at": raw.get("created_at")})
    except ValidationError:
        window = {}
    return facet_counts(workspace_id=workspace.id, filters=window, using=read_database())


def _preview_for(workspace, form: ExportRequestForm):
    if exports_unavailable_reason(workspace.organization) or not form.is_valid():
        return None
    arguments = form.service_arguments(now=timezone.now())
    arguments.pop("description")
    # The rules shape the sample rows only: a refused rule is named when the export is
    # requested, and meanwhile the preview shows no rows rather than unredacted ones.
    preview = export_preview(workspace=workspace, **arguments)
    form.label_preview_problems(preview)
    return preview


def _request_form_from_query(request: HttpRequest, workspace) -> ExportRequestForm:
    """The query string (Logs' "Export these logs") over the defaults, bound so it previews."""
    data = request.GET.copy()
    policy = workspace_policy(workspace.id)
    defaults = ExportRequestForm(policy=policy)
    data.setdefault("time_range", defaults.fields["time_range"].initial)
    if "requested_data" not in data:
        data.setlist("requested_data", list(defaults.fields["requested_data"].initial))
    for name in ("limit", "offset", "file_format"):
        if name not in data:
            data[name] = defaults.fields[name].initial
    if not any(name.startswith("redact_") for name in data):  # the workspace's default rules
        data.setlist("redact_detectors", defaults.fields["redact_detectors"].initial)
        for name in ("redact_patterns", "redact_drop_keys"):
            data[name] = defaults.fields[name].initial
    return ExportRequestForm(data, policy=policy)


def _require_workspace(request: HttpRequest):
    workspace = current_workspace(request)
    if workspace is None:
        raise Http404("You are not a member of any workspace.")
    return workspace


def _render_request(request: HttpRequest, workspace, form: ExportRequestForm, *,
                    htmx_partial: str, status: int = 200, preview=None) -> HttpResponse:
    """The Request Data page, or for htmx only the named partial of it."""
    context = _request_context(request, workspace, form, preview=preview)
    # The panel inside the Exports page has its own h2; the page of its own has the h1 only.
    context["in_panel"] = bool(request.htmx)
    # The preview alone also refreshes each field's message slot, out of band.
    context["oob_slots"] = bool(request.htmx) and htmx_partial == "preview-body"
    template = f"exports/request.html#{htmx_partial}" if request.htmx else "exports/request.html"
    return render(request, template, context, status=status)


@require_GET
@login_required
def export_new(request: HttpRequest) -> HttpResponse:
    workspace = _require_workspace(request)
    return _render_request(request, workspace, _request_form_from_query(request, workspace),
                           htmx_partial="request-form")


@require_http_methods(["GET", "POST"])
@login_required
def export_preview_panel(request: HttpRequest) -> HttpResponse:
    """The preview alone for htmx; without JavaScript, the whole form showing that preview.

    The form posts here (read-only), so the CSRF token never ends up in a URL or a server log.
    """
    data = request.POST.copy() if request.method == "POST" else request.GET.copy()
    data.pop("csrfmiddlewaretoken", None)
    workspace = _require_workspace(request)
    return _render_request(request, workspace,
                           ExportRequestForm(data, policy=workspace_policy(workspace.id)),
                           htmx_partial="preview-body")


@require_POST
@login_required
def export_create(request: HttpRequest, *, create=services.export_job_create) -> HttpResponse:
    """`create` makes the draft: another app may pass its own (deliveries' "Deliver to" passes
    one that also records where the file is copied), so this app need not know of it."""
    workspace = _require_workspace(request)
    form = ExportRequestForm(request.POST, policy=workspace_policy(workspace.id))
    status = 422
    preview = None
    if form.is_valid():
        preview = _preview_for(workspace, form)
        if preview is not None and not preview.problems and not preview.rows:
            # A draft of 0 logs would "succeed" with an empty file: refuse it, saying why.
            form.add_error(*form.empty_export_error(preview))
            return _render_request(request, workspace, form, htmx_partial="request-form",
                                   status=422, preview=preview)
        try:
            job = create(
                workspace=workspace, created_by=request.user, actor=Actor.for_page(request),
                refuse_empty=True,
                **form.service_arguments(now=timezone.now()),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        except ExportsUnavailable as error:
            form.add_error(None, error.message)
            status = 403
        else:
            if request.POST.get("start"):
                return _start_created(request, workspace, job)
            return _created_response(request, workspace, job, note=CREATED_NOTE)
    return _render_request(request, workspace, form, htmx_partial="request-form",
                           status=status, preview=preview)


CREATED_NOTE = "Export requested. Press Start when you are ready."
STARTED_NOTE = "Export requested and started."


def _start_created(request: HttpRequest, workspace, job: ExportJob) -> HttpResponse:
    """Request Export and Start: the draft is kept whatever happens; a refused start says why
    beside its Start button."""
    try:
        job = services.export_job_start(job=job, actor=Actor.for_page(request))
    except (InvalidTransition, ExportsUnavailable, QueueUnavailable) as refusal:
        return _created_response(request, workspace, job,
                                 error=f"Saved as a draft but not started: {refusal.message}")
    return _created_response(request, workspace, job, note=STARTED_NOTE)


def _created_response(request: HttpRequest, workspace, job: ExportJob, *, note: str = "",
                      error: str = "") -> HttpResponse:
    if request.htmx:
        context = _list_context(request, workspace)
        # The note lives in the new row, so it goes as soon as the row changes (Start).
        context.update(highlight_id=job.id, created_note=note, oob=True,
                       row_error=error, row_error_for=job.id)
        response = render(request, "exports/index.html#export-created", context)
        response["HX-Push-Url"] = reverse("exports:index")
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, note)
    return redirect(f"{reverse('exports:index')}#export-{job.id}")


# --- One export: its row, the actions, the download ------------------------------------------

def _back_to(request: HttpRequest, job: ExportJob) -> str:
    """Where a plain (no-htmx) action returns: the page it came from if ours, else the list."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return wanted
    return f"{reverse('exports:index')}#export-{job.id}"


def _row_response(request: HttpRequest, job: ExportJob, *, note: str = "", error: str = "",
                  announce: str = "", status: int = 200) -> HttpResponse:
    if request.htmx:
        context = {"job": job, "row_note": note, "row_error": error, "announce": announce}
        return render(request, "exports/index.html#export-row", context, status=status)
    if error:
        messages.error(request, error)
    elif note:
        messages.success(request, note)
    return redirect(_back_to(request, job))


def _spoken_name(job: ExportJob) -> str:
    return job.description or f"Export from {utc_exact(job.created_at)}"


def _announcement(job: ExportJob) -> str:
    return f"{_spoken_name(job)}: {job.get_status_display()}"


@require_GET
@login_required
def export_detail(request: HttpRequest, export_id) -> HttpResponse:
    """Everything about one export: what it holds, how its runs went, and its actions."""
    job = selectors.user_export(user=request.user, export_id=export_id)
    if job is None and request.htmx:
        # The page was polling an export deleted meanwhile: to the list, saying why.
        messages.info(request, "That export no longer exists.")
        return HttpResponseClientRedirect(reverse("exports:index"))
    if job is None:
        raise Http404("No such export.")
    context = shell_context(request, job.workspace)
    context.update(active_nav="exports", job=job, events=recent_events(job),
                   redaction_summary=describe_redaction(job.redaction),
                   parts=selectors.export_parts(job), manifest=selectors.export_manifest(job),
                   unavailable_reason=exports_unavailable_reason(job.workspace.organization))
    return render(request, "exports/detail.html", context)


@require_POST
@login_required
def export_delete(request: HttpRequest, export_id) -> HttpResponse:
    job = user_export(request, export_id)
    note = f"{_spoken_name(job)}: deleted."
    services.export_job_delete(job=job, actor=Actor.for_page(request))
    if request.htmx:
        # The row goes; the live region says so, since focus was on a button that is gone.
        return HttpResponse(f'<span hx-swap-oob="innerHTML:#live-status">{escape(note)}</span>')
    messages.success(request, note)
    return redirect("exports:index")


@require_GET
@login_required
def export_row(request: HttpRequest, export_id) -> HttpResponse:
    """The row an in-progress export polls; 286 once it has finished, which ends the polling,
    and an empty 286 once it is gone (deleted meanwhile), which also removes the row."""
    job = selectors.user_export(user=request.user, export_id=export_id)
    if job is None and request.htmx:
        return HttpResponse(status=HTMX_STOP_POLLING)
    if job is None:
        raise Http404("No such export.")
    if not request.htmx:
        return redirect(f"{reverse('exports:index')}#export-{job.id}")
    running = job.status == ExportJob.Status.IN_PROGRESS
    return _row_response(
        request, job,
        announce="" if running else _announcement(job),
        status=200 if running else HTMX_STOP_POLLING,
    )


@require_POST
@login_required
def export_start(request: HttpRequest, export_id) -> HttpResponse:
    job = user_export(request, export_id)
    try:
        services.export_job_start(job=job, actor=Actor.for_page(request))
    except (InvalidTransition, ExportsUnavailable) as refusal:
        return _row_response(request, job, error=refusal.message, status=409)
    except QueueUnavailable as refusal:
        # The row keeps its Start button and says why next to it; without JavaScript the whole
        # list comes back with the reason in that row (a redirect would put it elsewhere).
        if request.htmx:
            return _row_response(request, job, error=refusal.message, status=503)
        if request.POST.get("next"):  # from the export's detail page: back there, saying why
            return _row_response(request, job, error=refusal.message)
        context = _list_context(request, job.workspace)
        context.update(row_error=refusal.message, row_error_for=job.id)
        response = render(request, "exports/index.html", context, status=503)
        response["Retry-After"] = str(refusal.retry_after)
        return response
    return _row_response(request, job, note="Export started.", announce=_announcement(job))


@require_POST
@login_required
def export_cancel(request: HttpRequest, export_id) -> HttpResponse:
    job = user_export(request, export_id)
    try:
        services.export_job_cancel(job=job, actor=Actor.for_page(request))
    except InvalidTransition as refusal:
        return _row_response(request, job, error=refusal.message, status=409)
    return _row_response(request, job, note="Export cancelled.", announce=_announcement(job))


@require_GET
@login_required
def export_download(request: HttpRequest, export_id) -> HttpResponse:
    """A fresh signed URL on every click, so a link never goes stale on the page."""
    job = user_export(request, export_id)
    try:
        url = services.export_job_download_url(job=job, actor=Actor.for_page(request))
    except (InvalidTransition, ExportsUnavailable) as refusal:
        messages.error(request, refusal.message)
        return redirect(_back_to(request, job))
    return redirect(request.build_absolute_uri(url))


def _link_gone(request: HttpRequest, reason: str, *, job_id: str = "",
               status: int = 410) -> HttpResponse:
    """What a download link that leads to no file says instead, in plain words: the reason
    (link_expired, link_invalid, file_gone) picks the words in the template."""
    context = {
        "reason": reason, "job_id": job_id,
        "link_minutes": max(1, settings.EXPORTS_DOWNLOAD_URL_TTL // 60),
        "retention_days": settings.EXPORTS_FILE_RETENTION_DAYS,
    }
    response = render(request, "exports/link_gone.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def export_file(request: HttpRequest, token: str) -> HttpResponseBase:
    """The file of a fresh signed token's export, to whoever holds it (as S3 presigns); the
    fetch goes into the audit trail under the user or key the link was issued to."""
    try:
        signed = storage.unsign_download(token)
    except storage.DownloadLinkExpired as expired:
        return _link_gone(request, "link_expired", job_id=expired.job_id)
    if signed is None:
        return _link_gone(request, "link_invalid", status=404)
    job_id, attempt, issued_to = signed
    job = selectors.linked_export(job_id=job_id, attempt=attempt)
    if job is None or job.file_expired:
        return _link_gone(request, "file_gone", job_id=job_id)
    # A file removed by hand (or by the purge meanwhile) is gone too, not a server error.
    if storage.serves_files_itself():
        try:
            opened = storage.export_storage().open(job.file_name, "rb")
        except FileNotFoundError:
            return _link_gone(request, "file_gone", job_id=job_id)
        response: HttpResponseBase = FileResponse(
            opened, as_attachment=True, filename=job.download_name(),
            content_type=storage.CONTENT_TYPES[job.format])
    elif storage.export_storage().exists(job.file_name):
        # S3: recorded here, then fetched from S3 itself through its own short-lived link.
        response = redirect(storage.presigned_url(
            name=job.file_name, download_name=job.download_name(), file_format=job.format))
    else:
        return _link_gone(request, "file_gone", job_id=job_id)
    record_export_event(job=job, action=Action.DOWNLOADED,
                        actor=Actor.for_signed_link(request, issued_to))
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@login_required
def export_activity(request: HttpRequest, export_id) -> HttpResponse:
    """The export's audit trail: who created, started, cancelled and downloaded it."""
    job = user_export(request, export_id)
    context = shell_context(request, job.workspace)
    context.update(active_nav="exports", job=job, events=recent_events(job))
    return render(request, "exports/activity.html", context)


@require_GET
@login_required
def export_manifest(request: HttpRequest, export_id) -> HttpResponse:
    """The manifest as a JSON file, beside the export's file."""
    job = user_export(request, export_id)
    manifest = selectors.export_manifest(job)
    if manifest is None:
        raise Http404("This export has no manifest yet: it is written once the export succeeds.")
    response = JsonResponse(manifest, json_dumps_params={"indent": 2})
    name = job.download_name().removesuffix(f".{job.file_extension}")
    response["Content-Disposition"] = f'attachment; filename="{name}.manifest.json"'
    return response


@require_POST
@login_required
def export_verify(request: HttpRequest, export_id) -> HttpResponse:
    """Re-reads the stored file and checks it against the manifest; says so in plain words."""
    job = user_export(request, export_id)
    if selectors.export_manifest(job) is None:
        result = VerifyResult(False, "This export has no manifest yet: it is written once the "
                                     "export succeeds.")
    else:
        result = verify(job)
    if request.htmx:
        return render(request, "exports/detail.html#verify-result",
                      {"verify": result, "verify_text": verify_sentence(result)})
    (messages.success if result.ok else messages.error)(request, verify_sentence(result))
    return redirect(_back_to(request, job))


def verify_sentence(result: VerifyResult) -> str:
    if result.ok:
        return f"The file matches its manifest: {result.message}."
    return f"The file does not match its manifest: {result.message}."
