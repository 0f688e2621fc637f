"""Start pressed while the queue (Redis) is down: a clear 503, nothing stuck; once Redis is back
the same export starts and succeeds, with exactly one file. A private redis-server on a free
port is stopped and started again (never the shared one)."""

from __future__ import annotations

import socket
import uuid

import pytest
from django.urls import reverse

from devstack.redis_server import start_bundled_redis
from exports import services
from exports.models import ExportJob
from exports.reconciler import reconcile
from tests.api.conftest import ApiClient, assert_error, issue_key
from tests.conftest import RQWorkers

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Status = ExportJob.Status


@pytest.fixture
def private_redis(tmp_path, settings):
    """A Redis of this test's own, and the export queue on it; yields a (stop, start) pair."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    folder = tmp_path / "redis"
    name = f"exports-test-{uuid.uuid4().hex[:12]}"
    settings.RQ_QUEUES[name] = {"URL": url, "DEFAULT_TIMEOUT": 600}
    settings.EXPORTS_QUEUE = name
    servers = []

    def start():
        servers.append(start_bundled_redis(url, data_dir=folder, log_file=folder / "redis.log"))

    def stop():
        servers[-1].terminate()
        servers[-1].wait(timeout=10)

    start()
    yield url, name, stop, start
    if servers[-1].poll() is None:
        stop()
    del settings.RQ_QUEUES[name]


def test_start_while_redis_is_down_is_refused_then_works_once_it_is_back(
    seeded, user, client, private_redis, export_storage_dir
):
    url, queue_name, stop_redis, start_redis = private_redis
    api = ApiClient(issue_key(seeded)[1])
    job = services.export_job_create(workspace=seeded, filters={}, requested_data=["id"])
    stop_redis()

    # The API: 503 in the error shape, with Retry-After; the export is untouched.
    response = api.post(f"/v1/logs/exports/{job.id}/start")
    error = assert_error(response, 503, code="queue_unavailable", contains="cannot be reached")
    assert int(response["Retry-After"]) > 0
    assert "Try again" in error["message"]
    job.refresh_from_db()
    assert (job.status, job.attempt, job.lease_expires_at) == (Status.DRAFT, 0, None)

    # The page, with htmx: the row comes back with the reason next to its Start button.
    client.force_login(user)
    start_url = reverse("exports:start", args=[job.id])
    row = client.post(start_url, headers={"HX-Request": "true"})
    assert row.status_code == 503
    html = row.content.decode()
    assert "cannot be reached right now" in html and start_url in html
    # Without JavaScript: the whole list, the reason in that export's row.
    page = client.post(start_url)
    assert page.status_code == 503 and page["Retry-After"]
    assert "cannot be reached right now" in page.content.decode()
    job.refresh_from_db()
    assert job.status == Status.DRAFT
    assert reconcile().retried == []  # nothing in progress, nothing to put right

    # Redis back: the same export starts, runs once and has exactly one file.
    start_redis()
    assert api.post(f"/v1/logs/exports/{job.id}/start").status_code == 200
    workers = RQWorkers(queue_name=queue_name, redis_url=url, storage_dir=export_storage_dir)
    try:
        workers.run_burst()
    finally:
        workers.stop_all()
    job.refresh_from_db()
    assert (job.status, job.attempt, job.retries) == (Status.SUCCESS, 1, []), job.error
    files = [path for path in export_storage_dir.rglob("*") if path.is_file()]
    assert [path.relative_to(export_storage_dir).as_posix() for path in files] == [job.file_name]
