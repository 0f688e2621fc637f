"""Every tenant-scoped read of exports, for the page and the API alike.

An export outside the caller's workspaces is simply not found (a 404, never a 403), so ids of
other tenants cannot be told apart from ids that do not exist.
"""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from accounts.api_keys import workspaces_of
from accounts.models import ApiKey, Workspace
from exports.access import ensure_exports_available
from exports.models import ExportJob, ExportPart
from logs.counting import export_slice_size
from logs.filters import matching_logs
from logs.hourly_counts import time_range


def workspace_exports(*, workspace: Workspace, search: str = "",
                      status: str = "") -> QuerySet[ExportJob]:
    """The workspace's exports, newest first; those whose description holds `search` and
    those in `status` when given."""
    exports = ExportJob.objects.filter(workspace=workspace)
    if search.strip():
        exports = exports.filter(description__icontains=search.strip())
    if status:
        exports = exports.filter(status=status)
    return exports.order_by("-created_at", "-id")


def open_workspace_exports(*, workspace: Workspace) -> QuerySet[ExportJob]:
    """As workspace_exports, for callers that may only read while exports are open (the API)."""
    ensure_exports_available(workspace.organization)
    return workspace_exports(workspace=workspace)


def open_export(job: ExportJob) -> ExportJob:
    """The export itself, for callers that may only read while exports are open (the API)."""
    ensure_exports_available(job.workspace.organization)
    return job


def user_export(*, user, export_id) -> ExportJob | None:
    """An export of one of the user's workspaces, or None."""
    return (
        ExportJob.objects.select_related("workspace__organization")
        .filter(id=export_id, workspace__memberships__user=user)
        .first()
    )


def linked_export(*, job_id: str, attempt: int) -> ExportJob | None:
    """The export a signed download link names, if that run is still its successful one."""
    return (
        ExportJob.objects.select_related("workspace")
        .filter(id=job_id, attempt=attempt, status=ExportJob.Status.SUCCESS)
        .first()
    )


def api_key_export(*, api_key: ApiKey, export_id: str,
                   workspace_reference: str | None = None) -> ExportJob | None:
    """The key's export of this id, or None; a named workspace (id or slug) must be its own."""
    try:
        wanted = uuid.UUID(export_id)
    except ValueError:
        return None
    job = (
        ExportJob.objects.select_related("workspace", "workspace__organization")
        .filter(id=wanted, workspace__in=workspaces_of(api_key))
        .first()
    )
    if job is None or (workspace_reference
                       and workspace_reference not in (str(job.workspace_id),
                                                       job.workspace.slug)):
        return None
    return job


def count_export_rows(*, workspace_id, filters: dict, limit: int, offset: int) -> int:
    # Counts no further than offset + limit: the cost grows with the export, not the workspace;
    # a time range (with or without providers, models, status codes) is counted by whole
    # hours, whatever the offset.
    return export_slice_size(matching_logs(workspace_id=workspace_id, filters=filters),
                             limit=limit, offset=offset,
                             hourly=time_range(workspace_id=workspace_id, filters=filters))


def attempt_outlived(*, job_id, attempt: int, now) -> bool:
    """True when a running attempt is no longer wanted alive: its lease has passed (its work
    horse stopped renewing it) or another attempt, a cancel or a failure replaced it. Never for
    an export that succeeded (its horse is only exiting)."""
    return (
        ExportJob.objects.filter(id=job_id)
        .exclude(status=ExportJob.Status.SUCCESS)
        .exclude(attempt=attempt, status=ExportJob.Status.IN_PROGRESS, lease_expires_at__gte=now)
        .exists()
    )


def export_parts(job: ExportJob) -> list[ExportPart]:
    """The parts of an export written in parts, in order; [] for one written by one job."""
    if job.part_count <= 1:
        return []
    return list(ExportPart.objects.filter(export=job).order_by("index"))


def export_manifest(job: ExportJob) -> dict | None:
    """The manifest of a successful export; None before it has succeeded."""
    if job.status != ExportJob.Status.SUCCESS or not job.manifest:
        return None
    return job.manifest


def part_attempt_outlived(*, job_id, attempt: int, index: int, part_attempt: int, now) -> bool:
    """attempt_outlived for one part of an export in parts: its lease has passed, or its
    export or the part was replaced, cancelled or failed meanwhile. Never once it succeeded."""
    return (
        ExportPart.objects.filter(export_id=job_id, index=index)
        .exclude(status=ExportPart.Status.SUCCESS)
        .exclude(attempt=part_attempt, status=ExportPart.Status.IN_PROGRESS,
                 lease_expires_at__gte=now, export__status=ExportJob.Status.IN_PROGRESS,
                 export__attempt=attempt)
        .exists()
    )
