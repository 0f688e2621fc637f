"""While the database cannot be reached the API answers 503 with Retry-After, as for Redis."""

from __future__ import annotations

import socket

import pytest
from django.db import connection

from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db(transaction=True)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free again once closed: nothing listens there


def test_a_database_that_cannot_be_reached_is_503_with_retry_after(api, seeded):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite is a file of this process: it does not go away")
    export_id = api.post("/v1/logs/exports", {"requested_data": ["id"]}).json()["id"]
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
    try:
        down = api.get(f"/v1/logs/exports/{export_id}")
    finally:
        connection.close()
        connection.settings_dict.update(saved)
    error = assert_error(down, 503, code="database_unavailable", contains="try again")
    assert "5432" not in error["message"] and "connection" not in error["message"]
    assert int(down["Retry-After"]) > 0
    assert api.get(f"/v1/logs/exports/{export_id}").status_code == 200  # back as it comes back
