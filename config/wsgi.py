from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from ops.checks import warn_at_start_up  # noqa: E402 - needs the app loaded above

warn_at_start_up()
