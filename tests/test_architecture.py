"""Dependencies point one way (api -> exports -> logs -> accounts) and each app imports alone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "logs", "exports", "api", "devstack")


def test_import_linter_contracts_are_kept():
    result = subprocess.run([str(Path(sys.executable).with_name("lint-imports"))], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("app", APPS)
def test_every_module_of_an_app_imports_in_a_fresh_interpreter(app):
    script = (
        "import django, importlib, pkgutil; django.setup(); "
        f"import {app}; "
        f"names = [m.name for m in pkgutil.walk_packages({app}.__path__, prefix='{app}.')]; "
        "[importlib.import_module(name) for name in names if '.migrations' not in name]; "
        "print(len(names))"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 3  # the app's modules were found and imported


# Views, forms and API operations parse, authorise and call services or selectors; reads of the
# database live in selectors (issue 16 item 24). (exports/views.py's signed-link file view is
# being reworked separately and is not listed yet.)
READ_FREE_MODULES = ("logs/views.py", "exports/forms.py", "accounts/views.py", "api/*.py")
DATABASE_READ = re.compile(r"\.objects\.(?!none\(\))|\.(?:filter|exclude|annotate)\(")


@pytest.mark.parametrize("pattern", READ_FREE_MODULES)
def test_views_forms_and_api_operations_leave_reads_to_selectors(pattern):
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted(ROOT.glob(pattern))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if DATABASE_READ.search(line)
    ]
    assert offenders == []
