"""Telling a lost database connection (transient: try again) from an error of the query itself."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

# SQLSTATE classes of a connection that is gone or refused: 08 connection exceptions, 57P
# operator intervention (terminated by an administrator, a crash or a shutdown). A query
# cancelled by statement_timeout (57014) is not among them: it would fail again.
LOST_STATES = ("08", "57P")
RETRY_AFTER_SECONDS = 30


def connection_lost(error: BaseException | None) -> bool:
    """True when `error` (or what it wraps) says the database connection is gone or refused."""
    try:
        import psycopg
    except ImportError:  # an install without PostgreSQL
        psycopg = None  # type: ignore[assignment]
    seen = 0
    while error is not None and seen < 10:
        if psycopg is not None and isinstance(error, psycopg.OperationalError):
            state = getattr(error, "sqlstate", None)
            return state is None or state.startswith(LOST_STATES)
        if isinstance(error, InterfaceError):  # Django's "connection already closed"
            return True
        if not isinstance(error, OperationalError) and error.__cause__ is None:
            return False
        error, seen = error.__cause__, seen + 1
    return False
