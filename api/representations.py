"""How exports look on the wire: the ExportItem of the public spec plus our extras."""

from __future__ import annotations

from datetime import datetime

from exports.models import ExportJob
from logs.filters import format_timestamp


def timestamp(value: datetime | None) -> str | None:
    return format_timestamp(value) if value else None


def created_by(job: ExportJob) -> str | None:
    if job.created_by_api_key_id:
        return str(job.created_by_api_key_id)
    if job.created_by_id:
        return str(job.created_by_id)
    return None


def export_item(job: ExportJob) -> dict:
    return {
        "id": str(job.id),
        "organisation_id": str(job.workspace.organization_id),
        "workspace_id": str(job.workspace_id),
        "filters": job.filters,
        "requested_data": job.requested_data,
        "status": job.status,
        "description": job.description,
        "created_at": timestamp(job.created_at),
        "last_updated_at": timestamp(job.last_updated_at),
        "created_by": created_by(job),
        "object": "export",
        # Extras beyond the public spec.
        "limit": job.limit,
        "offset": job.offset,
        "format": job.format,
        "total_records": job.total_records,
        "rows_written": job.rows_written,
        "progress": round(job.progress, 4),
        "file_size": job.file_size,
        "sha256": job.sha256 or None,
        "error": job.error or None,
        "started_at": timestamp(job.started_at),
        "finished_at": timestamp(job.finished_at),
        "expires_at": timestamp(job.expires_at),
    }


def export_summary(job: ExportJob) -> dict:
    """What create and update answer: the id and how many logs the export will hold."""
    return {"id": str(job.id), "total": job.total_records, "object": "export"}
