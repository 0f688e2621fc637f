"""`make run`'s stack from scratch: bundled Redis, worker, web server, an export to success."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from devstack.redis_server import redis_answers
from tests.conftest import ROOT, children_of, wait_for

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def page_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def command_line(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return file.read()
    except FileNotFoundError:
        return b""


def run_smoke_export(env: dict[str, str]) -> None:
    """One export through the services of the running stack, to success."""
    smoke = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "-c",
         (ROOT / "scripts" / "smoke_export.py").read_text()],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert "smoke export: success rows=1000" in smoke.stdout


def test_run_stack_serves_the_app_and_a_worker_finishes_an_export(tmp_path):
    web_port, redis_port = free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},  # SQLite under VAR_DIR
        "VAR_DIR": str(tmp_path / "var"),
        "REDIS_URL": redis_url,  # nothing answers there: the stack starts its bundled Redis
        "DEBUG": "true",
    }
    stack = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "run_stack", "--port", str(web_port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_for(lambda: page_answers(f"http://127.0.0.1:{web_port}/accounts/login/"),
                 timeout=90, interval=0.5, message="the web server never answered")
        assert redis_answers(redis_url)
        run_smoke_export(env)

        # The worker dies outright (and its horse, if any): the web keeps answering, the stack
        # starts a new worker, and the next export succeeds.
        [worker] = [pid for pid in children_of(stack.pid) if b"rqworker" in command_line(pid)]
        for pid in [worker, *children_of(worker)]:
            os.kill(pid, signal.SIGKILL)
        assert page_answers(f"http://127.0.0.1:{web_port}/accounts/login/")
        wait_for(lambda: [pid for pid in children_of(stack.pid)
                          if b"rqworker" in command_line(pid) and pid != worker],
                 timeout=30, message="no new worker")
        assert page_answers(f"http://127.0.0.1:{web_port}/accounts/login/")
        run_smoke_export(env)
    finally:
        stack.send_signal(signal.SIGINT)
        output, _ = stack.communicate(timeout=30)
    assert "Log Exports is running at http://localhost:" in output
    assert "demo login: user 'demo', password 'demo'" in output
    assert "admin login: user 'admin', password 'admin' at /admin/" in output  # DEBUG is on
    assert "stopped" in output
    assert "worker exited with code -9; restarting it in 1 s" in output
    assert "worker restarted" in output
    time.sleep(0.5)
    assert not redis_answers(redis_url)  # Ctrl-C stopped what the stack started
    assert not page_answers(f"http://127.0.0.1:{web_port}/accounts/login/")
