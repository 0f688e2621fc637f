"""The maintenance pass run by the RQ workers themselves: real Redis, real `manage.py rqworker`
processes, on the test database (PostgreSQL or SQLite)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from exports.models import MaintenanceState
from logs.models import Log
from tests.conftest import wait_for

pytestmark = [pytest.mark.sqlite, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PASS_LOGGED = "maintenance by worker "  # the line each pass logs, plain or JSON


def make_logs(workspace, *, days_ago: list[float]) -> None:
    now = timezone.now()
    Log.objects.bulk_create([Log(workspace=workspace, created_at=now - timedelta(days=days))
                             for days in days_ago])


def runs() -> int:
    return MaintenanceState.objects.values_list("runs", flat=True).first() or 0


def passes_logged(workers) -> list[int]:
    """How many passes each worker has logged so far."""
    return [Path(worker.log.name).read_text().count(PASS_LOGGED) for worker in workers]


def test_workers_delete_old_logs_without_anyone_calling_a_command(workspace, rq_workers):
    make_logs(workspace, days_ago=[0.5, 2, 31, 45])
    rq_workers.start(burst=False, LOGS_RETENTION_DAYS="30", MAINTENANCE_INTERVAL_SECONDS="2")
    wait_for(lambda: Log.objects.count() == 2, timeout=30, interval=0.2,
             message="the logs past the retention are still there")
    remaining = sorted((timezone.now() - log.created_at).days for log in Log.objects.all())
    assert remaining == [0, 2]


def last_claim() -> tuple[int, object]:
    """(passes claimed so far, when the latest one started)."""
    return MaintenanceState.objects.values_list("runs", "started_at").get()


def worker_logged(worker, text: str, *, times: int = 1) -> bool:
    return Path(worker.log.name).read_text().count(text) >= times


def test_two_workers_run_the_pass_once_per_interval_between_them(workspace, rq_workers):
    interval = 3
    environment = {"LOGS_RETENTION_DAYS": "30", "MAINTENANCE_INTERVAL_SECONDS": str(interval)}
    workers = [rq_workers.start(burst=False, **environment) for _ in range(2)]
    wait_for(lambda: runs() >= 1, timeout=30, interval=0.05, message="no pass ran")
    make_logs(workspace, days_ago=[1, 40])  # for a later pass to find
    wait_for(lambda: Log.objects.count() == 1, timeout=30, interval=0.2,
             message="no later pass deleted the old log")

    # Three more passes, whenever the machine gets to them: their start times, taken by the
    # claims themselves, show the spacing (a count after a fixed sleep proves nothing when the
    # workers were too slow to ask in it).
    first_runs, first_started = last_claim()
    wait_for(lambda: runs() >= first_runs + 3, timeout=90, interval=0.2,
             message="the workers stopped running the pass")
    count, started = last_claim()
    # Passes start at least `interval` apart, whichever worker runs them; each worker asks
    # every `interval` seconds, so two uncoordinated workers would claim about twice as often.
    assert (started - first_started).total_seconds() >= (count - first_runs) * interval - 0.01
    logged = passes_logged(workers)
    assert count - 1 <= sum(logged) <= count  # one pass may still be running; none unclaimed


def test_a_worker_started_just_after_a_pass_does_not_run_it_again(workspace, rq_workers):
    environment = {"MAINTENANCE_INTERVAL_SECONDS": "3600", "LOG_LEVEL": "DEBUG"}
    first = rq_workers.start(burst=False, **environment)
    wait_for(lambda: MaintenanceState.objects.filter(finished_at__isnull=False).exists(),
             timeout=30, interval=0.05, message="the first worker ran no pass")
    second = rq_workers.start(burst=False, **environment)
    # Its maintenance thread asks as it starts; the answer is logged either way.
    asked = ("maintenance: not due", PASS_LOGGED)
    wait_for(lambda: any(worker_logged(second, answer) for answer in asked), timeout=30,
             message="the second worker's maintenance thread never asked")
    assert runs() == 1
    assert passes_logged([first, second]) == [1, 0]


def test_an_interval_of_zero_turns_the_workers_pass_off(workspace, rq_workers):
    make_logs(workspace, days_ago=[40])
    worker = rq_workers.start(burst=False, LOGS_RETENTION_DAYS="30",
                              MAINTENANCE_INTERVAL_SECONDS="0", EXPORTS_RECONCILE_SECONDS="1",
                              LOG_LEVEL="DEBUG")
    # The reconciler thread starts beside where the maintenance thread would, which would ask at
    # once: after the reconciler's third pass, that ask would long be done.
    wait_for(lambda: worker_logged(worker, "reconciler: ", times=3), timeout=30,
             message="the worker's reconciler never ran")
    assert not MaintenanceState.objects.exists() and Log.objects.count() == 1
