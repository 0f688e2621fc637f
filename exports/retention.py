"""Export files are kept for EXPORTS_FILE_RETENTION_DAYS; afterwards they are deleted."""

from __future__ import annotations

import logging

from django.utils import timezone

from exports import storage
from exports.models import ExportJob

logger = logging.getLogger(__name__)


def purge_expired_export_files() -> int:
    """Delete the files of successful exports past their expiry; returns how many were deleted.

    The job stays in the list (its download is refused as expired); only the file goes.
    """
    expired = ExportJob.objects.filter(
        status=ExportJob.Status.SUCCESS, expires_at__lte=timezone.now()
    ).exclude(file_name="")
    purged = 0
    for job in expired.only("id", "file_name"):
        storage.delete_file(job.file_name)
        # Conditional, so a concurrent change of the job is not overwritten.
        purged += ExportJob.objects.filter(id=job.id, file_name=job.file_name).update(
            file_name="", last_updated_at=timezone.now()
        )
        logger.info("deleted the expired file of export %s", job.id)
    return purged
