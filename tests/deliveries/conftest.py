"""Fixtures of the deliveries tests: the SeaweedFS server, a team bucket in it, API keys."""

from __future__ import annotations

import uuid

import pytest

from tests.api.conftest import api, api_key  # noqa: F401  (registered here)
from tests.exports.s3_server import ACCESS_KEY, SECRET_KEY, _client, s3_server  # noqa: F401


@pytest.fixture
def team_bucket(s3_server):  # noqa: F811
    """A bucket of its own in SeaweedFS, as a team's destination: (client, name, endpoint)."""
    client = _client(s3_server)
    name = f"team-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=name)
    return client, name, s3_server


def destination_body(endpoint: str, bucket: str, **changes) -> dict:
    return {"name": "Team bucket", "endpoint_url": endpoint, "region": "us-east-1",
            "bucket": bucket, "prefix": "exports/daily", "access_key_id": ACCESS_KEY,
            "secret_access_key": SECRET_KEY, **changes}
