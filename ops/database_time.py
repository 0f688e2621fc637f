"""A bounded database time for each web request: PostgreSQL's statement_timeout.

A request's statements each get DATABASE_STATEMENT_TIMEOUT_MS: an export's count with API-only
filters (metadata, trace_id) grows with the offset, and without a bound it held a web thread and
a database backend for as long as it took. Past the bound the API answers 503 in its one error
shape and the pages a plain 503 page. The workers' export streams set their own, longer bound
(EXPORTS_STATEMENT_TIMEOUT_MS, exports.writer). SQLite has no statement timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

from django.conf import settings
from django.db import OperationalError, connections
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout


class StatementTimeout(Exception):
    def __init__(self, timeout_ms: int):
        self.timeout_ms = timeout_ms
        self.message = (f"the database took longer than {timeout_ms / 1000:g} s to answer this "
                        "request; narrow the filters (a time range helps) or try again later")
        super().__init__(self.message)


def statement_timeout_sql(timeout_ms: int) -> str:
    return f"SET statement_timeout = {int(timeout_ms)}"


def is_statement_timeout(error: BaseException) -> bool:
    return getattr(error.__cause__ or error, "sqlstate", None) == QUERY_CANCELED


class _BoundedStatements:
    """An execute wrapper for one request: sets the bound on each connection before the
    request's first statement there (a request that never touches a database never connects),
    and turns a statement cancelled by it into StatementTimeout. Set per request, not once per
    connection: a SET inside a transaction that rolls back is undone."""

    def __init__(self, timeout_ms: int):
        self.timeout_ms = timeout_ms
        self.bounded: set[int] = set()

    def __call__(self, execute, sql, params, many, context):
        connection = context["connection"]
        if connection.vendor != "postgresql":
            return execute(sql, params, many, context)
        if id(connection.connection) not in self.bounded:
            context["cursor"].cursor.execute(statement_timeout_sql(self.timeout_ms))
            self.bounded.add(id(connection.connection))
        try:
            return execute(sql, params, many, context)
        except OperationalError as error:
            if is_statement_timeout(error):
                raise StatementTimeout(self.timeout_ms) from error
            raise


class StatementTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timeout_ms = settings.DATABASE_STATEMENT_TIMEOUT_MS
        if not timeout_ms:
            return self.get_response(request)
        bound = _BoundedStatements(timeout_ms)
        with ExitStack() as stack:
            for connection in connections.all():
                stack.enter_context(connection.execute_wrapper(bound))
            return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, StatementTimeout):
            return render(request, "database_timeout.html", {"message": exception.message},
                          status=503)
        return None
