"""`make serve`: the production processes of one host: gunicorn (web) and RQ workers.

Unlike `run_stack` (one developer machine), it starts no database, Redis or demo data: it runs
against the PostgreSQL, Redis and S3 the environment names, and any number of hosts may run it
(`--role web` on web hosts, `--role worker` on worker hosts).
"""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from ops.checks import hosts_misconfiguration
from ops.supervision import run_until_signal, stop_processes

ROLES = ("all", "web", "worker")


class Command(BaseCommand):
    help = "Serve the app with gunicorn and run RQ export workers (production)."

    def add_arguments(self, parser):
        parser.add_argument("--role", choices=ROLES, default=os.environ.get("SERVE_ROLE", "all"),
                            help="web, worker, or all (both; the default)")
        parser.add_argument("--workers", type=int,
                            default=int(os.environ.get("EXPORT_WORKERS", "2")),
                            help="RQ export workers on this host (default 2)")
        parser.add_argument("--bind", default=None,
                            help="host:port for gunicorn (default HOST:PORT, 0.0.0.0:8000)")
        parser.add_argument("--migrate", action="store_true",
                            help="apply database migrations first (on one host per release)")

    def handle(self, *args, role: str, workers: int, bind: str | None, migrate: bool, **options):
        if not settings.PRODUCTION:
            self.stderr.write("warning: DJANGO_ENV is not production; `make serve` sets it")
        # (The storage warning, ops.W001, is already shown by the system checks run above.)
        problem = hosts_misconfiguration()
        if problem:
            self.stderr.write(f"misconfiguration: {problem}")
        if migrate:
            call_command("migrate", interactive=False, verbosity=1)

        children: list[tuple[str, subprocess.Popen]] = []
        env = dict(os.environ)
        if bind:
            env["BIND"] = bind
        if role in ("all", "web"):
            children.append(("web", subprocess.Popen(  # noqa: S603 - fixed arguments
                [sys.executable, "-m", "gunicorn", "-c",
                 str(settings.BASE_DIR / "config" / "gunicorn_conf.py"), "config.wsgi:application"],
                cwd=settings.BASE_DIR, env=env,
            )))
        if role in ("all", "worker"):
            if workers < 1 and role == "worker":
                raise CommandError("--workers must be at least 1 for --role worker")
            manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
            for number in range(workers):
                children.append((f"worker {number + 1}", subprocess.Popen(  # noqa: S603
                    [*manage, "rqworker", settings.EXPORTS_QUEUE], cwd=settings.BASE_DIR, env=env,
                )))
        self.stdout.write(
            f"serving: role={role}, web={'gunicorn' if role != 'worker' else 'none'}, "
            f"export workers={sum(name.startswith('worker') for name, _ in children)}, "
            f"database={settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
            f"storage={settings.EXPORTS_STORAGE}"
        )
        self.stdout.flush()
        code = self.supervise(children)
        if code:
            raise CommandError(code)

    def supervise(self, children: list[tuple[str, subprocess.Popen]]) -> str:
        """Until a signal or a child's exit; then stops every child. Returns what went wrong."""
        failure = ""

        def step() -> bool:
            nonlocal failure
            for name, child in children:
                if child.poll() is not None:
                    failure = f"{name} exited with code {child.returncode}; stopping"
                    self.stderr.write(failure)
                    return False
            return True

        try:
            run_until_signal(step)
        finally:
            # On SIGTERM gunicorn and rqworker finish what they are doing: 40 s for that.
            stop_processes(children, grace=40, warn=self.stderr.write)
            self.stdout.write("stopped")
        return failure
