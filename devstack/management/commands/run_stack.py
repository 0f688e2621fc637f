"""`make run`: the whole app on one machine: database, Redis, one RQ worker and the web server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from devstack.redis_server import redis_answers, start_bundled_redis
from logs.models import Log
from ops.supervision import run_until_signal, stop_processes

DEMO_LOG_COUNT = 20_000


class Command(BaseCommand):
    help = "Migrate, create demo data, then run Redis (if needed), an RQ worker and the web server."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--no-demo", action="store_true", help="Skip demo user and logs.")

    def handle(self, *args, port: int, host: str, no_demo: bool, **options):
        call_command("migrate", interactive=False, verbosity=0)
        if not no_demo:
            call_command("ensure_demo")
            if not Log.objects.filter(workspace__slug="demo").exists():
                call_command("seed_logs", count=DEMO_LOG_COUNT, workspace="demo", days=30)
        if settings.DEBUG:
            call_command("ensure_dev_admin")
        else:
            self.stdout.write("no admin login made (DEBUG is off): `manage.py createsuperuser`")

        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        children: list[Child] = []
        if redis_answers(settings.REDIS_URL):
            self.stdout.write(f"using the Redis at {settings.REDIS_URL}")
        else:
            self.stdout.write(f"no Redis at {settings.REDIS_URL}; starting the bundled one")
            children.append(Child("redis", lambda: start_bundled_redis(
                settings.REDIS_URL,
                data_dir=settings.VAR_DIR / "redis",
                log_file=settings.VAR_DIR / "redis.log",
            )))
        children.append(Child("worker", lambda: subprocess.Popen(  # noqa: S603 - fixed arguments
            [*manage, "rqworker", settings.EXPORTS_QUEUE]
        )))
        children.append(Child("web", lambda: subprocess.Popen(  # noqa: S603 - fixed arguments
            [*manage, "runserver", f"{host}:{port}", "--noreload"]
        )))
        for child in children:
            child.start()
        shown_host = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
        self.stdout.write(self.style.SUCCESS(
            f"\nLog Exports is running at http://{shown_host}:{port}/  (Ctrl-C stops it all)\n"
        ))

        def step() -> bool:
            for child in children:
                self.supervise(child)
            return True

        try:
            run_until_signal(step)
        finally:
            stop_processes(
                [(c.name, c.process) for c in reversed(children) if c.process is not None],
                grace=10, warn=self.stderr.write,
            )
            self.stdout.write("stopped")

    def supervise(self, child: Child) -> None:
        """Restarts a child that died, waiting longer after each quick death (1 s up to 30 s)."""
        if child.process is not None:
            code = child.process.poll()
            if code is None:
                if time.monotonic() - child.started > STABLE_AFTER:
                    child.backoff = 0.0  # it has run long enough: the next death starts over
                return
            # A worker killed outright may leave its work horse running (RQ's horse calls
            # setpgrp()): it finishes its export by itself, renewing its lease meanwhile.
            child.backoff = min(MAX_BACKOFF, max(1.0, child.backoff * 2))
            child.restart_at = time.monotonic() + child.backoff
            child.process = None
            self.stderr.write(self.style.WARNING(
                f"{child.name} exited with code {code}; restarting it in {child.backoff:.0f} s"
            ))
            return
        if time.monotonic() >= child.restart_at:
            try:
                child.start()
            except Exception as error:  # e.g. the bundled Redis refusing to start: try later
                child.backoff = min(MAX_BACKOFF, max(1.0, child.backoff * 2))
                child.restart_at = time.monotonic() + child.backoff
                self.stderr.write(f"{child.name} could not start ({error}); "
                                  f"trying again in {child.backoff:.0f} s")
                return
            self.stderr.write(self.style.SUCCESS(f"{child.name} restarted"))


STABLE_AFTER = 60.0  # seconds a child must run before its backoff is forgotten
MAX_BACKOFF = 30.0


class Child:
    """One supervised process of the stack."""

    def __init__(self, name: str, launch: Callable[[], subprocess.Popen]):
        self.name = name
        self.launch = launch
        self.process: subprocess.Popen | None = None
        self.started = 0.0
        self.backoff = 0.0
        self.restart_at = 0.0

    def start(self) -> None:
        self.process = self.launch()
        self.started = time.monotonic()
