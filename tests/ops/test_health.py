"""/healthz and /readyz: open to anyone, and /readyz names the dependency that does not answer."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from devstack.redis_server import start_bundled_redis
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of this test's own (never the shared one): the test may stop it."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    server = start_bundled_redis(url, data_dir=tmp_path, log_file=tmp_path / "redis.log")
    yield url, server
    if server.poll() is None:
        server.terminate()
        server.wait(timeout=10)


def test_healthz_answers_without_login_from_any_host_over_plain_http(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["logs.example.com"]
    response = client.get("/healthz", HTTP_HOST="10.0.0.7")  # a load balancer asks by address
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readyz_is_503_naming_redis_once_redis_is_stopped(client, settings, own_redis):
    url, server = own_redis
    settings.REDIS_URL = url
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}

    server.terminate()
    server.wait(timeout=10)
    down = client.get("/readyz")
    assert down.status_code == 503
    assert down.json() == {
        "status": "unavailable",
        "message": "not ready: redis does not answer",
        "checks": {"database": "ok", "redis": "no answer"},
    }
    assert "127.0.0.1" not in down.content.decode()  # which one, never the connection details


def test_readyz_is_503_naming_the_database_when_it_does_not_answer(tmp_path):
    # A process whose DATABASE_URL points at a port where no PostgreSQL listens.
    dead_database = f"postgres://postgres@127.0.0.1:{free_port()}/nothing_here"
    probe = (
        "from django.test import Client; r = Client().get('/readyz'); "
        "print(r.status_code, r.content.decode())"
    )
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "manage.py", "shell", "-c", probe], cwd=ROOT, capture_output=True,
        text=True, timeout=60,
        env={**os.environ, "DATABASE_URL": dead_database, "VAR_DIR": str(tmp_path)},
    )
    status, _, body = result.stdout.strip().splitlines()[-1].partition(" ")
    assert status == "503", result.stdout + result.stderr
    assert json.loads(body) == {
        "status": "unavailable",
        "message": "not ready: database does not answer",
        "checks": {"database": "no answer", "redis": "ok"},
    }


def test_probes_are_outside_login_and_api_key_checks(client):
    # The pages and the API both refuse an anonymous caller; the probes do not.
    assert client.get("/").status_code == 302
    assert client.get("/v1/logs/exports").status_code == 401
    assert client.get("/healthz/").status_code == 200
    assert client.get("/readyz/").status_code == 200
