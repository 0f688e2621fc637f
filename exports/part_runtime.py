"""The worker's side of an export in parts (exports.parts): one part per RQ job, then the join.

Each part's attempt has a lease of its own, renewed by its work horse (PartLeaseKeeper), and a
checkpoint that saves its rows and the export's progress (the sum over its parts) and stops
the part once it or its export is no longer wanted. The worker that finishes the last part
wins the export's join claim (services.export_job_claim_join: exactly one does) and joins the
parts into the one file, with its manifest. Every change of state goes through
exports.services.
"""

from __future__ import annotations

import logging
import time

from exports import storage
from exports.joining import StoredPart, join_parts, open_file_sink, part_name
from exports.manifest import PartFacts, build_manifest, created_at_span
from exports.models import ExportJob, ExportPart
from exports.parts import part_bounds, part_queryset
from exports.runtime import (
    LeaseKeeper,
    ProgressCheckpoint,
    abort_sink,
    describe_failure,
    file_name_for,
)
from exports.services import (
    export_job_claim_join,
    export_job_fail,
    export_job_succeed,
    export_job_sum_progress,
    export_part_succeed,
    lease_until,
)
from exports.writer import ExportStopped, write_part
from ops.database import connection_lost

logger = logging.getLogger(__name__)
Status = ExportJob.Status


def _this_attempt(part: ExportPart, attempt: int):
    return ExportPart.objects.filter(
        id=part.id, status=ExportPart.Status.IN_PROGRESS, attempt=part.attempt,
        export__status=Status.IN_PROGRESS, export__attempt=attempt)


class PartLeaseKeeper(LeaseKeeper):
    """LeaseKeeper for one part's attempt: the part's lease, not the export's."""

    def __init__(self, *, part: ExportPart, attempt: int):
        super().__init__(job_id=part.export_id, attempt=attempt)
        self.part = part

    def renew(self) -> None:
        if not _this_attempt(self.part, self.attempt).update(lease_expires_at=lease_until()):
            self.lost = True


class PartCheckpoint(ProgressCheckpoint):
    """ProgressCheckpoint for one part: its own rows, then the export's sum over its parts."""

    def __init__(self, *, part: ExportPart, attempt: int):
        super().__init__(job_id=part.export_id, attempt=attempt)
        self.part = part

    def save(self, rows: int) -> None:
        self.last_saved = time.monotonic()
        if not _this_attempt(self.part, self.attempt).update(rows_written=rows):
            raise ExportStopped()
        export_job_sum_progress(job_id=self.job_id, attempt=self.attempt)


def export_part_run(*, job_id, attempt: int, index: int, part_attempt: int) -> str:
    """Writes one part's object; the worker that writes the last one joins the file."""
    part = ExportPart.objects.select_related("export__workspace").filter(
        export_id=job_id, index=index).first()
    if part is None:
        logger.info("export %s was deleted before its part %s was taken up", job_id, index)
        return "deleted"
    job = part.export
    if (job.status, job.attempt, part.status, part.attempt) != (
            Status.IN_PROGRESS, attempt, ExportPart.Status.IN_PROGRESS, part_attempt):
        logger.info("export %s part %s attempt %s no longer wanted", job_id, index, part_attempt)
        return job.status
    # A connection lost on the way is not caught: the part's lease passes and the reconciler
    # runs the part again (RQ's failure callback leaves it alone).
    with PartLeaseKeeper(part=part, attempt=attempt) as lease:
        if lease.lost:
            return Status.STOPPED
        checkpoint = PartCheckpoint(part=part, attempt=attempt)
        checkpoint.lease = lease
        outcome = _write_part(job=job, part=part, attempt=attempt, checkpoint=checkpoint)
    if outcome == Status.SUCCESS and export_job_claim_join(job_id=job.id, attempt=attempt):
        return join_export(job_id=job.id, attempt=attempt)
    return outcome


def _write_part(*, job: ExportJob, part: ExportPart, attempt: int,
                checkpoint: PartCheckpoint) -> str:
    name = part_name(file_name_for(job), part.index, attempt=part.attempt)
    after, through = part_bounds(part)
    rows = part_queryset(workspace_id=job.workspace_id, filters=job.filters, after=after,
                         through=through)
    try:
        sink = open_file_sink(name, file_format=job.format)
    except Exception as error:
        export_job_fail(job_id=job.id, attempt=attempt, reason=describe_failure(error))
        raise
    try:
        result = write_part(queryset=rows, field_names=job.requested_data,
                            file_format=job.format, sink=sink, checkpoint=checkpoint,
                            first_part=part.index == 0, redaction=job.redaction)
        checkpoint.save(result.rows)  # a last look before the object is kept
        sink.commit()
    except ExportStopped:
        abort_sink(sink)
        logger.info("export %s part %s attempt %s stopped", job.id, part.index, part.attempt)
        return Status.STOPPED
    except Exception as error:
        abort_sink(sink)
        if not connection_lost(error):
            export_job_fail(job_id=job.id, attempt=attempt, reason=describe_failure(error))
        raise
    first, last = created_at_span(rows)
    if not export_part_succeed(job_id=job.id, attempt=attempt, index=part.index,
                               part_attempt=part.attempt, file_name=name, rows=result.rows,
                               skipped=result.skipped, redaction_counts=result.redaction_counts,
                               file_size=sink.bytes_written, sha256=sink.sha256,
                               first_created_at=first, last_created_at=last):
        storage.delete_file(name)  # replaced or cancelled meanwhile: not the part's object
        return Status.STOPPED
    export_job_sum_progress(job_id=job.id, attempt=attempt)
    return Status.SUCCESS


def join_export(*, job_id, attempt: int) -> str:
    """Joins the parts of an export whose join this worker claimed, builds the manifest and
    marks the export Success; a join that fails fails the export in plain words."""
    job = ExportJob.objects.select_related("workspace").filter(
        id=job_id, status=Status.IN_PROGRESS, attempt=attempt).first()
    if job is None:
        return "not wanted"
    parts = list(ExportPart.objects.filter(export=job).order_by("index"))
    name = file_name_for(job)
    with LeaseKeeper(job_id=job.id, attempt=attempt):
        try:
            joined = join_parts(file_name=name, file_format=job.format, parts=[
                StoredPart(part.file_name, part.file_size or 0) for part in parts])
            manifest = build_manifest(export=job, parts=[PartFacts.of(p) for p in parts],
                                      joined=joined)
        except Exception as error:
            if connection_lost(error):
                raise  # the lease passes and the reconciler hands the join on
            logger.exception("export %s: the join failed", job.id)
            export_job_fail(job_id=job.id, attempt=attempt, reason=(
                f"All {len(parts)} parts of this export were written, but joining them into "
                f"one file failed ({error or type(error).__name__}). Start the export again."))
            return Status.FAILED
    if not export_job_succeed(job_id=job.id, attempt=attempt, file_name=name,
                              rows=manifest["rows"], skipped=manifest["rows_skipped"],
                              file_size=joined.bytes, sha256=joined.sha256,
                              manifest=manifest,
                              redaction_counts=manifest["redaction_counts"]):
        storage.delete_file(name)  # cancelled meanwhile
        return Status.STOPPED
    return Status.SUCCESS
