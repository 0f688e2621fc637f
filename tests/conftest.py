"""Shared fixtures: tenants, logs, and the real Redis + RQ worker of the integration tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from accounts.models import Membership, Organization, Workspace
from devstack.redis_server import redis_answers, start_bundled_redis
from logs.seeding import seed_logs

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def organization(db):
    return Organization.objects.create(name="Acme", plan=Organization.Plan.ENTERPRISE)


@pytest.fixture
def workspace(organization):
    return Workspace.objects.create(organization=organization, name="Main", slug="main")


@pytest.fixture
def other_workspace(db):
    other_org = Organization.objects.create(name="Other", plan=Organization.Plan.ENTERPRISE)
    return Workspace.objects.create(organization=other_org, name="Other", slug="other")


@pytest.fixture
def user(workspace):
    member = get_user_model().objects.create_user(username="ada", password="pw-ada-12345")
    Membership.objects.create(user=member, workspace=workspace, role=Membership.Role.MEMBER)
    return member


@pytest.fixture
def seeded(workspace):
    """300 logs in the workspace over the last 10 days (fixed seed)."""
    seed_logs(workspace_id=workspace.id, count=300, now=timezone.now(), days=10, seed=7)
    return workspace


# --- Redis and the RQ worker -----------------------------------------------------------------

@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """The Redis of REDIS_URL, or (on a machine without one) the bundled server on a free port."""
    url = settings.REDIS_URL
    if redis_answers(url):
        yield url
        return
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    folder = tmp_path_factory.mktemp("redis")
    server = start_bundled_redis(url, data_dir=folder, log_file=folder / "redis.log")
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="session", autouse=True)
def session_export_queue():
    """Every test run enqueues on a queue of its own, never on a developer's `exports` queue.

    Tests that start exports without running a worker leave jobs there; they go at the end.
    """
    import django_rq

    name = f"exports-test-session-{uuid.uuid4().hex[:12]}"
    settings.RQ_QUEUES[name] = dict(settings.RQ_QUEUES[settings.EXPORTS_QUEUE])
    original, settings.EXPORTS_QUEUE = settings.EXPORTS_QUEUE, name
    yield name
    settings.EXPORTS_QUEUE = original
    if redis_answers(settings.RQ_QUEUES[name]["URL"]):
        django_rq.get_queue(name).empty()
    del settings.RQ_QUEUES[name]


@pytest.fixture(scope="session", autouse=True)
def session_rate_limits():
    """Each test run counts its requests under Redis keys of its own; and the wrong-key budget
    per address is off, since every test client has the same address (its tests turn it on)."""
    original = settings.RATE_LIMIT_NAMESPACE, settings.API_AUTH_FAILURE_LIMIT
    settings.RATE_LIMIT_NAMESPACE = f"ratelimit-test-{uuid.uuid4().hex[:12]}"
    settings.API_AUTH_FAILURE_LIMIT = 0
    yield
    settings.RATE_LIMIT_NAMESPACE, settings.API_AUTH_FAILURE_LIMIT = original


@pytest.fixture
def export_queue(redis_url, settings):
    """A queue of this test's own, on the real Redis, so parallel test runs never share work."""
    import django_rq

    name = f"exports-test-{uuid.uuid4().hex[:12]}"
    settings.RQ_QUEUES[name] = {"URL": redis_url, "DEFAULT_TIMEOUT": 600}
    settings.EXPORTS_QUEUE = name
    queue = django_rq.get_queue(name)
    yield queue
    queue.empty()
    del settings.RQ_QUEUES[name]


def _database_url() -> str:
    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{config['NAME']}"
    user = config.get("USER") or ""
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    host = config.get("HOST") or "127.0.0.1"
    port = config.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{config['NAME']}"


class RQWorkers:
    """Starts real `manage.py rqworker` processes on the test database and the test's queue."""

    def __init__(self, *, queue_name: str, redis_url: str, storage_dir: Path):
        self.queue_name = queue_name
        self.redis_url = redis_url
        self.storage_dir = storage_dir
        self.processes: list[subprocess.Popen] = []
        self.orphans: list[int] = []  # horses of workers killed by a test

    def environment(self, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": self.redis_url,
            "EXPORTS_QUEUE": self.queue_name,
            "EXPORTS_STORAGE": "filesystem",
            "EXPORTS_STORAGE_DIR": str(self.storage_dir),
            "EXPORTS_MAX_LOGS_PER_EXPORT": str(settings.EXPORTS_MAX_LOGS_PER_EXPORT),
        }
        env.update(extra)
        return env

    def start(self, *, burst: bool = True, **extra_env: str) -> subprocess.Popen:
        command = [sys.executable, str(ROOT / "manage.py"), "rqworker", self.queue_name]
        if burst:
            command.append("--burst")
        # Output goes to a file, not a pipe: a long-lived worker nobody reads must not block.
        log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed with the worker
            "w+", prefix="rqworker-", suffix=".log", delete=False
        )
        process = subprocess.Popen(  # noqa: S603 - fixed arguments
            command, env=self.environment(**extra_env), cwd=ROOT,
            stdout=log, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,  # its own process group: a kill reaches its work horse too
        )
        process.log = log
        self.processes.append(process)
        return process

    @staticmethod
    def output(process: subprocess.Popen, *, timeout: float = 120) -> str:
        """Waits for a worker to end and returns what it printed."""
        process.wait(timeout=timeout)
        process.log.seek(0)
        return process.log.read()

    def run_burst(self, *, timeout: float = 120, **extra_env: str) -> str:
        """Run a burst worker until the queue is empty; returns its output."""
        process = self.start(burst=True, **extra_env)
        output = self.output(process, timeout=timeout)
        assert process.returncode == 0, output
        return output

    @staticmethod
    def horses(process: subprocess.Popen) -> list[int]:
        """The work horses of a worker: its children (a horse is in a process group of its own,
        so only the parent link finds it)."""
        return children_of(process.pid)

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL a worker and its horses at once, as a machine that loses them would."""
        horses = self.horses(process)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        for pid in horses:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)
        self.orphans.extend(horses)

    def stop_all(self, *, grace: float = 10) -> None:
        """Ask each worker to stop; one still busy after `grace` seconds is killed, horses too.

        RQ's work horse calls setpgrp(), so killing the worker's process group misses it: the
        horses are found as the worker's children first, and killed by pid.
        """
        horses = {process.pid: self.horses(process) for process in self.processes}
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            process.log.close()
            os.unlink(process.log.name)
        leftovers = [pid for pids in horses.values() for pid in pids] + self.orphans
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not any(process_alive(pid) for pid in leftovers), timeout=10,
                 message=f"work horses still running after teardown: {leftovers}")
        self.processes.clear()  # stopping twice (a test, then the fixture) is harmless
        self.orphans.clear()


def children_of(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)  # noqa: S603,S607
    return [int(line) for line in found.stdout.split()]


def process_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.fixture
def export_storage_dir(tmp_path, settings):
    folder = tmp_path / "export-files"
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder), "base_url": None},
        },
    }
    return folder


@pytest.fixture
def rq_workers(export_queue, redis_url, export_storage_dir):
    workers = RQWorkers(
        queue_name=export_queue.name, redis_url=redis_url, storage_dir=export_storage_dir
    )
    yield workers
    workers.stop_all()


def wait_for(predicate, *, timeout: float = 30, interval: float = 0.1, message: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(message or f"condition not met within {timeout} s")
