"""`make run`: the whole app on one machine: database, Redis, one RQ worker and the web server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from devstack.redis_server import redis_answers, start_bundled_redis
from logs.models import Log

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

        children: list[tuple[str, subprocess.Popen]] = []
        if redis_answers(settings.REDIS_URL):
            self.stdout.write(f"using the Redis at {settings.REDIS_URL}")
        else:
            self.stdout.write(f"no Redis at {settings.REDIS_URL}; starting the bundled one")
            children.append(("redis", start_bundled_redis(
                settings.REDIS_URL,
                data_dir=settings.VAR_DIR / "redis",
                log_file=settings.VAR_DIR / "redis.log",
            )))

        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        children.append(("worker", subprocess.Popen(  # noqa: S603 - fixed arguments
            [*manage, "rqworker", settings.EXPORTS_QUEUE]
        )))
        children.append(("web", subprocess.Popen(  # noqa: S603 - fixed arguments
            [*manage, "runserver", f"{host}:{port}", "--noreload"]
        )))
        shown_host = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
        self.stdout.write(self.style.SUCCESS(
            f"\nLog Exports is running at http://{shown_host}:{port}/  (Ctrl-C stops it all)\n"
        ))

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, child in children:
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with code {child.returncode}; stopping")
                        stopping = True
                time.sleep(0.5)
        finally:
            for _, child in reversed(children):
                if child.poll() is None:
                    child.terminate()
            for name, child in reversed(children):
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.stderr.write(f"{name} did not stop in time; killing it")
                    child.kill()
            self.stdout.write("stopped")
