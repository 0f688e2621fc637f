"""Pages of the Exports feature."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from exports import storage
from exports.models import ExportJob


@require_GET
@login_required
def export_index(request: HttpRequest) -> HttpResponse:
    return render(request, "exports/index.html", {})


@require_GET
def export_file(request: HttpRequest, token: str) -> FileResponse:
    """Serves a filesystem export to the holder of a fresh signed token (as S3 presigns)."""
    signed = storage.unsign_download(token)
    if signed is None:
        raise Http404("This download link is invalid or has expired; ask for a new one.")
    job_id, attempt = signed
    job = (
        ExportJob.objects.select_related("workspace")
        .filter(id=job_id, attempt=attempt, status=ExportJob.Status.SUCCESS)
        .first()
    )
    if job is None or not job.file_name:
        raise Http404("This export has no file to download.")
    response = FileResponse(
        storage.export_storage().open(job.file_name, "rb"),
        as_attachment=True,
        filename=job.download_name(),
        content_type=storage.CONTENT_TYPES[job.format],
    )
    response["Cache-Control"] = "private, no-store"
    return response
