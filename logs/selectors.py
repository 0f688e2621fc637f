"""Tenant-scoped reads of single logs, for the Logs page and the API alike.

A log outside the caller's workspaces is not found, as a log that does not exist.
"""

from __future__ import annotations

import uuid

from accounts.api_keys import workspaces_of
from accounts.models import ApiKey
from logs.models import Log


def _log_of(log_id, **scope) -> Log | None:
    try:
        wanted = uuid.UUID(str(log_id))
    except ValueError:
        return None
    return Log.objects.select_related("workspace").filter(id=wanted, **scope).first()


def user_log(*, user, log_id) -> Log | None:
    """The log, if it is in one of the user's workspaces."""
    return _log_of(log_id, workspace__memberships__user=user)


def api_key_log(*, api_key: ApiKey, log_id) -> Log | None:
    """The log, if it is in a workspace the key works in."""
    return _log_of(log_id, workspace__in=workspaces_of(api_key))
