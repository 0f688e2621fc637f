"""Export services: validation, every transition and every refused one."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import timezone

from exports import runtime, services
from exports.access import ExportsUnavailable
from exports.audit import Actor
from exports.errors import ExportNotReady, InvalidTransition
from exports.models import ExportJob

Status = ExportJob.Status


def create(workspace, **overrides):
    arguments = {
        "workspace": workspace,
        "filters": {},
        "requested_data": ["id", "created_at", "ai_model"],
    }
    arguments.update(overrides)
    return services.export_job_create(**arguments)


def set_status(job, status):
    # Tests put jobs into a state directly; the app only ever moves them through services.
    ExportJob.objects.filter(id=job.id).update(status=status)
    job.refresh_from_db()
    return job


class TestCreate:
    def test_a_draft_counts_its_rows_and_normalises_input(self, seeded):
        now = timezone.now()
        job = create(
            seeded,
            filters={"created_at": {"gte": (now - timedelta(days=3)).isoformat(),
                                    "lte": now.isoformat()}},
            requested_data=["ai_model", "id", "res_units", "ai_model"],
            limit=50,
            offset=5,
            description="  weekly report ",
        )
        assert job.status == Status.DRAFT
        assert job.requested_data == ["id", "ai_model", "response_tokens"]  # catalogue order
        assert job.description == "weekly report"
        assert job.filters["created_at"]["gte"].endswith("Z")
        in_range = seeded.logs.filter(created_at__gte=now - timedelta(days=3),
                                      created_at__lte=now).count()
        assert in_range > 55
        assert job.total_records == 50

    def test_total_is_what_is_left_after_the_offset(self, seeded):
        job = create(seeded, limit=1000, offset=280)
        assert job.total_records == 20

    def test_limit_defaults_to_the_cap(self, seeded, settings):
        settings.EXPORTS_MAX_LOGS_PER_EXPORT = 123
        job = create(seeded)
        assert job.limit == 123
        assert job.total_records == 123

    @pytest.mark.parametrize(
        ("overrides", "field", "reason"),
        [
            ({"requested_data": ["id", "nope"]}, "requested_data", "'nope' is not an exportable"),
            ({"requested_data": []}, "requested_data", "at least one field"),
            ({"requested_data": "id"}, "requested_data", "must be a list"),
            ({"limit": 0}, "limit", "at least 1"),
            ({"limit": 10_000_001}, "limit", "at most 10,000,000"),
            ({"limit": "ten"}, "limit", "not a whole number"),
            ({"offset": -1}, "offset", "0 or more"),
            ({"offset": 2**31}, "offset", "at most 2,147,483,647"),
            ({"filters": {"created_at": {"gte": "2024-02-01T00:00:00Z",
                                         "lte": "2024-01-01T00:00:00Z"}}},
             "filters.created_at.gte", "must not be after lte"),
            ({"filters": {"created_at": {"gte": "yesterday"}}},
             "filters.created_at.gte", "not an ISO-8601"),
            ({"filters": {"created_at": {"lte": "2024-01-01T00:00:00"}}},
             "filters.created_at.lte", "no timezone"),
            ({"filters": {"created_at": {"gt": "2024-01-01T00:00:00Z"}}},
             "filters.created_at.gt", "not supported"),
            ({"filters": {"colour": "red"}}, "filters.colour", "not a known filter"),
            ({"filters": []}, "filters", "must be an object"),
            ({"file_format": "xlsx"}, "format", "not a supported format"),
            ({"description": "x" * 501}, "description", "at most 500"),
        ],
    )
    def test_bad_input_names_the_field_and_creates_nothing(self, seeded, overrides, field,
                                                           reason):
        with pytest.raises(ValidationError) as caught:
            create(seeded, **overrides)
        messages = caught.value.message_dict
        assert list(messages) == [field]
        assert reason in messages[field][0]
        assert ExportJob.objects.count() == 0

    def test_wire_aliases_and_extra_fields_are_accepted(self, seeded):
        job = create(seeded, requested_data=["ai_org", "req_units", "total_units",
                                             "response_status_code", "is_success", "mode"])
        assert job.requested_data == ["ai_provider", "request_tokens", "total_tokens",
                                      "status_code", "is_success", "mode"]


class TestTransitions:
    def test_start_moves_a_draft_in_progress_and_enqueues_once_after_commit(
        self, seeded, export_queue, django_capture_on_commit_callbacks
    ):
        job = create(seeded)
        with django_capture_on_commit_callbacks(execute=True):
            services.export_job_start(job=job)
            assert export_queue.count == 0  # nothing reaches Redis before the commit
        job.refresh_from_db()
        assert job.status == Status.IN_PROGRESS
        assert job.attempt == 1
        assert job.started_at is not None
        assert export_queue.job_ids == [f"export-{job.id}-1"]
        assert export_queue.fetch_job(f"export-{job.id}-1").args == (str(job.id), 1)

    @pytest.mark.parametrize("status", [Status.FAILED, Status.STOPPED])
    def test_start_again_after_failure_or_stop(self, seeded, export_queue, status,
                                               django_capture_on_commit_callbacks):
        job = set_status(create(seeded), status)
        ExportJob.objects.filter(id=job.id).update(error="disk full", attempt=2)
        with django_capture_on_commit_callbacks(execute=True):
            services.export_job_start(job=job)
        assert job.status == Status.IN_PROGRESS
        assert job.attempt == 3
        assert job.error == ""
        assert export_queue.job_ids == [f"export-{job.id}-3"]

    @pytest.mark.parametrize("status", [Status.IN_PROGRESS, Status.SUCCESS])
    def test_start_is_refused_while_running_or_after_success(self, seeded, export_queue, status,
                                                             django_capture_on_commit_callbacks):
        job = set_status(create(seeded), status)
        with django_capture_on_commit_callbacks(execute=True), \
                pytest.raises(InvalidTransition) as caught:
            services.export_job_start(job=job)
        assert "only a draft, failed or stopped export can be started" in caught.value.message
        assert caught.value.status == status
        assert export_queue.count == 0
        job.refresh_from_db()
        assert job.status == status

    def test_cancel_stops_a_running_export(self, seeded):
        job = set_status(create(seeded), Status.IN_PROGRESS)
        services.export_job_cancel(job=job)
        assert job.status == Status.STOPPED
        assert job.finished_at is not None

    @pytest.mark.parametrize("status", [Status.DRAFT, Status.SUCCESS, Status.FAILED,
                                        Status.STOPPED])
    def test_cancel_is_refused_unless_running(self, seeded, status):
        job = set_status(create(seeded), status)
        with pytest.raises(InvalidTransition) as caught:
            services.export_job_cancel(job=job)
        assert "only an export in progress can be cancelled" in caught.value.message
        job.refresh_from_db()
        assert job.status == status

    def test_update_changes_a_draft_and_recounts(self, seeded):
        job = create(seeded, limit=10)
        services.export_job_update(job=job, limit=20, requested_data=["cost", "id"])
        assert job.limit == 20
        assert job.total_records == 20
        assert job.requested_data == ["id", "cost"]

    def test_update_is_refused_once_started(self, seeded):
        job = set_status(create(seeded, limit=10), Status.IN_PROGRESS)
        with pytest.raises(InvalidTransition):
            services.export_job_update(job=job, limit=20)
        job.refresh_from_db()
        assert job.limit == 10

    def test_update_with_bad_input_changes_nothing(self, seeded):
        job = create(seeded, limit=10)
        with pytest.raises(ValidationError):
            services.export_job_update(job=job, limit=20, offset=-5)
        job.refresh_from_db()
        assert (job.limit, job.offset) == (10, 0)

    def test_a_failure_keeps_its_reason_only_for_the_current_run(self, seeded):
        job = set_status(create(seeded), Status.IN_PROGRESS)
        ExportJob.objects.filter(id=job.id).update(attempt=2)
        assert not services.export_job_fail(job_id=job.id, attempt=1, reason="stale worker")
        assert services.export_job_fail(job_id=job.id, attempt=2, reason="disk full")
        job.refresh_from_db()
        assert (job.status, job.error) == (Status.FAILED, "disk full")

    def test_download_is_refused_before_success(self, seeded):
        job = create(seeded)
        with pytest.raises(ExportNotReady):
            services.export_job_download_url(job=job)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_starts_enqueue_exactly_one_job(workspace, export_queue):
    job = create(workspace)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def start():
        try:
            barrier.wait()
            services.export_job_start(job=ExportJob.objects.get(id=job.id))
            outcomes.append("started")
        except InvalidTransition:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "started"]
    assert export_queue.count == 1
    job.refresh_from_db()
    assert (job.status, job.attempt) == (Status.IN_PROGRESS, 1)


class TestGates:
    def test_an_organization_off_the_enterprise_plan_cannot_create_or_start(self, seeded):
        job = create(seeded)
        seeded.organization.plan = "pro"
        seeded.organization.save()
        job.workspace.refresh_from_db()
        with pytest.raises(ExportsUnavailable, match="only available on the enterprise plan"):
            create(seeded)
        with pytest.raises(ExportsUnavailable, match="only available on the enterprise plan"):
            services.export_job_start(job=ExportJob.objects.get(id=job.id))
        assert ExportJob.objects.get().status == Status.DRAFT

    def test_without_the_data_service_nothing_can_be_created(self, seeded, settings):
        settings.DATA_SERVICE_ENABLED = False
        with pytest.raises(ExportsUnavailable, match="Data Service must be enabled"):
            create(seeded)
        assert not ExportJob.objects.exists()


def test_start_recounts_the_logs_for_the_progress_total(seeded, export_queue,
                                                        django_capture_on_commit_callbacks):
    from logs.seeding import seed_logs

    job = create(seeded)
    assert job.total_records == 300
    seed_logs(workspace_id=seeded.id, count=20, now=timezone.now(), days=1, seed=9)
    with django_capture_on_commit_callbacks(execute=True):
        services.export_job_start(job=job)
    assert job.total_records == 320


def test_a_job_deleted_before_the_worker_runs_it_is_skipped(seeded):
    job = create(seeded)
    job_id = job.id
    job.delete()
    assert runtime.export_job_run(job_id=job_id, attempt=1) == "deleted"


def test_deleting_an_export_deletes_its_file(
    seeded, export_storage_dir, django_capture_on_commit_callbacks
):
    from exports import storage

    job = services.export_job_create(
        workspace=seeded, filters={}, requested_data=["id"], limit=5
    )
    ExportJob.objects.filter(id=job.id).update(
        status=ExportJob.Status.SUCCESS, file_name=f"{seeded.id}/{job.id}-1.jsonl"
    )
    job.refresh_from_db()
    storage.export_storage().save(job.file_name, ContentFile(b"{}\n"))
    assert (export_storage_dir / job.file_name).exists()

    with django_capture_on_commit_callbacks(execute=True):
        services.export_job_delete(job=job)

    assert not ExportJob.objects.filter(id=job.id).exists()
    assert not (export_storage_dir / job.file_name).exists()


def test_delete_removes_the_file_of_a_run_that_finished_after_the_job_was_read(
    seeded, export_storage_dir, django_capture_on_commit_callbacks
):
    """The page read the export while it ran (no file yet); the run finished before the delete."""
    from exports import storage

    job = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    stale = ExportJob.objects.get(id=job.id)
    name = f"{seeded.id}/{job.id}-1.jsonl"
    storage.export_storage().save(name, ContentFile(b"{}\n"))
    ExportJob.objects.filter(id=job.id).update(status=ExportJob.Status.SUCCESS, file_name=name)

    with django_capture_on_commit_callbacks(execute=True):
        services.export_job_delete(job=stale)

    assert not ExportJob.objects.filter(id=job.id).exists()
    assert not (export_storage_dir / name).exists()


def test_delete_of_an_export_in_progress_cancels_it_first(
    seeded, export_queue, django_capture_on_commit_callbacks
):
    from exports.models import ExportEvent

    job = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    with django_capture_on_commit_callbacks(execute=True):
        services.export_job_start(job=job)
    actor = Actor(channel="api", ip_address="192.0.2.1", on_behalf_of="script")
    with django_capture_on_commit_callbacks(execute=True):
        services.export_job_delete(job=job, actor=actor)
    assert not ExportJob.objects.filter(id=job.id).exists()
    actions = list(ExportEvent.objects.filter(export_id=job.id).order_by("at", "id")
                   .values_list("action", flat=True))
    assert actions == ["cancelled", "deleted"]


def test_update_counts_the_total_from_the_export_as_it_is_now(seeded):
    """Two edits of one draft: the second, from an object read before the first, changes only
    the description, and the total still follows the first edit's limit and offset."""
    job = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    read_earlier = ExportJob.objects.get(id=job.id)
    services.export_job_update(job=job, limit=40, offset=290)
    updated = services.export_job_update(job=read_earlier, description="renamed")
    assert (updated.limit, updated.offset, updated.description) == (40, 290, "renamed")
    assert updated.total_records == 10  # 300 logs, from the 291st: 10
